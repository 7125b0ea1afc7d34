"""Contract tests of the Argo backend against a **fake** Argo Server, not a real Argo.

``fake_argo.FakeArgo`` (``http.server`` on 127.0.0.1, a random port) implements the REST
endpoints the backend calls and checks every request strictly: the body against the
swagger definition of its request (``{namespace, workflow}``, ``{namespace, template}``,
``{namespace, cronWorkflow}``, ...), the object inside against Argo's strict JSON schema
(``hkube2argo.lint.validator``), the ``Authorization`` header and the namespace in the
path. The fake plays the controller only as far as the tests set a Workflow's status by
hand; what a real cluster does with the objects is not tested here. MinIO is moto's S3
server on 127.0.0.1, used through the real ``minio`` client.
"""

from __future__ import annotations

import copy
import json
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hkube2argo.backends import BackendError, NotFound
from hkube2argo.backends.argo import (
    DESCRIPTOR_ANNOTATION,
    TASKS_ANNOTATION,
    ArgoBackend,
)
from hkube2argo.config import ClusterConfig
from hkube2argo.diagnostics import ValidationFailed
from hkube2argo.runtime.values import decode_raw
from tests.conftest import free_port

from .conftest import (
    EXAMPLES,
    NAMESPACE,
    ROOT,
    apply_all,
    load,
    s3_client,
)
from .fake_argo import EXCERPT, FakeArgo, extract, serve

Backend = Callable[..., ArgoBackend]
SWAGGER = ROOT.parent / "shared" / "vendor" / "argo-workflows" / "swagger.json"


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and text, text
    return text


def put_json(port: int, bucket: str, key: str, value: Any) -> None:
    import io

    data = json.dumps(value).encode()
    s3_client(port).put_object(bucket, key, io.BytesIO(data), len(data))


def keys(port: int, bucket: str, prefix: str = "") -> list[str]:
    return sorted(o.object_name for o in s3_client(port).list_objects(
        bucket, prefix=prefix, recursive=True))


# --- submitting ------------------------------------------------------------------------------


def test_contract_exec_raw_posts_the_compiled_workflow(fake: FakeArgo, backend: ArgoBackend,
                                                       numbers: dict[str, Any]) -> None:
    submitted = backend.exec_raw(numbers, str(EXAMPLES / "numbers" / "numbers.yaml"))
    posts = [r for r in fake.requests if r.method == "POST"]
    assert [r.path for r in posts] == [f"/api/v1/workflows/{NAMESPACE}"]
    body = posts[0].body
    assert set(body) == {"namespace", "workflow"} and body["namespace"] == NAMESPACE
    workflow = body["workflow"]
    assert workflow["metadata"]["generateName"] == "numbers-"
    assert workflow["metadata"]["namespace"] == NAMESPACE
    assert submitted.job_id.startswith("numbers-")
    assert submitted.job_id in fake.objects["workflows"]
    # every code algorithm reads its code from the content key apply uploaded
    code = {a["s3"]["key"] for t in workflow["spec"]["templates"]
            for a in (t.get("inputs") or {}).get("artifacts", []) if a["name"] == "code"}
    assert len(code) == 3 and all(k.startswith("hkube2argo/algorithms/") for k in code)
    annotations = workflow["metadata"]["annotations"]
    assert json.loads(annotations[TASKS_ANNOTATION]) == {
        "Range": "Range", "Multiply": "Multiply", "Reduce": "Reduce"}
    assert fake.requests[-1].headers["authorization"] == "Bearer test-token"
    executed = backend.get(submitted.job_id)
    assert executed["flowInput"] == {"data": 5, "mul": 2}
    assert executed["types"] == ["raw"] and executed["options"]["ttl"] == 3600


def test_contract_exec_raw_refuses_unknown_algorithms(fake: FakeArgo,
                                                      backend: ArgoBackend) -> None:
    descriptor = load(EXAMPLES / "numbers" / "numbers.yaml")
    with pytest.raises(ValidationFailed) as caught:
        backend.exec_raw(descriptor, "numbers.yaml")
    assert "algorithm 'range' is not stored" in str(caught.value)
    assert fake.count("POST") == 0


def test_contract_exec_stored_replaces_flow_input(fake: FakeArgo, backend: ArgoBackend,
                                                  numbers: dict[str, Any]) -> None:
    numbers["flowInput"]["note"] = "stored only"
    backend.store_pipeline(numbers, "numbers.yaml")
    with pytest.raises(ValidationFailed, match=r"unable to find flowInput\.mul"):
        backend.exec_stored("numbers", {"data": 3})  # checked as HKube checks it
    assert fake.count("POST", "/workflows/") == 0
    first = backend.exec_stored("numbers", {"data": 3, "mul": 1})
    workflow = fake.objects["workflows"][first.job_id]
    assert workflow["spec"]["workflowTemplateRef"] == {"name": "numbers"}
    (artifact,) = workflow["spec"]["arguments"]["artifacts"]
    assert artifact["name"] == "flow-input"
    assert decode_raw(artifact["raw"]["data"]) == {"data": 3, "mul": 1}  # replaced, not merged
    labels = workflow["metadata"]["labels"]
    assert labels["hkube2argo.io/pipeline"] == "numbers"
    assert labels["hkube2argo.io/run"] == "stored"
    assert TASKS_ANNOTATION in workflow["metadata"]["annotations"]
    assert backend.get(first.job_id)["flowInput"] == {"data": 3, "mul": 1}

    second = backend.exec_stored("numbers", None)  # the stored flowInput: no arguments
    assert "arguments" not in fake.objects["workflows"][second.job_id]["spec"]
    assert backend.get(second.job_id)["flowInput"] == {"data": 5, "mul": 2,
                                                       "note": "stored only"}
    assert second.job_id != first.job_id


