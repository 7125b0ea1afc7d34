"""Argo's daemon containers on the local runner, and the live Workflow file they read.

A compiled pipeline gets one extra daemon task (as the compiler once added its progress
reporter): a probe script that copies ``H2A_WORKFLOW_FILE`` every 0.1 s and logs what
happens to it. Timeouts here are hang guards only; nothing asserts how fast anything is.
A ``Gate`` algorithm waits until the probe has seen it Running, so that observation is a
handshake, not a race.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hkube2argo.runner import daemons, livestate, run, support
from hkube2argo.runner.run import Runner, RunResult, StorageSpec
from hkube2argo.runner.tags import Unsupported
from tests.conftest import EXAMPLES
from tests.test_webhooks import pipeline as hooked_pipeline

SHARED_ALGS = EXAMPLES / "algorithms"
GUARD = 180.0  # seconds: only against hangs

PROBE = r'''
import signal, sys

signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))  # "bye" only once logging works
import json, os, time

out, mode, flag = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(os.path.join(out, "copies"), exist_ok=True)


def log(line):
    with open(os.path.join(out, "log"), "a") as handle:
        handle.write(line + "\n")


log(f"pid {os.getpid()}")
log("file " + os.environ.get("H2A_WORKFLOW_FILE", ""))
log("namespace " + os.environ.get("PROBE_NAMESPACE", ""))
if mode == "crash":
    sys.exit(7)
if mode == "done":
    sys.exit(0)


def on_term(*_):
    if mode == "stubborn":
        log("term ignored")
        return
    log("bye")
    sys.exit(3)  # not 0: the run must not mind


signal.signal(signal.SIGTERM, on_term)
end = time.monotonic() + 120  # never outlive a broken test
n = 0
while time.monotonic() < end:
    try:
        with open(os.environ["H2A_WORKFLOW_FILE"], encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        text = ""
    if text:
        n += 1
        with open(os.path.join(out, "copies", f"{n:05d}.json"), "w") as handle:
            handle.write(text)
        nodes = json.loads(text)["status"]["nodes"].values()
        if flag != "-" and any(node["displayName"] == "Gate" and node["phase"] == "Running"
                               for node in nodes):
            open(flag, "w").close()
    time.sleep(0.1)
log("timeout")
'''

GATE = '''
import os
import time


def start(args):
    flag, hold = args["input"]
    end = time.monotonic() + 60
    while not os.path.exists(flag):
        if time.monotonic() > end:
            raise RuntimeError("the probe never saw Gate running")
        time.sleep(0.05)
    time.sleep(hold)  # a deadline test holds the DAG open
    return 3
'''


@pytest.fixture
def gated(tmp_path: Path) -> tuple[Path, list[Path], Path]:
    """Gate (waits for the flag file) -> Split -> Double (a loop of 3): the pipeline, its
    algorithm folders and the flag."""
    algs = tmp_path / "algs"
    (algs / "gate").mkdir(parents=True)
    (algs / "gate" / "gate.py").write_text(GATE)
    (algs / "gate.yaml").write_text("name: gate\nenv: python\nresources: {cpu: 0.1, mem: 128Mi}\n"
                                    "code: {path: gate, entryPoint: gate.py}\n")
    flag = tmp_path / "seen"
    path = tmp_path / "gated.json"
    path.write_text(json.dumps({
        "name": "gated", "flowInput": {"flag": str(flag), "hold": 0},
        "nodes": [
            {"nodeName": "Gate", "algorithmName": "gate",
             "input": ["@flowInput.flag", "@flowInput.hold"]},
            {"nodeName": "Split", "algorithmName": "split", "input": ["@Gate"]},
            {"nodeName": "Double", "algorithmName": "double", "input": ["#@Split"]}]}))
    return path, [algs, SHARED_ALGS], flag


@pytest.fixture
def with_daemon(monkeypatch: pytest.MonkeyPatch, tmp_path: Path
                ) -> Callable[..., Path]:
    """``with_daemon(mode, flag)``: every workflow compiled from now on gets a daemon task
    running the probe (and a task skipped by ``when``); returns the probe's folder."""
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    out = tmp_path / "probe"
    real = run.compile_manifests

    def install(mode: str = "polite", flag: Path | None = None,
                deadline: int | None = None, broken: bool = False,
                tolerated: bool = False) -> Path:
        def compile_with_daemon(*args: Any, **kwargs: Any) -> Any:
            manifests = real(*args, **kwargs)
            spec = manifests.workflow["spec"]
            spec["templates"].append({
                "name": "probe", "daemon": True,
                "inputs": {"parameters": [{"name": "task"}]},
                "container": {"image": "python:3.11",
                              "command": ["python3", str(script), str(out), mode,
                                          str(flag or "-")],
                              "env": [{"name": "PROBE_NAMESPACE",
                                       "value": "{{workflow.namespace}}"}]}})
            entry = next(t for t in spec["templates"] if t["name"] == spec["entrypoint"])
            probe = {"name": "probe", "template": "probe",
                     "arguments": {"parameters": [{"name": "task", "value": "probe"}]}}
            if tolerated:
                probe["continueOn"] = {"failed": True, "error": True}
            entry["dag"]["tasks"][:0] = [
                probe,
                {"name": "never", "template": "results", "when": "1 > 2",
                 "arguments": {"parameters": [{"name": "task", "value": "results"}]}}]
            if deadline is not None:
                spec["activeDeadlineSeconds"] = deadline
            if broken:  # a required input that does not exist: it cannot start
                spec["templates"][-1]["inputs"]["artifacts"] = [
                    {"name": "missing", "path": "/tmp/h2a/missing", "s3": {"key": "no/such"}}]
            return manifests

        monkeypatch.setattr(run, "compile_manifests", compile_with_daemon)
        return out

    return install


