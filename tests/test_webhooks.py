"""HKube's webhooks, compiled into lifecycle hooks and run by the local runner against a
real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hkube2argo import lint
from hkube2argo.compiler import compile_manifests
from hkube2argo.loading import Descriptor, Source
from hkube2argo.runner.run import Runner, StorageSpec
from hkube2argo.validate import load_algorithms, validate_descriptor
from tests.conftest import EXAMPLES

ALGS = EXAMPLES / "algorithms"
E2E_ALGS = EXAMPLES.parent / "tests" / "e2e" / "algorithms"


@pytest.fixture
def receiver():
    got: list[tuple[str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((self.path, json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", got
    server.shutdown()


def pipeline(tmp_path: Path, url: str, *, fail: bool = False, verbosity: str = "info") -> Path:
    data = {
        "name": "hooked",
        "webhooks": {"progress": f"{url}/progress", "result": f"{url}/result"},
        "options": {"progressVerbosityLevel": verbosity},
        "flowInput": {"x": "not-a-number" if fail else 3},
        "nodes": [{"nodeName": "Split", "algorithmName": "split", "input": ["@flowInput.x"],
                   "retry": {"policy": "Never"}}],
    }
    path = tmp_path / "hooked.json"
    path.write_text(json.dumps(data))
    return path


def test_hooks_are_valid_argo(tmp_path: Path) -> None:
    catalog = load_algorithms([ALGS])
    data = json.loads(pipeline(tmp_path, "http://example.com").read_text())
    plan = validate_descriptor(Descriptor(data, Source("x")), catalog).plan
    manifests = compile_manifests(plan)
    spec = manifests.workflow["spec"]
    assert set(spec["hooks"]) == {"exit", "running"}
    assert lint.lint(manifests.documents()) == []
    # the URLs are user text: they travel encoded, never as template text
    assert "example.com" not in json.dumps(spec)


def test_completed_run_posts_progress_and_result(tmp_path: Path, receiver) -> None:
    url, got = receiver
    result = Runner(tmp_path / "s", workers=2).start(pipeline(tmp_path, url), [ALGS],
                                                     StorageSpec())
    assert result.status == "completed"
    progress = [b for p, b in got if p == "/progress"]
    results = [b for p, b in got if p == "/result"]
    assert [b["status"] for b in progress] == ["active", "completed"]
    assert all(b["jobId"] == result.job_id and b["pipeline"] == "hooked" for b in progress)
    assert progress[-1]["data"]["progress"] == 100
    (doc,) = results
    assert doc["status"] == "completed"
    assert doc["data"] == [{"nodeName": "Split", "algorithmName": "split", "result": [0, 1, 2]}]


def test_failed_run_posts_the_failure(tmp_path: Path, receiver) -> None:
    url, got = receiver
    result = Runner(tmp_path / "s", workers=2).start(pipeline(tmp_path, url, fail=True),
                                                     [ALGS], StorageSpec())
    assert result.status == "failed"
    (doc,) = [b for p, b in got if p == "/result"]
    assert doc["status"] == "failed" and "data" not in doc and doc["nodeName"] == "Split"
    assert [b["status"] for p, b in got if p == "/progress"] == ["active", "failed"]


def test_verbosity_error_sends_only_failures(tmp_path: Path, receiver) -> None:
    url, got = receiver
    Runner(tmp_path / "s", workers=2).start(pipeline(tmp_path, url, verbosity="error"), [ALGS],
                                            StorageSpec())
    assert [p for p, _ in got] == ["/result"]  # no info-level progress events


def test_unreachable_webhook_never_fails_the_pipeline(tmp_path: Path) -> None:
    result = Runner(tmp_path / "s", workers=2).start(
        pipeline(tmp_path, "http://127.0.0.1:9"), [ALGS], StorageSpec())
    assert result.status == "completed"


@pytest.mark.parametrize("workers", [1, 2])
def test_debug_verbosity_posts_per_task_progress(tmp_path: Path, receiver,
                                                 workers: int) -> None:
    # HKube's driver posts the status object at debug level as tasks change state; here a
    # lifecycle hook beside the DAG reads the run's Workflow (the runner's live file) and
    # does so, outside the worker pool (one worker is enough), until the DAG has ended
    url, got = receiver
    # the items sleep so that the reporter (a fresh interpreter) is up before the run ends
    items = [{"sleep": 1.5, "value": i} for i in range(3)]
    data = {"name": "hooked",
            "webhooks": {"progress": f"{url}/progress", "result": f"{url}/result"},
            "options": {"progressVerbosityLevel": "debug"}, "flowInput": {"items": items},
            "nodes": [{"nodeName": "Split", "algorithmName": "echo",
                       "input": ["@flowInput.items"]},
                      {"nodeName": "Double", "algorithmName": "probe", "input": ["#@Split.0"]},
                      {"nodeName": "Sum", "algorithmName": "echo", "input": ["@Double"]}]}
    path = tmp_path / "debug.json"
    path.write_text(json.dumps(data))
    result = Runner(tmp_path / "s", workers=workers).start(path, [E2E_ALGS], StorageSpec())
    assert result.status == "completed"
    debug = [b for p, b in got if p == "/progress" and b["level"] == "debug"]
    assert debug, got
    assert all(b["status"] == "active" and b["jobId"] == result.job_id for b in debug)
    shares = [b["data"]["progress"] for b in debug]
    assert shares == sorted(shares)
    # Split, three Double items and Sum: five HKube tasks, all done at the last poll
    assert debug[-1]["data"]["states"] == {"succeed": 5}
    assert debug[-1]["data"]["progress"] == 100
    info = [b["status"] for p, b in got if p == "/progress" and b["level"] != "debug"]
    assert info == ["active", "completed"]
    # the exit handler waits for the reporter: every debug event before the result
    paths = [p if b.get("level") != "debug" else "debug" for p, b in got]
    assert paths.index("/result") > max(i for i, p in enumerate(paths) if p == "debug")
    assert got[-1][1]["status"] == "completed"  # the exit handler's event comes last
    final = json.loads((result.folder / "workflow-live.json").read_text())
    reporter = next(n for n in final["status"]["nodes"].values()
                    if n["templateName"] == "progress")
    assert (reporter["displayName"], reporter["phase"]) == ("hooks.progress", "Succeeded")


def test_info_verbosity_runs_no_progress_reporter(tmp_path: Path) -> None:
    catalog = load_algorithms([ALGS])
    data = json.loads(pipeline(tmp_path, "http://example.com").read_text())
    manifests = compile_manifests(validate_descriptor(Descriptor(data, Source("x")),
                                                      catalog).plan)
    assert "progress" not in {t["name"] for t in manifests.workflow["spec"]["templates"]}
    data["options"]["progressVerbosityLevel"] = "trace"
    manifests = compile_manifests(validate_descriptor(Descriptor(data, Source("x")),
                                                      catalog).plan)
    (reporter,) = [t for t in manifests.workflow["spec"]["templates"]
                   if t["name"] == "progress"]
    assert "daemon" not in reporter  # Argo v3.7+ would mark its end Failed
    # a workflow-level hook: the exit handler waits for it, and a failed hook never fails
    # the workflow (operator.go operate judges the entry node and the exit handler only)
    assert manifests.workflow["spec"]["hooks"]["progress"] == {
        "template": "progress", "expression": 'workflow.status == "Running"'}
    assert all(t["name"] != "progress" for tpl in manifests.workflow["spec"]["templates"]
               if "dag" in tpl for t in tpl["dag"]["tasks"])
    assert lint.lint(manifests.documents()) == []


# --- a stopped run is reported stopped (runtime/shutdown.py) ------------------------------


def _send_exit_hook(tmp_path: Path, url: str, workflow: dict | None, failures: str,
                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The exit hook's webhooks step as Argo runs it after a stop: workflow.status is
    Failed (Argo has no Stopped phase)."""
    from hkube2argo.runtime import layout, webhooks
    from hkube2argo.runtime.values import encode_raw

    root = tmp_path / "h2a"
    (root / layout.RAW_DIR).mkdir(parents=True)
    (root / layout.RAW_DIR / "webhooks").write_text(encode_raw({
        "pipeline": "hooked", "progress": f"{url}/progress", "result": f"{url}/result",
        "verbosity": "info", "nodes": {"Split": "Split"}}))
    monkeypatch.setenv(layout.ROOT_ENV, str(root))
    monkeypatch.setenv("H2A_JOB_ID", "hooked-abcde")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    if workflow is not None:
        (tmp_path / "wf.json").write_text(json.dumps(workflow))
        monkeypatch.setenv("H2A_WORKFLOW_FILE", str(tmp_path / "wf.json"))
    else:
        monkeypatch.delenv("H2A_WORKFLOW_FILE", raising=False)
    assert webhooks.send("Failed", failures) == 0


