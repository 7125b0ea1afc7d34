"""The pod runner's kubelet behaviour, against a recording fake of the API (no cluster)."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "argohere"))

from kubeclient import ApiError
from podrunner import DEADLINE_MESSAGE, PodRunner, PodWorker

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or os.geteuid() != 0, reason="needs root on Linux (mount namespaces)")


class FakeApi:
    """Answers what a PodWorker asks and records every status it reports."""

    def __init__(self, objects: dict[str, Any]) -> None:
        self.objects = objects
        self.statuses: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.lock = threading.Lock()

    def get(self, path: str, **_: Any) -> Any:
        if path in self.objects:
            return self.objects[path]
        raise ApiError("GET", path, 404, {"message": "not found"})

    def post(self, path: str, body: Any) -> Any:
        if path.endswith("/token"):
            return {"status": {"token": "tok-" + body["spec"]["boundObjectRef"]["name"]}}
        raise AssertionError(path)

    def merge_patch(self, path: str, body: Any) -> Any:
        with self.lock:
            self.statuses.append(body["status"])
        return body

    def delete(self, path: str, body: Any = None) -> Any:
        self.deleted.append(path)
        return {}

    @property
    def last(self) -> dict[str, Any]:
        return self.statuses[-1]


def pod(containers: list[dict], init: list[dict] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "p1", "namespace": "ns", "uid": f"uid-{time.monotonic_ns()}",
                     "annotations": {"a": "b"}},
        "spec": {"nodeName": "argohere", "serviceAccountName": "sa", "restartPolicy": "Never",
                 "volumes": [
                     {"name": "work", "emptyDir": {}},
                     {"name": "cfg", "configMap": {"name": "cm"}},
                     {"name": "token", "projected": {"sources": [
                         {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
                         {"configMap": {"name": "cm", "items": [{"key": "k", "path": "k.txt"}]}},
                         {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                             "fieldPath": "metadata.namespace"}}]}}]}}],
                 "initContainers": init or [], "containers": containers, **spec},
    }


def sh(name: str, script: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "ignored", "command": ["/bin/sh", "-c"], "args": [script],
            "volumeMounts": [{"name": "work", "mountPath": "/work"},
                             {"name": "cfg", "mountPath": "/cfg"},
                             {"name": "token", "mountPath": "/var/run/secrets/x"}], **extra}


def run_pod(tmp_path: Path, p: dict[str, Any], timeout: float = 60,
            during: Any = None) -> FakeApi:
    api = FakeApi({"/api/v1/namespaces/ns/configmaps/cm": {"data": {"k": "v"}}})
    runner = PodRunner(api, "argohere", tmp_path, "/usr/bin:/bin", "127.0.0.1", 6443)  # type: ignore[arg-type]
    worker = PodWorker(runner, p)
    worker.start()
    if during:
        during(worker, api)
    worker.join(timeout)
    assert not worker.is_alive(), "the pod did not end"
    return api


def states(status: dict[str, Any], key: str = "containerStatuses") -> dict[str, Any]:
    return {c["name"]: c["state"] for c in status.get(key, [])}


def test_init_then_main_with_volumes_env_and_termination_message(tmp_path: Path) -> None:
    init = [sh("init", "echo from-init > /work/f && cat /cfg/k > /work/cfg")]
    main = [
        sh("main", 'for f in /work/f /work/cfg /var/run/secrets/x/token /var/run/secrets/x/k.txt '
                   '/var/run/secrets/x/namespace; do cat $f; echo; done; '
                   'echo "$POD $(pwd) $HOSTNAME"; '
                   'echo done > /dev/termination-log',
           workingDir="/w", env=[{"name": "POD", "valueFrom": {"fieldRef": {
               "fieldPath": "metadata.name"}}}]),
        sh("side", "exit 0"),
    ]
    p = pod(main, init)
    api = run_pod(tmp_path, p)
    last = api.last
    assert last["phase"] == "Succeeded"
    assert states(last, "initContainerStatuses")["init"]["terminated"]["reason"] == "Completed"
    term = states(last)["main"]["terminated"]
    assert term["exitCode"] == 0 and term["message"] == "done\n"
    pod_dir = tmp_path / "pods" / p["metadata"]["uid"]
    seen = (pod_dir / "containers" / "main" / "log").read_text()
    assert seen.split() == ["from-init", "v", "tok-p1", "v", "ns", "p1", "/w", "p1"]
    # a terminated pod's volumes and writable layers are freed; its logs stay
    assert not (pod_dir / "volumes").exists()
    assert not (pod_dir / "containers" / "main" / "upper").exists()
    phases = [s["phase"] for s in api.statuses]
    assert phases[0] == "Pending" and "Running" in phases


def test_failing_init_container_fails_the_pod_before_main(tmp_path: Path) -> None:
    api = run_pod(tmp_path, pod([sh("main", "exit 0")], [sh("init", "exit 7")]))
    assert api.last["phase"] == "Failed"
    assert states(api.last, "initContainerStatuses")["init"]["terminated"]["exitCode"] == 7
    assert "waiting" in states(api.last)["main"]


def test_a_non_zero_main_fails_the_pod_with_log_fallback(tmp_path: Path) -> None:
    api = run_pod(tmp_path, pod([sh("main", "echo boom; exit 3",
                                    terminationMessagePolicy="FallbackToLogsOnError")]))
    assert api.last["phase"] == "Failed"
    term = states(api.last)["main"]["terminated"]
    assert (term["exitCode"], term["reason"], term["message"]) == (3, "Error", "boom\n")


def test_active_deadline_kills_and_fails_the_pod(tmp_path: Path) -> None:
    api = run_pod(tmp_path, pod([sh("main", "sleep 60")], activeDeadlineSeconds=1,
                                terminationGracePeriodSeconds=1))
    assert (api.last["phase"], api.last["reason"], api.last["message"]) == (
        "Failed", "DeadlineExceeded", DEADLINE_MESSAGE)
    assert states(api.last)["main"]["terminated"]["exitCode"] == 143  # SIGTERM


def test_deletion_sends_sigterm_then_sigkill_and_deletes(tmp_path: Path) -> None:
    def delete_soon(worker: PodWorker, api: FakeApi) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not worker.procs:
            time.sleep(0.05)
        time.sleep(0.5)
        worker.request_delete(1)

    api = run_pod(tmp_path, pod([sh("main", "trap '' TERM; sleep 60")]), during=delete_soon)
    assert states(api.last)["main"]["terminated"]["exitCode"] == 137  # SIGKILL after grace
    assert api.deleted == ["/api/v1/namespaces/ns/pods/p1"]
