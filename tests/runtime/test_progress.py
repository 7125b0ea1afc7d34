"""The progress reporter (debug-level events): counting from a Workflow object, posting
only on change, and reading the Workflow from the Kubernetes API with the pod's token."""

from __future__ import annotations

import base64
import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hkube2argo.runtime import jobstatus, progress

CONFIG = {"pipeline": "numbers", "progress": "http://hook/progress",
          "nodes": {"Range": "Range", "Multiply": "Multiply", "Multiply--collect": "Multiply",
                    "Reduce": "Reduce"}}


def pod(task: str, phase: str, template: str, index: int = 0) -> dict[str, Any]:
    name = f"{task}({index - 1}:{index})" if index else task
    return {"type": "Pod", "phase": phase, "displayName": name, "templateName": template,
            "inputs": {"parameters": [{"name": "task", "value": task}]}}


def workflow(*pods: dict[str, Any], compressed: bool = False) -> dict[str, Any]:
    nodes = {f"n{i}": p for i, p in enumerate(pods)}
    if compressed:
        packed = base64.b64encode(gzip.compress(json.dumps(nodes).encode())).decode()
        return {"status": {"phase": "Running", "compressedNodes": packed}}
    return {"status": {"phase": "Running", "nodes": nodes}}


RUNNING = workflow(pod("prepare", "Succeeded", "prepare"), pod("Range", "Succeeded", "alg-range"),
                   pod("Multiply", "Succeeded", "alg-multiply", 1),
                   pod("Multiply", "Running", "alg-multiply", 2),
                   pod("progress", "Running", "progress"))


@pytest.mark.parametrize("compressed", [False, True])
def test_the_event_counts_hkube_tasks_only(compressed: bool) -> None:
    wf = RUNNING if not compressed else workflow(
        *RUNNING["status"]["nodes"].values(), compressed=True)
    body = progress.event(CONFIG, wf, "job-1")
    assert body["level"] == "debug" and body["status"] == "active"
    assert body["jobId"] == "job-1" and body["pipeline"] == "numbers"
    # Range + Multiply item 1 done, item 2 running, Reduce waiting: 2 of 4
    assert body["data"] == {"progress": 50.0,
                            "states": {"succeed": 2, "active": 1, "pending": 1},
                            "details": "50% completed, 2 succeed, 1 active, 1 pending"}


def test_reports_only_changes_and_survives_a_bad_read(capsys) -> None:
    later = json.loads(json.dumps(RUNNING))
    later["status"]["nodes"]["n3"]["phase"] = "Succeeded"
    reads: list[Any] = [RUNNING, OSError("connection refused"), RUNNING,
                        OSError("connection refused"), {"status": {"nodes": {"x": None}}},
                        later, later]
    stop = threading.Event()
    posted: list[dict[str, Any]] = []

    def fetch() -> dict[str, Any]:
        value = reads.pop(0) if reads else later  # after the stop: one last poll
        if not reads:
            stop.set()
        if isinstance(value, Exception):
            raise value
        return value

    progress.report(CONFIG, fetch, lambda url, body: posted.append(body), stop, "j",
                    interval=0)
    assert [b["data"]["states"] for b in posted] == [
        {"succeed": 2, "active": 1, "pending": 1}, {"succeed": 3, "pending": 1}]
    err = capsys.readouterr().err
    assert err.count("cannot read the workflow: OSError") == 1  # one kind of problem: once
    assert "AttributeError" in err  # a Workflow it cannot make sense of: reported, not fatal


def test_one_last_poll_after_the_stop() -> None:
    # stopped as the DAG ends: the tasks that ended since the last poll are still posted
    stop = threading.Event()
    stop.set()
    posted: list[dict[str, Any]] = []
    progress.report(CONFIG, lambda: RUNNING, lambda url, body: posted.append(body), stop, "j",
                    interval=0)
    assert [b["data"]["progress"] for b in posted] == [50.0]


def with_root(wf: dict[str, Any], phase: str, name: str = "job-1") -> dict[str, Any]:
    """``wf`` as Argo has it: named, with its root DAG node (id = the Workflow's name)."""
    out = json.loads(json.dumps(wf))
    out["metadata"] = {"name": name}
    out["status"]["nodes"][name] = {"id": name, "type": "DAG", "phase": phase,
                                    "displayName": name, "templateName": "pipeline"}
    return out