def test_contract_exec_stored_carries_the_priority(fake: FakeArgo, backend: ArgoBackend,
                                                  numbers: dict[str, Any]) -> None:
    """Argo's queues read spec.priority from the submitted Workflow (controller.go
    getWfPriority; sync_manager.go prepAcquire reads wf.Spec.Priority), not from the
    WorkflowTemplate it references."""
    numbers["priority"] = 1  # HKube's most urgent: Argo's highest
    backend.store_pipeline(numbers, "numbers.yaml")
    job = backend.exec_stored("numbers", None).job_id
    workflow = fake.objects["workflows"][job]
    assert workflow["spec"]["priority"] == 5
    assert fake.objects["workflow-templates"]["numbers"]["spec"]["priority"] == 5


# --- concurrentPipelines: the semaphore key ----------------------------------------------------

SEMAPHORE_FAILURE = ("Failed to acquire the synchronization lock. failed to initialize "
                     "semaphore pipelines/ConfigMap/hkube2argo-semaphores/numbers with limit")


def test_contract_fake_fails_a_run_without_its_semaphore_key(fake: FakeArgo,
                                                            backend: ArgoBackend,
                                                            numbers: dict[str, Any]) -> None:
    """What happened before store/exec raw set the key: Argo fails the run at once."""
    numbers["options"] = {"concurrentPipelines": {"amount": 2}}
    manifests = backend._compile(backend._plan(numbers, "numbers.yaml", backend._catalog()[0]),
                                 backend._catalog()[1])
    job = backend._submit(copy.deepcopy(manifests.workflow), {}).job_id
    status = backend.status(job)
    assert status["status"] == "failed" and status["error"] == SEMAPHORE_FAILURE


def test_contract_exec_raw_sets_the_semaphore_key_first(fake: FakeArgo, backend: ArgoBackend,
                                                       numbers: dict[str, Any], s3_port: int,
                                                       bucket: str) -> None:
    numbers["options"] = {"concurrentPipelines": {"amount": 2}}
    job = backend.exec_raw(numbers, "numbers.yaml").job_id
    assert fake.configmaps["hkube2argo-semaphores"] == {"numbers": "2"}
    assert backend.status(job)["status"] == "pending"  # admitted, not failed
    [patch] = [w for w in fake.objects["workflows"].values()
               if w["metadata"].get("labels", {}).get("hkube2argo.io/semaphore")]
    assert patch["spec"]["serviceAccountName"] == "hkube2argo-semaphores"
    [template] = patch["spec"]["templates"]
    assert template["resource"]["action"] == "patch"
    assert template["resource"]["mergeStrategy"] == "merge"
    posts = [r.path for r in fake.requests if r.method == "POST"]
    assert posts.index(f"/api/v1/workflows/{NAMESPACE}") < len(posts) - 1  # patch first
    assert "hkube2argo/store/semaphores/numbers.json" in keys(s3_port, bucket)
    # the same limit again: recorded, no second patch Workflow
    before = len(fake.objects["workflows"])
    backend.exec_raw(numbers, "numbers.yaml")
    assert len(fake.objects["workflows"]) == before + 1


def test_contract_store_sets_the_semaphore_key_and_stored_runs_are_admitted(
        fake: FakeArgo, backend: ArgoBackend, numbers: dict[str, Any]) -> None:
    numbers["options"] = {"concurrentPipelines": {"amount": 3, "rejectOnFailure": False}}
    backend.store_pipeline(numbers, "numbers.yaml")
    assert fake.configmaps["hkube2argo-semaphores"] == {"numbers": "3"}
    job = backend.exec_stored("numbers", None).job_id
    assert backend.status(job)["status"] == "pending"
    numbers["options"]["concurrentPipelines"]["amount"] = 1  # a new limit replaces it
    backend.store_pipeline(numbers, "numbers.yaml")
    assert fake.configmaps["hkube2argo-semaphores"] == {"numbers": "1"}


def test_contract_semaphore_patch_failure_is_one_clear_line(fake: FakeArgo,
                                                           backend: ArgoBackend,
                                                           numbers: dict[str, Any]) -> None:
    del fake.configmaps["hkube2argo-semaphores"]  # the chart did not create it
    numbers["options"] = {"concurrentPipelines": {"amount": 2}}
    with pytest.raises(BackendError) as caught:
        backend.store_pipeline(numbers, "numbers.yaml")
    message = one_line(caught.value)
    assert "could not set concurrentPipelines key 'numbers' in ConfigMap " \
        "hkube2argo-semaphores" in message and 'configmaps "hkube2argo-semaphores" not ' \
        "found" in message
    assert not fake.objects["workflow-templates"]  # nothing stored


def test_contract_exec_stored_unknown_pipeline(fake: FakeArgo, backend: ArgoBackend) -> None:
    with pytest.raises(NotFound) as caught:
        backend.exec_stored("nope", None)
    assert one_line(caught.value) == "pipeline nope is not stored"