def test_a_stopped_run_posts_stopped(tmp_path: Path, receiver,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    url, got = receiver
    stopped = {"spec": {"shutdown": "Stop"}, "status": {"phase": "Running"}}
    _send_exit_hook(tmp_path, url, stopped, "", monkeypatch)
    assert [(p, b["status"]) for p, b in got] == [("/progress", "stopped"),
                                                   ("/result", "stopped")]
    assert all("error" not in b and "nodeName" not in b for _, b in got)
    assert got[0][1]["level"] == "info"


def test_a_failed_run_is_still_failed(tmp_path: Path, receiver,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    url, got = receiver
    failures = json.dumps([{"displayName": "Split", "message": "main: Error (exit code 3): "
                                                               "Split failed: boom",
                            "phase": "Failed"}])
    _send_exit_hook(tmp_path, url, {"spec": {}, "status": {}}, failures, monkeypatch)
    assert [b["status"] for _, b in got] == ["failed", "failed"]


def test_without_the_workflow_argo_s_stop_wording_tells(tmp_path: Path, receiver,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """exec_control.go: a pod Argo stopped is failed with "workflow shutdown with
    strategy:  Stop" (two spaces, as Argo writes it)."""
    url, got = receiver
    failures = json.dumps([{"displayName": "Split",
                            "message": "workflow shutdown with strategy:  Stop",
                            "phase": "Failed"}])
    _send_exit_hook(tmp_path, url, None, failures, monkeypatch)
    assert [b["status"] for _, b in got] == ["stopped", "stopped"]


def test_failure_webhook_names_the_batch_beyond_tolerance_not_an_item(tmp_path: Path,
                                                                       receiver) -> None:
    # Argo's workflow.failures lists the failed items (tolerated, and first to end), their
    # Retry and loop nodes and the DAG, quoted, in random order: the cause is the judge's
    data = {"name": "judged", "webhooks": {"result": f"{receiver[0]}/result"},
            "options": {"batchTolerance": 50},
            "flowInput": {"items": [{"raise": "first"}, {"value": 2}, {"crash": True}]},
            "nodes": [{"nodeName": "Items", "algorithmName": "probe",
                       "input": ["#@flowInput.items"], "retry": {"policy": "OnCrash",
                                                                "limit": 1}},
                      {"nodeName": "Sum", "algorithmName": "echo", "input": ["@Items"]}]}
    path = tmp_path / "judged.json"
    path.write_text(json.dumps(data))
    result = Runner(tmp_path / "s", workers=2).start(path, [E2E_ALGS], StorageSpec())
    assert result.status == "failed"
    (doc,) = [b for p, b in receiver[1] if p == "/result"]
    assert doc["nodeName"] == "Items"
    assert doc["error"].startswith("2/3 (67%) failed tasks, batch tolerance is 50%, error: ")
