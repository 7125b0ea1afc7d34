"""Argo v4's full CRDs allow 200 templates per spec and 200 tasks per DAG. Per-node
settings (retry limit, ttl) travel as parameters instead of making template variants;
wait-any groups share templates by shape when there are too many; a group larger than
one DAG is cut into parts; what still cannot fit is refused at compile time, in words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hkube2argo import lint
from hkube2argo.compiler import compile_manifests
from hkube2argo.config import DEFAULT
from hkube2argo.diagnostics import ValidationFailed
from hkube2argo.emit import dag, workflow
from hkube2argo.loading import Descriptor, Source
from hkube2argo.runner.run import Runner, StorageSpec
from hkube2argo.validate import load_algorithms, validate_descriptor
from tests.conftest import EXAMPLES

ALGORITHMS = EXAMPLES / "algorithms"


def plan_of(data: dict[str, Any]):
    catalog = load_algorithms([ALGORITHMS])
    result = validate_descriptor(Descriptor(data, Source("mem.yaml")), catalog)
    assert result.plan is not None, [str(d) for d in result.errors]
    return result.plan


def spec_of(data: dict[str, Any]) -> dict[str, Any]:
    manifests = compile_manifests(plan_of(data))  # lints strictly, CRD limits included
    assert lint.lint(manifests.documents()) == []
    return manifests.workflow["spec"]


def ttl_chain(n: int) -> dict[str, Any]:
    """Each node its own ttl and retry limit: once one template each."""
    nodes = [{"nodeName": "N0", "algorithmName": "first", "input": ["@flowInput.x"],
              "ttl": 1000, "retry": {"policy": "OnCrash", "limit": 1}}]
    nodes += [{"nodeName": f"N{i}", "algorithmName": "double", "input": [f"@N{i - 1}"],
               "ttl": 1000 + i, "retry": {"policy": "OnCrash", "limit": 1 + i % 7}}
              for i in range(1, n)]
    return {"name": f"ttl-chain-{n}", "nodes": nodes, "flowInput": {"x": 1}}


def wait_any_pairs(n: int) -> dict[str, Any]:
    """``n`` independent batch nodes, each followed by a ``*@`` node: ``n`` groups."""
    nodes = []
    for i in range(n):
        nodes.append({"nodeName": f"A{i}", "algorithmName": "double",
                      "input": ["#@flowInput.items"]})
        nodes.append({"nodeName": f"B{i}", "algorithmName": "describe",
                      "input": [f"*@A{i}", "@flowInput.tag"]})
    return {"name": f"pairs-{n}", "nodes": nodes, "flowInput": {"items": [1, 2], "tag": "t"}}


def wide_group(n: int) -> dict[str, Any]:
    """One batch node with ``n`` ``*@`` children: one group of ``n + 1`` members."""
    nodes = [{"nodeName": "A", "algorithmName": "double", "input": ["#@flowInput.items"]}]
    nodes += [{"nodeName": f"C{i}", "algorithmName": "describe",
               "input": ["*@A", f"@flowInput.tag{i % 2}"]} for i in range(n)]
    return {"name": f"wide-group-{n}", "nodes": nodes,
            "flowInput": {"items": [1, 2], "tag0": "a", "tag1": "b"}}


def by_name(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in spec["templates"]}


def all_tasks(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for tpl in spec["templates"] if "dag" in tpl
            for t in tpl["dag"]["tasks"]}


def args(task: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in task["arguments"]["parameters"]}


def test_distinct_ttls_and_retry_limits_share_one_template() -> None:
    spec = spec_of(ttl_chain(230))  # once 235 templates
    assert len(spec["templates"]) <= 200
    double = [t for t in spec["templates"] if t["name"].startswith("alg-double")]
    assert len(double) == 1
    (template,) = double
    assert template["activeDeadlineSeconds"] == "{{inputs.parameters.deadline}}"
    assert template["retryStrategy"]["limit"] == "{{inputs.parameters.retry-limit}}"
    defaults = {p["name"]: p.get("default") for p in template["inputs"]["parameters"]}
    assert defaults["deadline"] == str(1001 + DEFAULT.ttl_grace)
    assert defaults["retry-limit"] == "2"
    tasks = all_tasks(spec)
    assert "deadline" not in args(tasks["N1"])  # the template's defaults are N1's
    assert args(tasks["N9"])["deadline"] == str(1009 + DEFAULT.ttl_grace)
    assert args(tasks["N9"])["retry-limit"] == "3"
    assert args(tasks["N7"])["retry-limit"] == "1"
    assert "retry-limit" not in args(tasks["N8"])  # N1's limit again
    first = by_name(spec)[tasks["N0"]["template"]]
    assert first["activeDeadlineSeconds"] == str(1000 + DEFAULT.ttl_grace)  # alone: literal


def test_two_hundred_wait_any_groups_share_templates_by_shape() -> None:
    spec = spec_of(wait_any_pairs(205))  # once 215 templates
    assert len(spec["templates"]) <= 200
    groups = [t for t in spec["templates"] if t["name"].startswith("group-")]
    assert len(groups) == 1
    (group,) = groups
    inner = group["dag"]["tasks"]
    assert [t["arguments"]["parameters"][0]["value"] for t in inner] == [
        "{{inputs.parameters.task-m1}}", "{{inputs.parameters.task-m2}}"]
    calls = [t for t in all_tasks(spec).values() if t.get("template") == group["name"]]
    assert len(calls) == 205
    assert {args(c)["task-m2"] for c in calls} == {f"B{i}" for i in range(205)}


def test_a_small_pipeline_keeps_its_own_group_templates() -> None:
    spec = spec_of(wait_any_pairs(2))
    names = [t["name"] for t in spec["templates"] if t["name"].startswith("group-")]
    assert names == ["group-A0--each", "group-A1--each"]


def test_a_group_larger_than_one_dag_is_cut_into_parts() -> None:
    spec = spec_of(wide_group(210))  # once a 211-task group template
    assert all(len(t["dag"]["tasks"]) <= dag.MAX_TASKS for t in spec["templates"] if "dag" in t)
    group = by_name(spec)["group-A--each"]
    parts = [t["template"] for t in group["dag"]["tasks"]]
    assert parts == ["group-A--each-part-1", "group-A--each-part-2"]
    second = group["dag"]["tasks"][1]
    assert second["dependencies"] == ["part-1"]  # its members wait for A
    members = [t["name"] for p in parts for t in by_name(spec)[p]["dag"]["tasks"]]
    assert members == ["A", *(f"C{i}" for i in range(210))]


def test_what_cannot_fit_is_refused_in_words(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three algorithms under four retry policies: 12 templates, 4 when they share (one
    runtime); with room for 5 templates in all, not even that fits."""
    nodes = [{"nodeName": f"N{i}", "algorithmName": alg, "input": [i],
              "retry": {"policy": policy}}
             for i, (alg, policy) in enumerate((a, p) for a in ("double", "first", "echo")
                                               for p in ("OnCrash", "OnError", "Always",
                                                         "Never"))]
    monkeypatch.setattr(workflow, "MAX_TEMPLATES", 5)
    with pytest.raises(ValidationFailed) as caught:
        compile_manifests(plan_of({"name": "policies", "nodes": nodes}))
    (error,) = caught.value.errors
    assert error.message.startswith("the pipeline needs 7 Argo templates")
    assert "Argo allows at most 5 in one Workflow" in error.message
    assert "split the pipeline" in error.message