def test_ends_by_itself_once_the_dag_has_ended() -> None:
    """A lifecycle hook, not a daemon: nobody stops it; it ends when the root node is
    final, after posting the last counts (the exit handler waits for it)."""
    done = json.loads(json.dumps(RUNNING))
    done["status"]["nodes"]["n3"]["phase"] = "Succeeded"
    reads = [with_root(RUNNING, "Running"), with_root(done, "Running"),
             with_root(done, "Succeeded")]
    posted: list[dict[str, Any]] = []
    stop = threading.Event()  # set only if it polls on after the DAG has ended
    last = reads[-1]

    def fetch() -> dict[str, Any]:
        if not reads:
            stop.set()
            return last
        return reads.pop(0)

    assert progress.report(CONFIG, fetch, lambda url, body: posted.append(body), stop, "j",
                           interval=0) == 0
    assert not reads and not stop.is_set(), "polled after the DAG had ended"
    assert [b["data"]["states"] for b in posted] == [
        {"succeed": 2, "active": 1, "pending": 1}, {"succeed": 3, "pending": 1}]


@pytest.mark.parametrize("phase", ["Failed", "Error"])
def test_a_failed_workflow_ends_it_too(phase: str) -> None:
    wf = with_root(RUNNING, "Running")
    wf["status"]["phase"] = phase
    assert progress.dag_ended(wf)
    assert progress.dag_ended(with_root(RUNNING, phase))
    assert not progress.dag_ended(with_root(RUNNING, "Running"))
    assert not progress.dag_ended(RUNNING)  # no root node yet: still running


def test_gives_up_when_the_workflow_stays_unreadable(capsys) -> None:
    now = [0.0]

    def clock() -> float:
        now[0] += 10.0
        return now[0]

    def fetch() -> dict[str, Any]:
        raise PermissionError("forbidden")

    assert progress.report(CONFIG, fetch, lambda url, body: None, threading.Event(), "j",
                           interval=0, give_up=60.0, clock=clock) == 0
    err = capsys.readouterr().err
    assert "no readable workflow for 60 s" in err


def test_reads_its_workflow_from_the_kubernetes_api_with_the_pod_token(tmp_path: Path) -> None:
    seen: list[tuple[str, str | None]] = []

    class Api(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("Authorization")))
            data = json.dumps(RUNNING).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        account = tmp_path / "sa"
        account.mkdir()
        (account / "token").write_text("tok-1\n")
        url = f"http://127.0.0.1:{server.server_address[1]}/wf"
        fetch = progress.from_kubernetes({"H2A_WORKFLOW_URL": url}, account=str(account))
        assert fetch() == RUNNING
        (account / "token").write_text("tok-2")  # rotated: read again each time
        fetch()
    finally:
        server.shutdown()
    assert seen == [("/wf", "Bearer tok-1"), ("/wf", "Bearer tok-2")]


def test_the_in_cluster_address_names_our_namespace_and_workflow() -> None:
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443",
           "H2A_NAMESPACE": "team-a", "H2A_JOB_ID": "numbers-x7k2p"}
    assert progress.workflow_url(env) == ("https://10.0.0.1:443/apis/argoproj.io/v1alpha1/"
                                          "namespaces/team-a/workflows/numbers-x7k2p")
    env["KUBERNETES_SERVICE_HOST"] = "fd00::1"
    assert progress.workflow_url(env).startswith("https://[fd00::1]:443/")


def test_status_constants_agree_with_the_compiler() -> None:
    from hkube2argo import naming
    from hkube2argo.config import LABEL_DOMAIN
    from hkube2argo.emit import templates

    assert jobstatus.MARK == naming.RESERVED_MARK
    assert f"{LABEL_DOMAIN}/tasks" == jobstatus.TASKS_ANNOTATION
    assert {templates.WEBHOOKS, templates.PROGRESS} <= jobstatus.HELPER_TEMPLATES
    assert templates.PROGRESS in naming.RESERVED_TASKS