def test_contract_big_descriptor_goes_to_minio(fake: FakeArgo, backend: ArgoBackend,
                                               numbers: dict[str, Any], s3_port: int,
                                               bucket: str) -> None:
    import random

    noise = random.Random(7)
    numbers["flowInput"]["blob"] = "".join(noise.choice("abcdefghij0123456789")
                                           for _ in range(120_000))
    job = backend.exec_raw(numbers, "numbers.yaml").job_id
    annotations = fake.objects["workflows"][job]["metadata"]["annotations"]
    assert DESCRIPTOR_ANNOTATION not in annotations
    assert f"hkube2argo/jobs/{job}/pipeline.json" in keys(s3_port, bucket)
    assert backend.get(job)["flowInput"]["blob"] == numbers["flowInput"]["blob"]


# --- status and results ----------------------------------------------------------------------

TASKS = {"Range": "Range", "Multiply": "Multiply", "Reduce": "Reduce", "my-node-1a2b3c": "my node"}


def pod(name: str, phase: str, *, template: str = "alg-x", task: str | None = None,
        message: str | None = None, finished: str = "2026-01-01T00:01:00Z",
        kind: str = "Pod") -> dict[str, Any]:
    node: dict[str, Any] = {"id": name, "name": f"wf.{name}", "displayName": name, "type": kind,
                            "phase": phase, "templateName": template,
                            "finishedAt": finished}
    if task:
        node["inputs"] = {"parameters": [{"name": "task", "value": task}]}
    if message:
        node["message"] = message
    return node


def workflow(name: str, phase: str | None, nodes: list[dict[str, Any]] = (),  # type: ignore[assignment]
             shutdown: str | None = None, message: str | None = None) -> dict[str, Any]:
    wf: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"name": name, "labels": {"hkube2argo.io/pipeline": "numbers"},
                     "annotations": {"hkube2argo.io/pipeline-name": "numbers",
                                     TASKS_ANNOTATION: json.dumps(TASKS)}},
        "spec": {"entrypoint": "pipeline"}, "status": {}}
    if phase is not None:
        wf["status"] = {"phase": phase, "startedAt": "2026-01-01T00:00:00Z",
                        "nodes": {n["id"]: n for n in nodes}}
        if phase in ("Succeeded", "Failed", "Error"):
            wf["status"]["finishedAt"] = "2026-01-01T00:01:30Z"
        if message:
            wf["status"]["message"] = message
    if shutdown:
        wf["spec"]["shutdown"] = shutdown
    return wf


RUNNING_NODES = [
    pod("prepare", "Succeeded", template="prepare", task="prepare"),
    pod("Range", "Succeeded", task="Range"),
    pod("Multiply(0:1)", "Succeeded", task="Multiply"),
    pod("Multiply(1:2)", "Running", task="Multiply"),
    pod("Multiply(2:3)", "Failed", task="Multiply", message="Error (exit code 3)"),
]
DONE_NODES = [
    pod("prepare", "Succeeded", template="prepare", task="prepare"),
    pod("Range", "Succeeded", task="Range"),
    pod("Multiply(0:1)", "Succeeded", task="Multiply"),
    pod("Multiply--collect", "Succeeded", template="collect", task="Multiply--collect"),
    pod("Reduce", "Succeeded", task="Reduce"),
    pod("my-node-1a2b3c", "Skipped", kind="Skipped"),  # `when` was false: no inputs
    pod("results", "Succeeded", template="results", task="results"),
]
# (phase, nodes, shutdown) -> (HKube status, states, progress)
PHASES = [
    ("none", None, [], None, "pending", {}, 0),
    ("pending", "Pending", [], None, "pending", {}, 0),
    ("running", "Running", RUNNING_NODES, None, "active",
     {"succeed": 2, "failed": 1, "active": 1, "pending": 2}, 50),  # Reduce, my node wait
    ("succeeded", "Succeeded", DONE_NODES, None, "completed",
     {"succeed": 3, "skipped": 1}, 100),
    ("failed", "Failed", [*RUNNING_NODES[:3], pod("Reduce", "Failed", task="Reduce")], None,
     "failed", {"succeed": 2, "failed": 1}, 75),  # my node never started: 3 of 4
    ("error", "Error", [], None, "failed", {}, 0),
    # what never ran (or was running) when the run was stopped counts as stopped
    ("stopped", "Failed", RUNNING_NODES[:3], "Stop", "stopped", {"succeed": 2, "stopped": 2}, 50),
    ("terminated", "Failed", [], "Terminate", "stopped", {"stopped": 4}, 0),
]


@pytest.mark.parametrize(("phase", "nodes", "shutdown", "status", "states", "progress"),
                         [p[1:] for p in PHASES], ids=[p[0] for p in PHASES])
def test_contract_status_maps_phases_and_counts_pods(
        fake: FakeArgo, backend: ArgoBackend, phase: str | None, nodes: list[dict[str, Any]],
        shutdown: str | None, status: str, states: dict[str, int], progress: float) -> None:
    fake.add_workflow(workflow("numbers-abcde", phase, nodes, shutdown))
    body = backend.status("numbers-abcde")
    assert body["jobId"] == "numbers-abcde" and body["pipeline"] == "numbers"
    assert body["status"] == status
    assert body["data"]["states"] == states
    assert body["data"]["progress"] == progress
    assert fake.requests[-1].path == f"/api/v1/workflows/{NAMESPACE}/numbers-abcde"
    if status in ("completed", "failed", "stopped") and phase != "Error":
        assert body["netTimeTook"] == 90.0