def test_parameterised_settings_and_shared_groups_run_locally(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_repo_root) -> None:
    """Locally, as on Argo: the deadline and retry limit come from the task's arguments,
    and shape-shared groups give the same results as their own templates."""
    data = wait_any_pairs(2)
    data["nodes"][1]["ttl"] = 100
    data["nodes"][3]["ttl"] = 200
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    own = Runner(tmp_path / "own", workers=2).start(path, [ALGORITHMS], StorageSpec())
    count = len(compile_manifests(plan_of(data)).workflow["spec"]["templates"])
    monkeypatch.setattr(workflow, "MAX_TEMPLATES", count - 1)  # now groups must share
    shared = Runner(tmp_path / "shared", workers=2).start(path, [ALGORITHMS], StorageSpec())
    text = (shared.folder / "workflow.yaml").read_text()
    assert "task-m1" in text and "{{inputs.parameters.deadline}}" in text
    assert own.status == shared.status == "completed"
    assert shared.document["data"] == own.document["data"]


def test_a_group_cut_into_parts_runs_like_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              in_repo_root) -> None:
    path = tmp_path / "g.json"
    path.write_text(json.dumps(wide_group(3)))
    whole = Runner(tmp_path / "whole", workers=2).start(path, [ALGORITHMS], StorageSpec())
    monkeypatch.setattr(dag, "MAX_TASKS", 3)  # the group's 4 members: 2 parts
    parted = Runner(tmp_path / "parted", workers=2).start(path, [ALGORITHMS], StorageSpec())
    assert "group-A--each-part-2" in (parted.folder / "workflow.yaml").read_text()
    assert whole.status == parted.status == "completed"
    assert parted.document["data"] == whole.document["data"]
    assert len(whole.document["data"]) == 6  # C0..C2, one result per A item
