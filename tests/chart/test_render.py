"""The chart renders, for the defaults and for custom value sets, into objects that are strictly
valid and carry exactly what the compiled manifests rely on."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from hkube2argo.compiler import OBJECT_LIMIT
from hkube2argo.config import PIPELINE_LABEL
from hkube2argo.emit.events import shared_watch

from .chart import (
    NAMESPACE,
    VALUE_SETS,
    argo_events_validator,
    artifact_repository_errors,
    by_kind,
    decode,
    merged_values,
    objects,
    render,
    validation_errors,
)

NAMESPACED_KINDS = {
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "EventBus",
    "EventSource",
}
CLUSTER_KINDS = {"PriorityClass"}


def _render_set(name: str) -> tuple[dict[str, str], list[dict[str, Any]], dict[str, Any]]:
    release, values = VALUE_SETS[name]
    rendered = render(values, release=release)
    return rendered, objects(rendered), merged_values(values)


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_every_rendered_object_is_strictly_valid(name: str) -> None:
    _, objs, _ = _render_set(name)
    assert objs, "nothing rendered"
    problems = {
        f"{o['kind']}/{o['metadata']['name']}": errs for o in objs if (errs := validation_errors(o))
    }
    assert problems == {}


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_objects_are_in_the_release_namespace_and_unique(name: str) -> None:
    _, objs, _ = _render_set(name)
    seen = set()
    for o in objs:
        meta = o["metadata"]
        key = (o["kind"], meta["name"])
        assert key not in seen, f"{key} rendered twice"
        seen.add(key)
        assert o["kind"] in NAMESPACED_KINDS | CLUSTER_KINDS, o["kind"]
        if o["kind"] in NAMESPACED_KINDS:
            assert meta["namespace"] == NAMESPACE, key
        else:
            assert "namespace" not in meta, key
        assert meta["labels"]["app.kubernetes.io/part-of"] == "hkube2argo"


def test_only_this_charts_templates_render_without_fetched_dependencies() -> None:
    rendered = render({})
    assert all(path.startswith("hkube2argo/templates/") for path in rendered), sorted(rendered)


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_artifact_repository_is_what_workflows_resolve(name: str) -> None:
    _, objs, v = _render_set(name)
    repo = v["artifactRepository"]
    configmaps = by_kind(objs, "ConfigMap")
    if not repo["create"]:
        assert repo["configMap"] not in configmaps
        return
    cm = configmaps[repo["configMap"]]
    annotations = cm["metadata"].get("annotations", {})
    if repo["default"]:
        assert annotations["workflows.argoproj.io/default-artifact-repository"] == repo["key"]
    else:
        assert "workflows.argoproj.io/default-artifact-repository" not in annotations
    assert list(cm["data"]) == [repo["key"]]
    document = yaml.safe_load(cm["data"][repo["key"]])
    assert artifact_repository_errors(document) == []
    s3 = document["s3"]
    secret = v["minio"]["secret"]
    assert s3["bucket"] == v["minio"]["bucket"]
    assert s3["insecure"] is repo["insecure"]
    assert s3["accessKeySecret"] == {"name": secret["name"], "key": secret["accessKeyKey"]}
    assert s3["secretKeySecret"] == {"name": secret["name"], "key": secret["secretKeyKey"]}
    assert s3["keyFormat"] == f"{repo['keyPrefix']}/logs/{{{{workflow.name}}}}/{{{{pod.name}}}}"
    assert s3.get("region", "") == repo["region"]
    if repo["endpoint"]:
        assert s3["endpoint"] == repo["endpoint"]
    else:
        assert s3["endpoint"] == f"{_minio_service(name)}:9000"


def _minio_service(name: str) -> str:
    release = VALUE_SETS[name][0]
    return release if "minio" in release else f"{release}-minio"


def test_artifact_repository_endpoint_is_the_minio_service_of_the_release() -> None:
    _, objs, _ = _render_set("defaults")
    doc = yaml.safe_load(by_kind(objs, "ConfigMap")["artifact-repositories"]["data"]["hkube2argo"])
    assert doc["s3"]["endpoint"] == "hkube2argo-minio:9000"
    # The MinIO chart's own naming rules: fullnameOverride wins, a release named *minio* is used
    # as is.
    for release, minio, service in [
        ("data", {}, "data-minio"),
        ("my-minio", {}, "my-minio"),
        ("data", {"fullnameOverride": "object-store"}, "object-store"),
        ("data", {"nameOverride": "s3"}, "data-s3"),
    ]:
        objs = objects(render({"minio": minio}, release=release))
        cm = by_kind(objs, "ConfigMap")["artifact-repositories"]
        doc = yaml.safe_load(cm["data"]["hkube2argo"])
        assert doc["s3"]["endpoint"] == f"{service}:9000", (release, minio)


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_minio_secret(name: str) -> None:
    _, objs, v = _render_set(name)
    m = v["minio"]
    secrets = by_kind(objs, "Secret")
    if not m["secret"]["create"]:
        assert m["secret"]["name"] not in secrets
        return
    secret = secrets[m["secret"]["name"]]
    assert secret["type"] == "Opaque"
    keys = {m["secret"]["accessKeyKey"], m["secret"]["secretKeyKey"]}
    if m["enabled"]:
        keys |= {"rootUser", "rootPassword"}
    assert set(secret["data"]) == keys
    creds = m["credentials"]
    assert decode(secret, m["secret"]["accessKeyKey"]) == creds["accessKey"]
    secret_key = decode(secret, m["secret"]["secretKeyKey"])
    if creds["secretKey"]:
        assert secret_key == creds["secretKey"]
    else:
        assert len(secret_key) == 40 and secret_key.isalnum()
    if m["enabled"]:
        root_user = decode(secret, "rootUser")
        assert root_user == creds["rootUser"] if creds["rootUser"] else len(root_user) == 20
        assert len(decode(secret, "rootPassword")) == 40


def test_generated_credentials_are_random_and_never_in_notes() -> None:
    first, second = render({}), render({})
    s1 = by_kind(objects(first), "Secret")["hkube2argo-minio"]
    s2 = by_kind(objects(second), "Secret")["hkube2argo-minio"]
    assert s1["data"]["secretkey"] != s2["data"]["secretkey"]
    assert s1["data"]["rootPassword"] != s2["data"]["rootPassword"]
    notes = first["hkube2argo/templates/NOTES.txt"]
    for key in ("secretkey", "rootUser", "rootPassword"):
        assert decode(s1, key) not in notes
        assert s1["data"][key] not in notes


def test_registry_password_is_only_in_the_docker_config_secret() -> None:
    rendered, objs, v = _render_set("custom-names-and-registry")
    secret = by_kind(objs, "Secret")["push-creds"]
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    config = json.loads(decode(secret, ".dockerconfigjson"))
    entry = config["auths"]["registry.example.com:5000"]
    assert entry["username"] == "builder" and entry["password"] == "p@ss:word"
    assert decode({"data": {"a": entry["auth"]}}, "a") == "builder:p@ss:word"
    # Nowhere in plain text: not in another object, an annotation or the notes.
    assert all("p@ss:word" not in text for text in rendered.values())
    # Workflow pods may pull the images built into that registry.
    wf = by_kind(objs, "ServiceAccount")["wf"]
    assert wf["imagePullSecrets"] == [{"name": "push-creds"}]
    # Other accounts do not get it.
    assert "imagePullSecrets" not in by_kind(objs, "ServiceAccount")["sensor"]
    assert v["registry"]["namespace"] == "team-a"


def test_docker_hub_when_no_registry_is_given() -> None:
    objs = objects(render({"registry": {"username": "me", "password": "token"}}))
    secret = by_kind(objs, "Secret")["hkube2argo-registry"]
    config = json.loads(decode(secret, ".dockerconfigjson"))
    assert list(config["auths"]) == ["https://index.docker.io/v1/"]


def test_no_registry_secret_without_credentials() -> None:
    objs = objects(render({}))
    assert "hkube2argo-registry" not in by_kind(objs, "Secret")
    assert "imagePullSecrets" not in by_kind(objs, "ServiceAccount")["hkube2argo-workflow"]


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_event_bus_and_event_source(name: str) -> None:
    _, objs, v = _render_set(name)
    events = v["events"]
    buses = by_kind(objs, "EventBus")
    if events["createEventBus"]:
        bus = buses[events["eventBus"]]
        assert bus["spec"]["jetstream"]["version"] == events["jetstream"]["version"]
        assert bus["spec"]["jetstream"]["replicas"] == events["jetstream"]["replicas"]
        assert bus["spec"]["jetstream"].get("persistence", {}) == events["jetstream"]["persistence"]
        assert bus["spec"]["jetstream"]["maxPayload"] == events["jetstream"]["maxPayload"]
    else:
        assert buses == {}
    sources = by_kind(objs, "EventSource")
    if not events["eventSource"]["create"]:
        assert sources == {}
        return
    es = sources[events["eventSource"]["name"]]
    spec = es["spec"]
    assert spec["eventBusName"] == events["eventBus"]
    assert spec["template"] == {"serviceAccountName": v["serviceAccounts"]["eventSource"]["name"]}
    assert list(spec) == ["eventBusName", "template", "resource"]
    # exactly what the compiled Sensors expect of it (hkube2argo/emit/events.py)
    assert spec["resource"] == {events["eventSource"]["eventName"]: shared_watch(NAMESPACE)}
    assert shared_watch(NAMESPACE)["filter"]["labels"] == [
        {"key": PIPELINE_LABEL, "operation": "exists", "value": ""}]


def test_default_max_payload_holds_the_largest_workflow_event() -> None:
    """A resource event carries the Workflow twice (body, oldBody; Argo Events
    resource/start.go processOne); Argo keeps a Workflow within MAX_WORKFLOW_SIZE, 1 MiB
    (workflow/packer/packer.go). NATS reads "MB" as 2^20 or 10^6 bytes: either holds it,
    and 1MB (Argo Events' default) does not."""
    bus = by_kind(objects(render({})), "EventBus")["default"]
    text = bus["spec"]["jetstream"]["maxPayload"]
    number, unit = re.fullmatch(r"(\d+)(MB|M)", text).groups()  # type: ignore[union-attr]
    smallest = int(number) * 10**6
    assert unit in ("MB", "M") and smallest > 2 * OBJECT_LIMIT + 64 * 1024


def test_strict_argo_events_check_catches_a_misspelled_field() -> None:
    """The strict recipe really rejects unknown fields (the shipped schema alone would not)."""
    es = by_kind(objects(render({})), "EventSource")["hkube2argo-workflows"]
    assert validation_errors(es) == []
    source = es["spec"]["resource"]["workflow-updates"]
    source["evenTypes"] = source.pop("eventTypes")
    errors = [e.message for e in argo_events_validator("EventSource").iter_errors(es)]
    assert any("'evenTypes' was unexpected" in e for e in errors), errors
    assert any("'eventTypes' is a required property" in e for e in errors), errors


def test_strict_kubernetes_check_catches_a_misspelled_field() -> None:
    cm = by_kind(objects(render({})), "ConfigMap")["hkube2argo-semaphores"]
    assert validation_errors(cm) == []
    cm["metadata"]["anotations"] = cm["metadata"].pop("annotations")
    assert any("'anotations' was unexpected" in e for e in validation_errors(cm))


def test_strict_artifact_repository_check_catches_a_misspelled_field() -> None:
    assert artifact_repository_errors({"s3": {"bucket": "b", "endpiont": "x:9000"}}) == [
        "s3: Additional properties are not allowed ('endpiont' was unexpected)"
    ]


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_semaphore_configmap(name: str) -> None:
    _, objs, v = _render_set(name)
    c = v["concurrency"]
    configmaps = by_kind(objs, "ConfigMap")
    if not c["create"]:
        assert c["configMap"] not in configmaps
        return
    cm = configmaps[c["configMap"]]
    assert cm["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    # Argo reads the semaphore size from the value: a string holding an integer.
    assert cm.get("data", {}) == {k: str(n) for k, n in c["limits"].items()}
    if not c["limits"]:
        assert "data" not in cm, "an empty data map is left for `pipeline store` to fill"


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_priority_classes(name: str) -> None:
    _, objs, v = _render_set(name)
    p = v["priorityClasses"]
    classes = by_kind(objs, "PriorityClass")
    if not p["create"]:
        assert classes == {}
        return
    assert sorted(classes) == [f"{p['prefix']}{n}" for n in range(1, 6)]
    values = [classes[f"{p['prefix']}{n}"]["value"] for n in range(1, 6)]
    assert values == [p["base"] + (5 - n) * p["step"] for n in range(1, 6)]
    assert values == sorted(values, reverse=True), "priority 1 must be the most urgent"
    for pc in classes.values():
        assert pc["globalDefault"] is False
        assert pc["preemptionPolicy"] == p["preemptionPolicy"]


def test_default_priority_values() -> None:
    classes = by_kind(objects(render({})), "PriorityClass")
    assert {n: pc["value"] for n, pc in classes.items()} == {
        "hkube2argo-priority-1": 5000,
        "hkube2argo-priority-2": 4000,
        "hkube2argo-priority-3": 3000,
        "hkube2argo-priority-4": 2000,
        "hkube2argo-priority-5": 1000,
    }


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_service_accounts(name: str) -> None:
    _, objs, v = _render_set(name)
    accounts = by_kind(objs, "ServiceAccount")
    expected = {sa["name"] for sa in v["serviceAccounts"].values() if sa["create"]}
    assert set(accounts) == expected
    for sa in v["serviceAccounts"].values():
        if sa["create"]:
            assert accounts[sa["name"]]["metadata"].get("annotations", {}) == sa["annotations"]


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_notes_name_what_the_release_set_up(name: str) -> None:
    rendered, _, v = _render_set(name)
    notes = rendered["hkube2argo/templates/NOTES.txt"]
    assert f"namespace {NAMESPACE}" in notes
    for needle in (
        v["serviceAccounts"]["workflow"]["name"],
        v["artifactRepository"]["configMap"],
        v["concurrency"]["configMap"],
        v["events"]["eventSource"]["name"],
        "export ARGO_SERVER=localhost:2746",
        "export ARGO_TOKEN=",
        "hkube2argo exec raw -f examples/numbers/numbers.yaml",
    ):
        assert needle in notes, needle
    if v["argo-workflows"]["enabled"]:
        assert f"svc/{VALUE_SETS[name][0]}-argo-workflows-server 2746:2746" in notes
        assert "http://localhost:2746" in notes
    else:
        assert "use the Argo Server your cluster already runs" in notes
    if v["minio"]["enabled"]:
        assert f"svc/{_minio_service(name)} 9000:9000" in notes