def test_contract_status_failed_names_the_hkube_node(fake: FakeArgo,
                                                     backend: ArgoBackend) -> None:
    nodes = [
        pod("Range", "Succeeded", task="Range"),
        # a batch item failed too, but items are tolerated: the plain node is the cause
        pod("Multiply(0:1)", "Failed", task="Multiply", message="item",
            finished="2026-01-01T00:00:10Z"),
        {**pod("my-node-1a2b3c", "Failed", kind="Retry"), "children": ["a0", "a1"]},
        pod("a0", "Failed", task="my-node-1a2b3c", message="first attempt"),
        {**pod("a1", "Failed", task="my-node-1a2b3c", message="Error (exit code 3): boom"),
         "displayName": "my-node-1a2b3c(1)"},
    ]
    fake.add_workflow(workflow("numbers-fffff", "Failed", nodes, message="child failed"))
    body = backend.status("numbers-fffff")
    assert body["status"] == "failed" and body["level"] == "error"
    assert body["nodeName"] == "my node"  # the annotation maps the sanitised task back
    assert body["error"] == "Error (exit code 3): boom"
    # the first attempt was retried: only the last attempt counts
    assert body["data"]["states"] == {"succeed": 1, "failed": 2}


@pytest.mark.parametrize("words", ["main: Error (exit code 4): ", "Error (exit code 4): "])
def test_contract_status_reads_the_wrappers_termination_message(fake: FakeArgo,
                                                                 backend: ArgoBackend,
                                                                 words: str) -> None:
    # a reader judged its batch beyond tolerance: it blames the batch node, and Argo words
    # the container's termination message "<container>: <reason> (exit code N): <message>"
    # (v4, operator.go inferFailedReason; older releases without the container)
    said = f"{words}my node failed: 2/3 (67%) failed tasks, batch tolerance is 50%"
    nodes = [pod("Range", "Succeeded", task="Range"),
             pod("Reduce", "Failed", task="Reduce", message=said)]
    fake.add_workflow(workflow("numbers-ggggg", "Failed", nodes, message="child failed"))
    body = backend.status("numbers-ggggg")
    assert body["nodeName"] == "my node"
    assert body["error"] == "2/3 (67%) failed tasks, batch tolerance is 50%"


def test_contract_result_reads_minio(fake: FakeArgo, backend: ArgoBackend, s3_port: int,
                                     bucket: str) -> None:
    fake.add_workflow(workflow("numbers-done1", "Succeeded", DONE_NODES))
    document = {"jobId": "numbers-done1", "pipeline": "numbers", "status": "completed",
                "timestamp": 1, "data": [{"nodeName": "Reduce", "algorithmName": "reduce",
                                          "result": 20}]}
    put_json(s3_port, bucket, "hkube2argo/jobs/numbers-done1/results.json", document)
    result = backend.result("numbers-done1")
    assert result["data"] == document["data"]
    assert result["status"] == "completed" and result["jobId"] == "numbers-done1"
    assert result["timeTook"] == 90.0 and result["startTime"] == 1767225600000


def test_contract_result_before_completion(fake: FakeArgo, backend: ArgoBackend) -> None:
    fake.add_workflow(workflow("numbers-run01", "Running", RUNNING_NODES))
    with pytest.raises(BackendError) as caught:
        backend.result("numbers-run01")
    assert one_line(caught.value) == ("unable to get results for pipeline numbers because its "
                                      "in active status")


def test_contract_result_failed_and_stopped_have_no_data(fake: FakeArgo,
                                                         backend: ArgoBackend) -> None:
    fake.add_workflow(workflow("numbers-fail1", "Failed",
                               [pod("Reduce", "Failed", task="Reduce", message="bad")]))
    failed = backend.result("numbers-fail1")
    assert failed["status"] == "failed" and "data" not in failed
    assert failed["error"] == "bad" and failed["nodeName"] == "Reduce"
    fake.add_workflow(workflow("numbers-stop1", "Failed", [], shutdown="Stop"))
    stopped = backend.result("numbers-stop1")
    assert stopped["status"] == "stopped" and "data" not in stopped


def test_contract_result_missing_document(fake: FakeArgo, backend: ArgoBackend) -> None:
    fake.add_workflow(workflow("numbers-lost1", "Succeeded", DONE_NODES))
    with pytest.raises(BackendError, match="results are missing at s3://"):
        backend.result("numbers-lost1")


# --- stop -----------------------------------------------------------------------------------


def test_contract_stop_records_the_reason(fake: FakeArgo, backend: ArgoBackend, s3_port: int,
                                          bucket: str) -> None:
    fake.add_workflow(workflow("numbers-stop2", "Running", RUNNING_NODES))
    assert backend.stop("numbers-stop2", "no longer needed") == {
        "stoppedJobIds": ["numbers-stop2"]}
    (put,) = [r for r in fake.requests if r.method == "PUT"]
    assert put.path == f"/api/v1/workflows/{NAMESPACE}/numbers-stop2/stop"
    assert put.body == {"name": "numbers-stop2", "namespace": NAMESPACE,
                        "message": "no longer needed"}
    assert fake.objects["workflows"]["numbers-stop2"]["spec"]["shutdown"] == "Stop"
    assert "hkube2argo/jobs/numbers-stop2/stop.json" in keys(s3_port, bucket)
    fake.objects["workflows"]["numbers-stop2"]["status"]["phase"] = "Failed"  # the controller
    status = backend.status("numbers-stop2")
    assert status["status"] == "stopped" and status["reason"] == "no longer needed"
    assert backend.result("numbers-stop2")["reason"] == "no longer needed"
    with pytest.raises(BackendError, match="cannot stop job numbers-stop2: it is stopped"):
        backend.stop("numbers-stop2", None)


