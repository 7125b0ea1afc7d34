"""The Roles grant exactly the rules listed, with their reasons, in charts/hkube2argo/README.md:
nothing more, nothing less, nothing cluster-wide."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .chart import CHART, NAMESPACE, VALUE_SETS, by_kind, merged_values, objects, render

Rule = tuple[str, str, str, str]  # service account, API group, resource, verb


def readme_rules() -> dict[Rule, str]:
    """(account, group, resource, verb) -> reason, from the README's marked table."""
    text = (CHART / "README.md").read_text()
    table = re.search(r"<!-- rbac-rules:start -->\n(.*?)<!-- rbac-rules:end -->", text, re.S)
    assert table, "README.md lost its rbac-rules markers"
    rows = [line for line in table.group(1).splitlines() if line.startswith("|")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    assert header == ["service account", "API group", "resource", "verbs", "why"]
    rules: dict[Rule, str] = {}
    for line in rows[2:]:
        account, group, resource, verbs, why = (c.strip() for c in line.strip("|").split("|"))
        assert len(why) > 40, f"give the reason for {account} {resource}"
        for verb in re.findall(r"`([^`]+)`", verbs):
            core = group == "(core)"  # Kubernetes' core API group is the empty string
            rule = (account.strip("`"), "" if core else group.strip("`"), resource.strip("`"),
                    verb)
            assert rule not in rules, f"{rule} listed twice"
            rules[rule] = why
    return rules


def rendered_rules(objs: list[dict[str, Any]], names: dict[str, str],
                   configmap: str = "hkube2argo-semaphores") -> set[Rule]:
    """Rules granted to each service account, reported under its default (README) name; a
    rule on one named object as ``resource/name`` (``configmap``: the semaphore
    ConfigMap's name in this value set, reported under its default)."""
    roles = by_kind(objs, "Role")
    default_name = {v: k for k, v in names.items()}
    granted: set[Rule] = set()
    for binding in by_kind(objs, "RoleBinding").values():
        ref = binding["roleRef"]
        assert ref == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ref["name"]}
        assert len(binding["subjects"]) == 1
        subject = binding["subjects"][0]
        assert subject["kind"] == "ServiceAccount"
        assert subject["namespace"] == NAMESPACE
        for rule in roles[ref["name"]]["rules"]:
            named = rule.get("resourceNames")
            assert set(rule) - {"resourceNames"} == {"apiGroups", "resources", "verbs"}, rule
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    if named is not None:  # one object only, listed as resource/name
                        assert len(named) == 1 and "*" not in named[0], rule
                        name = "hkube2argo-semaphores" if named[0] == configmap else named[0]
                        resource = f"{resource}/{name}"
                    for verb in rule["verbs"]:
                        assert "*" not in (group, resource, verb), rule
                        granted.add((default_name[subject["name"]], group, resource, verb))
    return granted


DEFAULT_NAMES = {
    "hkube2argo-workflow": "workflow",
    "hkube2argo-sensor": "sensor",
    "hkube2argo-events": "eventSource",
    "hkube2argo-builder": "build",
    "hkube2argo-semaphores": "semaphores",
}


def _names(values: dict[str, Any]) -> dict[str, str]:
    """README (default) name -> the name in this value set."""
    accounts = values["serviceAccounts"]
    return {default: accounts[key]["name"] for default, key in DEFAULT_NAMES.items()}


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_roles_grant_exactly_the_readme_rules(name: str) -> None:
    release, values = VALUE_SETS[name]
    objs = objects(render(values, release=release))
    merged = merged_values(values)
    assert rendered_rules(objs, _names(merged), merged["concurrency"]["configMap"]) == \
        set(readme_rules())


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_one_role_per_account_bound_to_that_account_only(name: str) -> None:
    release, values = VALUE_SETS[name]
    objs = objects(render(values, release=release))
    names = _names(merged_values(values))
    roles, bindings = by_kind(objs, "Role"), by_kind(objs, "RoleBinding")
    assert set(roles) == set(bindings) == set(names.values())
    for account in names.values():
        assert bindings[account]["roleRef"]["name"] == account
        assert bindings[account]["subjects"][0]["name"] == account
    assert not {o["kind"] for o in objs} & {"ClusterRole", "ClusterRoleBinding"}


def test_readme_lists_the_minimum_the_compiled_manifests_need() -> None:
    """The table itself: the executor minimum for workflow pods and builds, submit-from-template
    for Sensors, an informer for the EventSource (argo-notes §8)."""
    assert set(readme_rules()) == {
        ("hkube2argo-workflow", "argoproj.io", "workflowtaskresults", "create"),
        ("hkube2argo-workflow", "argoproj.io", "workflowtaskresults", "patch"),
        ("hkube2argo-workflow", "argoproj.io", "workflows", "get"),
        ("hkube2argo-sensor", "argoproj.io", "workflows", "create"),
        ("hkube2argo-sensor", "argoproj.io", "workflows", "list"),
        ("hkube2argo-sensor", "argoproj.io", "workflowtemplates", "get"),
        ("hkube2argo-events", "argoproj.io", "workflows", "get"),
        ("hkube2argo-events", "argoproj.io", "workflows", "list"),
        ("hkube2argo-events", "argoproj.io", "workflows", "watch"),
        ("hkube2argo-builder", "argoproj.io", "workflowtaskresults", "create"),
        ("hkube2argo-builder", "argoproj.io", "workflowtaskresults", "patch"),
        ("hkube2argo-semaphores", "", "configmaps/hkube2argo-semaphores", "get"),
        ("hkube2argo-semaphores", "", "configmaps/hkube2argo-semaphores", "patch"),
        ("hkube2argo-semaphores", "argoproj.io", "workflowtaskresults", "create"),
        ("hkube2argo-semaphores", "argoproj.io", "workflowtaskresults", "patch"),
    }


def test_no_rbac_objects_when_rbac_is_off() -> None:
    objs = objects(render({"rbac": {"create": False}}))
    assert not {o["kind"] for o in objs} & {"Role", "RoleBinding"}
    assert len(by_kind(objs, "ServiceAccount")) == 5