def guarded(start: Callable[[], RunResult]) -> RunResult:
    """Run in a thread: a hang fails the test instead of stalling the suite."""
    box: list[Any] = []

    def go() -> None:
        try:
            box.append(start())
        except BaseException as exc:  # re-raised below, in the test's thread
            box.append(exc)

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    thread.join(GUARD)
    assert not thread.is_alive(), "the run hung"
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


def probe_log(out: Path) -> list[str]:
    log = out / "log"
    return log.read_text().splitlines() if log.is_file() else []


def copies(out: Path) -> Iterator[dict[str, Any]]:
    for path in sorted((out / "copies").glob("*.json")):
        yield json.loads(path.read_text())  # every copy parses: the file is replaced whole


def probe_running(out: Path) -> bool:
    """Is any process running the probe script? (/proc: Linux, as the runner's process
    groups are POSIX.)"""
    script = str(out.parent / "probe.py").encode()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if script in cmdline.read_bytes():
                return True
        except OSError:
            continue  # ended meanwhile
    return False


def pid_gone(out: Path) -> bool:
    pid = int(next(line for line in probe_log(out) if line.startswith("pid ")).split()[1])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_daemon_beside_one_worker_reads_the_live_workflow(tmp_path: Path, gated,
                                                          with_daemon) -> None:
    pipeline, algorithms, flag = gated
    out = with_daemon("polite", flag)
    result = guarded(lambda: Runner(tmp_path / "state", workers=1).start(
        pipeline, algorithms, StorageSpec()))
    # (a) one worker, a daemon that never ends by itself: the DAG still ran to the end
    assert result.status == "completed", result.error
    assert [e["result"] for e in result.document["data"]] == [0, 2, 4]
    # (b, c) told to stop when the DAG ended; its exit code 3 changed nothing
    log = probe_log(out)
    assert "bye" in log and "timeout" not in log and pid_gone(out)
    live_file = result.folder / livestate.FILE
    assert f"file {live_file}" in log and live_file.is_absolute()
    assert "namespace local" in log
    # (d) during the run, the daemon saw Gate running (the gate opened only then)
    seen = list(copies(out))
    assert any(n["displayName"] == "Gate" and n["phase"] == "Running" and n["type"] == "Pod"
               for c in seen for n in c["status"]["nodes"].values())
    assert all(c["status"]["phase"] == "Running" for c in seen)
    final = json.loads(live_file.read_text())
    assert final["apiVersion"] == "argoproj.io/v1alpha1" and final["kind"] == "Workflow"
    assert final["metadata"]["name"] == result.job_id
    assert final["metadata"]["namespace"] == "local"
    assert final["metadata"]["labels"]["hkube2argo.io/pipeline"] == "gated"
    assert final["spec"]["entrypoint"] == "pipeline"
    status = final["status"]
    assert status["phase"] == "Succeeded"
    assert status["startedAt"].endswith("Z") and status["finishedAt"].endswith("Z")
    nodes = {n["displayName"]: n for n in status["nodes"].values()}
    pods = {d: n for d, n in nodes.items() if n["type"] == "Pod"}
    assert all(n["phase"] == "Succeeded" and n["finishedAt"] for n in pods.values())
    assert {"prepare", "Gate", "Split", "Double(0:1)", "Double(1:2)", "Double(2:3)", "results",
            "probe"} <= set(pods)
    params = {d: {p["name"]: p["value"] for p in n["inputs"]["parameters"]}
              for d, n in pods.items()}
    assert params["Gate"] == {"task": "Gate", "index": "0"}
    assert [params[f"Double({i}:{i + 1})"] for i in range(3)] == [
        {"task": "Double", "index": str(i + 1)} for i in range(3)]
    assert pods["Double(1:2)"]["name"] == f"{result.job_id}.Double(1:2)"
    assert pods["Double(1:2)"]["templateName"].startswith("alg-double")
    assert pods["probe"]["templateName"] == "probe"  # the daemon, Succeeded once stopped
    assert any(c["status"]["nodes"][pods["probe"]["id"]]["phase"] == "Running" for c in seen)
    never = nodes["never"]
    assert (never["type"], never["phase"], never["templateName"]) == \
        ("Skipped", "Skipped", "results")
    assert never["message"] == "when '1 > 2' evaluated false"
    assert len({n["id"] for n in status["nodes"].values()}) == len(status["nodes"])