def test_contract_stop_without_reason(fake: FakeArgo, backend: ArgoBackend) -> None:
    fake.add_workflow(workflow("numbers-stop3", None))  # not started yet: pending
    backend.stop("numbers-stop3", None)
    (put,) = [r for r in fake.requests if r.method == "PUT"]
    assert put.body["message"] == "stopped by user"


def test_contract_stop_unknown_job(fake: FakeArgo, backend: ArgoBackend) -> None:
    with pytest.raises(NotFound, match="unknown jobId numbers-zzzzz"):
        backend.stop("numbers-zzzzz", "why")
    assert fake.count("PUT") == 0


# --- stored pipelines ------------------------------------------------------------------------


@pytest.fixture
def summary(backend: ArgoBackend) -> dict[str, Any]:
    """A pipeline with a (disabled) cron trigger and two parent pipelines."""
    apply_all(backend, EXAMPLES / "algorithms", ["describe"])
    return load(EXAMPLES / "triggers" / "summary.yaml")


def test_contract_store_pipeline_is_idempotent(fake: FakeArgo, backend: ArgoBackend,
                                               summary: dict[str, Any], s3_port: int,
                                               bucket: str) -> None:
    stored = backend.store_pipeline(summary, "summary.yaml")
    assert stored["name"] == "summary" and stored["options"]["batchTolerance"] == 80
    created = {(r.method, r.path) for r in fake.requests if r.method in ("POST", "PUT")}
    assert created == {("POST", f"/api/v1/{c}/{NAMESPACE}") for c in
                       ("workflow-templates", "cron-workflows", "sensors")}
    versions = {c: {n: o["metadata"]["resourceVersion"] for n, o in objs.items()}
                for c, objs in fake.objects.items()}
    assert set(fake.objects["workflow-templates"]) == {"summary"}
    assert set(fake.objects["cron-workflows"]) == {"summary"}
    assert not fake.objects["event-sources"]  # the Sensor listens to the chart's one
    assert set(fake.objects["sensors"]) == {"summary-trigger"}

    fake.requests.clear()
    backend.store_pipeline(summary, "summary.yaml")  # again: 409, GET, PUT with the version
    puts = [r for r in fake.requests if r.method == "PUT"]
    assert len(puts) == 3 and fake.count("POST") == 3
    for request in puts:
        key = next(k for k in request.body if k not in ("namespace", "name"))
        collection = request.path.split("/")[3]
        name = request.path.rsplit("/", 1)[-1]
        assert request.body[key]["metadata"]["resourceVersion"] == versions[collection][name]
    sensor_put = next(r for r in puts if "/sensors/" in r.path)
    assert sensor_put.body["name"] == "summary-trigger"  # Argo Events' update carries it
    assert "hkube2argo/store/pipelines/summary.json" in keys(s3_port, bucket)
    assert backend.get_pipeline("summary")["triggers"]["cron"]["enabled"] is False
    assert [p["name"] for p in backend.list_pipelines()] == ["summary"]


def test_contract_store_removes_triggers_that_went_away(fake: FakeArgo, backend: ArgoBackend,
                                                       summary: dict[str, Any]) -> None:
    backend.store_pipeline(summary, "summary.yaml")
    del summary["triggers"]
    summary["nodes"][0]["input"] = ["#@flowInput.items"]
    summary["flowInput"] = {"items": [1]}
    backend.store_pipeline(summary, "summary.yaml")
    assert set(fake.objects["workflow-templates"]) == {"summary"}
    assert not fake.objects["cron-workflows"] and not fake.objects["sensors"]
    assert not fake.objects["event-sources"]


def test_contract_store_removes_the_old_per_pipeline_event_source(
        fake: FakeArgo, backend: ArgoBackend, summary: dict[str, Any]) -> None:
    """Releases before the shared EventSource emitted <pipeline>-parents: storing again
    leaves only the Sensor, which listens to the chart's EventSource."""
    fake.objects["event-sources"]["summary-parents"] = {
        "metadata": {"name": "summary-parents", "namespace": NAMESPACE,
                     "resourceVersion": "1"}}
    backend.store_pipeline(summary, "summary.yaml")
    assert not fake.objects["event-sources"]
    [sensor] = fake.objects["sensors"].values()
    assert {d["eventSourceName"] for d in sensor["spec"]["dependencies"]} == \
        {"hkube2argo-workflows"}


def test_contract_delete_pipeline(fake: FakeArgo, backend: ArgoBackend,
                                  summary: dict[str, Any], s3_port: int, bucket: str) -> None:
    backend.store_pipeline(summary, "summary.yaml")
    assert backend.delete_pipeline("summary") == {"message": "pipeline summary deleted"}
    assert all(not objs for objs in fake.objects.values() if objs is not
               fake.objects["workflows"])
    assert "hkube2argo/store/pipelines/summary.json" not in keys(s3_port, bucket)
    with pytest.raises(NotFound, match="pipeline summary is not stored"):
        backend.delete_pipeline("summary")
    with pytest.raises(NotFound, match="pipeline summary is not stored"):
        backend.get_pipeline("summary")