def test_a_daemon_ignoring_sigterm_is_killed(tmp_path: Path, gated, with_daemon,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(daemons, "GRACE", 1.0)  # Argo's rule, a shorter wait
    pipeline, algorithms, flag = gated
    out = with_daemon("stubborn", flag)
    result = guarded(lambda: Runner(tmp_path / "state", workers=2).start(
        pipeline, algorithms, StorageSpec()))
    assert result.status == "completed", result.error
    log = probe_log(out)
    assert "term ignored" in log and "bye" not in log and "timeout" not in log
    assert pid_gone(out)
    final = json.loads((result.folder / livestate.FILE).read_text())
    probe = next(n for n in final["status"]["nodes"].values() if n["templateName"] == "probe")
    assert probe["phase"] == "Succeeded"  # killed, and still Succeeded (as on Argo)


@pytest.mark.parametrize(("mode", "message"), [("crash", "main: Error (exit code 7)"),
                                             ("done", "")])
@pytest.mark.parametrize("tolerated", [False, True])
def test_a_daemon_ending_by_itself_fails_its_task(tmp_path: Path, gated, with_daemon,
                                                  mode: str, message: str,
                                                  tolerated: bool) -> None:
    """Argo v3.7+: a daemon pod that ends by itself is Failed, even with exit code 0
    (operator.go assessNodeStatus); its task then fails the DAG like any task, unless
    it has continueOn."""
    pipeline, algorithms, flag = gated
    flag.touch()  # the gate is open: nobody needs to watch
    with_daemon(mode, tolerated=tolerated)  # ends at once, while the DAG has barely begun
    result = guarded(lambda: Runner(tmp_path / "state", workers=2).start(
        pipeline, algorithms, StorageSpec()))
    final = json.loads((result.folder / livestate.FILE).read_text())
    probe = next(n for n in final["status"]["nodes"].values() if n["templateName"] == "probe")
    assert probe["phase"] == "Failed" and probe.get("message", "") == message
    if tolerated:
        assert result.status == "completed", result.error
        assert [e["result"] for e in result.document["data"]] == [0, 2, 4]
    else:
        assert result.status == "failed"
        assert f"child 'probe' failed: {message}" in (result.error or "")


def test_a_daemon_that_cannot_start_errs(tmp_path: Path, gated, with_daemon) -> None:
    """An input artifact that cannot be loaded fails Argo's init container: the node is
    in Error (operator.go inferFailedReason), and so is its task."""
    pipeline, algorithms, flag = gated
    flag.touch()
    out = with_daemon("polite", broken=True, tolerated=True)
    result = guarded(lambda: Runner(tmp_path / "state", workers=1).start(
        pipeline, algorithms, StorageSpec()))
    assert result.status == "completed", result.error
    assert not (out / "log").exists()  # it never ran
    final = json.loads((result.folder / livestate.FILE).read_text())
    probe = next(n for n in final["status"]["nodes"].values() if n["templateName"] == "probe")
    assert probe["phase"] == "Error" and "did not start" in probe["message"]


def test_deadline_stops_the_daemon(tmp_path: Path, gated, with_daemon) -> None:
    pipeline, algorithms, flag = gated
    out = with_daemon("polite", flag, deadline=3)  # Gate holds the DAG open past it
    result = guarded(lambda: Runner(tmp_path / "state", workers=1).start(
        pipeline, algorithms, StorageSpec(), overrides={"hold": 60}))
    assert result.status == "failed" and "expired" in (result.error or "")
    assert not probe_running(out)
    if flag.exists():  # the probe got that far (it nearly always does in 3 s): it said bye
        assert "bye" in probe_log(out)
    final = json.loads((result.folder / livestate.FILE).read_text())
    assert final["status"]["phase"] == "Failed"


@pytest.fixture
def server() -> Iterator[tuple[str, list[tuple[str, Callable[[], bool]]]]]:
    """An HTTP receiver for the webhooks; for each POST it records the path and the
    answer of the test's ``check`` at that moment (``server[1]`` holds the check)."""
    posts: list[tuple[str, bool]] = []
    check: list[Callable[[], bool]] = [lambda: False]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            posts.append((self.path, check[0]()))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_address[1]}", posts, check  # type: ignore[misc]
    http.shutdown()