# --- algorithms ------------------------------------------------------------------------------


def test_contract_apply_algorithm_uploads_code_once(fake: FakeArgo, backend: ArgoBackend,
                                                    s3_port: int, bucket: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = EXAMPLES / "numbers" / "algorithms" / "range.yaml"
    store = backend.objects
    written: list[str] = []
    original = store.put

    def spy(key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        written.append(key)
        original(key, data, content_type)

    monkeypatch.setattr(store, "put", spy)
    first = backend.apply_algorithm(load(path), str(path))
    second = backend.apply_algorithm(load(path), str(path))
    code_key = first["algorithm"]["fileInfo"]["path"]
    assert code_key.startswith("hkube2argo/algorithms/range/") and code_key.endswith(".tar.gz")
    assert written.count(code_key) == 1  # content-addressed: the second apply skips it
    assert written.count("hkube2argo/store/algorithms/range.json") == 2
    assert first["messages"][0] == "algorithm range created"
    assert second["messages"] == ["algorithm range updated", f"code unchanged ({code_key})"]
    stored = backend.get_algorithm("range")
    assert stored["type"] == "Code" and stored["env"] == "python" and "codePath" not in stored
    assert stored["cpu"] == 0.5 and stored["entryPoint"] == "range.py"
    assert [a["name"] for a in backend.list_algorithms()] == ["range"]
    assert backend.delete_algorithm("range") == {"message": "algorithm range deleted"}
    assert code_key in keys(s3_port, bucket)  # runs in flight may still read it
    with pytest.raises(NotFound, match="algorithm range is not stored"):
        backend.get_algorithm("range")
    assert fake.requests == []  # algorithms never touch the Argo Server


def test_contract_apply_algorithm_code_path_missing(backend: ArgoBackend,
                                                    tmp_path: Path) -> None:
    descriptor = {"name": "ghost", "env": "python", "code": {"path": "nowhere",
                                                            "entryPoint": "main.py"}}
    with pytest.raises(ValidationFailed, match=r"code\.path 'nowhere' does not exist"):
        backend.apply_algorithm(descriptor, str(tmp_path / "ghost.yaml"))


# --- errors ----------------------------------------------------------------------------------


def test_contract_server_unreachable(make_backend: Backend) -> None:
    port = free_port()
    backend = make_backend(ARGO_SERVER=f"127.0.0.1:{port}")
    with pytest.raises(BackendError) as caught:
        backend.status("numbers-abcde")
    assert one_line(caught.value).startswith(
        f"cannot reach the Argo Server at http://127.0.0.1:{port} (")


def test_contract_401(fake: FakeArgo, make_backend: Backend) -> None:
    backend = make_backend(ARGO_TOKEN="not-a-bearer")
    with pytest.raises(BackendError) as caught:
        backend.status("numbers-abcde")
    text = one_line(caught.value)
    assert "rejected the credentials (401 Unauthorized: token not valid" in text
    assert "'Bearer <token>'" in text
    assert not isinstance(caught.value, NotFound)
    assert fake.count("GET") == 1  # a 401 is not retried


def test_contract_no_token_sends_no_header(fake: FakeArgo, make_backend: Backend) -> None:
    backend = make_backend(ARGO_TOKEN=None)
    with pytest.raises(BackendError, match="401"):
        backend.status("numbers-abcde")
    assert "authorization" not in fake.requests[-1].headers


def test_contract_403(fake: FakeArgo, backend: ArgoBackend) -> None:
    fake.inject("GET", "/workflows/", status=403, body={
        "code": 7, "message": 'workflows.argoproj.io "numbers-abcde" is forbidden: User '
                              '"system:serviceaccount:pipelines:x" cannot get resource'})
    with pytest.raises(BackendError) as caught:
        backend.status("numbers-abcde")
    text = one_line(caught.value)
    assert f"refused GET /api/v1/workflows/{NAMESPACE}/numbers-abcde (403 Forbidden: " in text
    assert "cannot get resource" in text


def test_contract_404_unknown_job(fake: FakeArgo, backend: ArgoBackend) -> None:
    for call in (backend.status, backend.result, backend.get):
        with pytest.raises(NotFound) as caught:
            call("numbers-nojob")
        assert one_line(caught.value) == ("unknown jobId numbers-nojob (no Workflow "
                                          f"numbers-nojob in namespace {NAMESPACE})")


def test_contract_404_unknown_route_is_not_an_unknown_job(fake: FakeArgo,
                                                          make_backend: Backend) -> None:
    backend = make_backend(ARGO_BASE_HREF="/wrong")
    with pytest.raises(BackendError) as caught:
        backend.status("numbers-abcde")
    assert not isinstance(caught.value, NotFound)
    assert "is ARGO_BASE_HREF right?" in one_line(caught.value)


def test_contract_500_shows_argo_message(fake: FakeArgo, backend: ArgoBackend,
                                         numbers: dict[str, Any]) -> None:
    fake.inject("POST", "/workflows/", status=500,
                body={"code": 2, "message": "etcdserver: request timed out"})
    with pytest.raises(BackendError) as caught:
        backend.exec_raw(numbers, "numbers.yaml")
    assert one_line(caught.value) == (
        f"the Argo Server at http://127.0.0.1:{fake.port} answered 500 to POST "
        f"/api/v1/workflows/{NAMESPACE}: etcdserver: request timed out")
    assert fake.count("POST") == 1


def test_contract_timeout_get_retried(fake: FakeArgo, make_backend: Backend) -> None:
    backend = make_backend(timeout=0.3)
    fake.inject("GET", "/workflows/", delay=1.0, times=3)
    with pytest.raises(BackendError) as caught:
        backend.status("numbers-abcde")
    assert "did not answer GET /api/v1/workflows/pipelines/numbers-abcde within 0.3 s" in \
        one_line(caught.value)
    assert fake.count("GET") == 3


def test_contract_timeout_post_not_retried(fake: FakeArgo, make_backend: Backend,
                                           numbers: dict[str, Any]) -> None:
    backend = make_backend(timeout=0.3)
    fake.inject("POST", "/workflows/", delay=1.0)
    with pytest.raises(BackendError) as caught:
        backend.exec_raw(numbers, "numbers.yaml")
    assert "may have been applied anyway" in one_line(caught.value)
    assert fake.count("POST") == 1


def test_contract_get_retried_with_backoff(fake: FakeArgo, backend: ArgoBackend) -> None:
    fake.add_workflow(workflow("numbers-abcde", "Running", RUNNING_NODES))
    fake.inject("GET", "/workflows/", status=503, body="upstream connect error", times=2)
    assert backend.status("numbers-abcde")["status"] == "active"
    assert fake.count("GET", "/workflows/") == 3


def test_contract_post_never_retried(fake: FakeArgo, backend: ArgoBackend,
                                     numbers: dict[str, Any]) -> None:
    fake.inject("POST", "/workflows/", status=503, body="upstream connect error")
    with pytest.raises(BackendError, match="answered 503 to POST"):
        backend.exec_raw(numbers, "numbers.yaml")
    assert fake.count("POST") == 1
    assert fake.objects["workflows"] == {}


def test_contract_minio_down(fake: FakeArgo, make_backend: Backend) -> None:
    port = free_port()
    backend = make_backend(HKUBE2ARGO_S3_ENDPOINT=f"127.0.0.1:{port}")
    with pytest.raises(BackendError) as caught:
        backend.list_pipelines()
    assert one_line(caught.value).startswith(f"MinIO at http://127.0.0.1:{port} is unreachable")


def test_contract_bucket_missing(fake: FakeArgo, make_backend: Backend) -> None:
    backend = make_backend(ClusterConfig(bucket="no-such-bucket"))
    with pytest.raises(BackendError) as caught:
        backend.get_pipeline("numbers")
    assert one_line(caught.value).startswith("bucket 'no-such-bucket' does not exist at MinIO")


def test_contract_minio_not_configured(fake: FakeArgo, make_backend: Backend) -> None:
    backend = make_backend(HKUBE2ARGO_S3_ENDPOINT=None)
    with pytest.raises(BackendError, match="MinIO is not configured: set HKUBE2ARGO_S3_"):
        backend.list_algorithms()


def test_contract_minio_credentials_refused(fake: FakeArgo, make_backend: Backend) -> None:
    backend = make_backend(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None)
    with pytest.raises(BackendError, match="needs credentials: set AWS_ACCESS_KEY_ID"):
        backend.list_algorithms()


# --- the argo CLI's environment ----------------------------------------------------------------


def test_contract_argo_secure(fake: FakeArgo, make_backend: Backend) -> None:
    assert make_backend(ARGO_SECURE=None).http.base_url.startswith("https://")
    assert make_backend(ARGO_SECURE="FALSE").http.base_url.startswith("https://")  # exactly
    assert make_backend(ARGO_SECURE="false").http.base_url.startswith("http://")
    secure = make_backend(ARGO_SECURE=None)
    with pytest.raises(BackendError) as caught:  # TLS against the plain-HTTP fake
        secure.status("numbers-abcde")
    assert one_line(caught.value).startswith("TLS with the Argo Server at https://")
    assert "ARGO_SECURE=false" in str(caught.value)


def test_contract_insecure_skip_verify(fake: FakeArgo, make_backend: Backend) -> None:
    def context(backend: ArgoBackend) -> ssl.SSLContext:
        handler = next(h for h in backend.http.opener.handlers
                       if type(h).__name__ == "HTTPSHandler")
        return handler._context  # type: ignore[attr-defined,no-any-return]

    assert context(make_backend(ARGO_SECURE=None)).verify_mode == ssl.CERT_REQUIRED
    skipping = make_backend(ARGO_SECURE=None, ARGO_INSECURE_SKIP_VERIFY="true")
    assert context(skipping).verify_mode == ssl.CERT_NONE


def test_contract_base_href(make_backend: Backend, s3_port: int) -> None:
    routed = FakeArgo(namespace=NAMESPACE, base_href="/argo")
    with serve(routed):
        backend = make_backend(ARGO_SERVER=f"127.0.0.1:{routed.port}", ARGO_BASE_HREF="/argo/")
        routed.add_workflow(workflow("numbers-abcde", "Pending"))
        assert backend.status("numbers-abcde")["status"] == "pending"
    assert routed.violations == []
    assert routed.requests[0].path == f"/api/v1/workflows/{NAMESPACE}/numbers-abcde"


@pytest.mark.parametrize(("given", "config_ns", "expected"), [
    ("team-a", "ignored", "team-a"),
    (None, "from-config", "from-config"),
    (None, None, "argo"),
])
def test_contract_namespace(make_backend: Backend, bucket: str, given: str | None,
                            config_ns: str | None, expected: str) -> None:
    target = FakeArgo(namespace=expected)
    with serve(target):
        backend = make_backend(ClusterConfig(bucket=bucket, namespace=config_ns),
                               ARGO_SERVER=f"127.0.0.1:{target.port}", ARGO_NAMESPACE=given)
        assert backend.namespace == expected and backend.config.namespace == expected
        with pytest.raises(NotFound):
            backend.status("numbers-abcde")
    assert target.violations == []
    assert target.requests[0].path == f"/api/v1/workflows/{expected}/numbers-abcde"


def test_contract_argo_server_required(env: dict[str, str]) -> None:
    with pytest.raises(BackendError, match="ARGO_SERVER is not set"):
        ArgoBackend.from_env(ClusterConfig(), {})
    with pytest.raises(BackendError, match="host:port without a scheme"):
        ArgoBackend.from_env(ClusterConfig(), {**env, "ARGO_SERVER": "https://argo:2746"})


def test_contract_vendored_swagger_excerpt_is_current() -> None:
    if not SWAGGER.is_file():
        pytest.skip(f"{SWAGGER} is not here")
    current = extract(json.loads(SWAGGER.read_text(encoding="utf-8")))
    assert current == json.loads(EXCERPT.read_text(encoding="utf-8"))


def test_contract_redirect_is_an_error(fake: FakeArgo, backend: ArgoBackend,
                                       numbers: dict[str, Any]) -> None:
    fake.inject("POST", "/workflows/", status=308, body="",
                headers={"Location": "https://argo.example.com/api/v1/workflows/pipelines"})
    with pytest.raises(BackendError) as caught:
        backend.exec_raw(numbers, "numbers.yaml")
    assert "redirected POST /api/v1/workflows/pipelines to https://argo.example.com" in \
        one_line(caught.value)
    assert fake.count("POST") == 1 and fake.count("GET", "/workflows/") == 0


def test_contract_argo_http1_changes_nothing(fake: FakeArgo, make_backend: Backend) -> None:
    for value in ("true", "false", None):
        fake.add_workflow(workflow("numbers-abcde", "Running", RUNNING_NODES))
        assert make_backend(ARGO_HTTP1=value).status("numbers-abcde")["status"] == "active"
    assert {r.headers.get("accept") for r in fake.requests} == {"application/json"}


def test_contract_apply_image_algorithm(backend: ArgoBackend) -> None:
    applied = backend.apply_algorithm({"name": "green-alg", "algorithmImage": "hkube/green:1",
                                       "mem": "512Mi"}, "green.yaml")
    assert applied["messages"] == ["algorithm green-alg created"]
    stored = backend.get_algorithm("green-alg")
    assert stored["algorithmImage"] == "hkube/green:1" and "fileInfo" not in stored
    assert stored["cpu"] == 0.1 and stored["mem"] == "512Mi"  # HKube's defaults


def test_contract_the_fake_is_strict(fake: FakeArgo, backend: ArgoBackend) -> None:
    """The checks the other tests rely on do reject what Argo's API would not take."""
    good = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"generateName": "x-"},
            "spec": {"entrypoint": "main", "templates": [
                {"name": "main", "container": {"image": "alpine"}}]}}
    typo = json.loads(json.dumps(good))
    typo["spec"]["templates"][0]["contianer"] = typo["spec"]["templates"][0].pop("container")
    http = backend.http
    path = f"/api/v1/workflows/{NAMESPACE}"
    for body, expected in [
        ({"namespace": NAMESPACE, "workflow": typo}, "'contianer' was unexpected"),
        ({"namespace": NAMESPACE, "wf": good}, "'wf' was unexpected"),
        ({"namespace": "other", "workflow": good}, "namespace 'other' in the body"),
        ({"namespace": NAMESPACE, "workflow": {**good, "kind": "WorkflowTemplate"}},
         "kind is 'WorkflowTemplate'"),
    ]:
        with pytest.raises(BackendError, match="answered 400"):
            http.call("POST", path, body)
        assert expected in fake.violations[-1], fake.violations[-1]
    with pytest.raises(BackendError, match="403"):
        http.call("GET", "/api/v1/workflows/other/x")
    assert "namespace other, expected pipelines" in fake.violations[-1]
    assert http.call("POST", path, {"namespace": NAMESPACE, "workflow": good})["metadata"][
        "name"].startswith("x-")
    fake.violations.clear()  # expected ones: the fixture checks none are left


def test_contract_invalid_manifest_is_never_sent(fake: FakeArgo, backend: ArgoBackend,
                                                 numbers: dict[str, Any],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from hkube2argo.backends import argo

    real = argo.compile_plan

    def broken(*args: Any, **kwargs: Any) -> Any:
        manifests = real(*args, **kwargs)
        manifests.workflow["spec"]["entrypiont"] = manifests.workflow["spec"].pop("entrypoint")
        return manifests

    monkeypatch.setattr(argo, "compile_plan", broken)
    with pytest.raises(BackendError) as caught:
        backend.exec_raw(numbers, "numbers.yaml")
    assert "a bug, please report it" in one_line(caught.value)
    assert "'entrypiont' was unexpected" in str(caught.value)
    assert fake.count("POST") == 0