@pytest.mark.parametrize("fail", [False, True])
def test_exit_hook_runs_after_the_daemon_is_gone(tmp_path: Path, with_daemon, server,
                                                 fail: bool) -> None:
    url, posts, check = server
    out = with_daemon("polite")
    check[0] = lambda: not probe_running(out)
    result = guarded(lambda: Runner(tmp_path / "state", workers=2).start(
        hooked_pipeline(tmp_path, url, fail=fail), [SHARED_ALGS], StorageSpec()))
    assert result.status == ("failed" if fail else "completed")
    if fail:
        assert result.node == "Split"  # the real failure, never the daemon
    assert [gone for path, gone in posts if path == "/result"] == [True]
    final = json.loads((result.folder / livestate.FILE).read_text())
    exit_node = next(n for n in final["status"]["nodes"].values()
                     if n["displayName"] == "onExit")
    assert exit_node["name"] == f"{result.job_id}.onExit" and exit_node["phase"] == "Succeeded"
    assert final["status"]["phase"] == ("Failed" if fail else "Succeeded")


def _workflow(templates: list[dict[str, Any]]) -> dict[str, Any]:
    return {"spec": {"entrypoint": "main", "templates": templates}}


def test_support_accepts_daemon_on_containers_only() -> None:
    container = {"image": "python:3.11", "command": ["python3", "-m", "hkube2argo.runtime",
                                                    "progress"]}
    dag = {"name": "main", "dag": {"tasks": [{"name": "progress", "template": "progress"}]}}
    support.check(_workflow([dag, {"name": "progress", "daemon": True,
                                   "container": container}]))
    with pytest.raises(Unsupported, match=r"template main: daemon \(not implemented"):
        support.check(_workflow([{**dag, "daemon": True}]))
    with pytest.raises(Unsupported, match="template progress: daemon command"):
        support.check(_workflow([dag, {"name": "progress", "daemon": True,
                                       "container": {**container, "command": ["sh"]}}]))


def test_no_daemon_no_live_file(tmp_path: Path) -> None:
    """A workflow without daemons pays nothing: no file, no writer."""
    result = Runner(tmp_path / "state", workers=2).start(
        EXAMPLES / "numbers" / "numbers.yaml", [EXAMPLES / "numbers" / "algorithms"],
        StorageSpec())
    assert result.status == "completed"
    assert not (result.folder / livestate.FILE).exists()
