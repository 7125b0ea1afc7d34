"""The local runner under faults (issue 12, E-I): algorithms that ignore their ttl, leave
processes behind or return what JSON cannot hold; the warm-worker server killed; two
resumes of one job at once; the S3 store cut or frozen mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hkube2argo.config import DEFAULT, ClusterConfig
from hkube2argo.runner.run import Runner, RunResult, StorageSpec

from .conftest import ALGORITHMS, PIPELINES, describe
from .tcpproxy import TcpProxy

LINUX = sys.platform.startswith("linux")


def pipeline(tmp_path: Path, how: Any, ttl: int | None = None,
             retry: dict[str, Any] | None = None, name: str = "misbehave") -> Path:
    """One node ``Act`` running the misbehave algorithm with ``how`` as its input."""
    node: dict[str, Any] = {"nodeName": "Act", "algorithmName": "misbehave",
                            "input": ["@flowInput.how"]}
    if ttl is not None:
        node["ttl"] = ttl
    if retry is not None:
        node["retry"] = retry
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"name": name, "nodes": [node], "flowInput": {"how": how}}),
                    encoding="utf-8")
    return path


def go(tmp_path: Path, path: Path, config: ClusterConfig = DEFAULT, warm: bool = True,
       storage: StorageSpec | None = None) -> RunResult:
    return Runner(tmp_path / "state", 2, config=config, warm=warm).start(
        path, [ALGORITHMS], storage or StorageSpec())


def attempts(result: RunResult, task: str = "Act") -> int:
    """How many times the task's container ran (one folder per attempt)."""
    return len(list((result.folder / "tasks").glob(f"*{task}*/attempt-*")))


# --- H: a ttl expiry is a ttl expiry, an unserialisable result an algorithm error ------------


def test_algorithm_that_ignores_its_ttl_fails_as_a_ttl_expiry(tmp_path: Path) -> None:
    """It ignores SIGALRM and swallows every exception: the wrapper's watchdog records the
    expiry (exit 3) long before the container's deadline (ttl + 60 s), and the default
    policy (OnCrash) does not retry it."""
    result = go(tmp_path, pipeline(tmp_path, {"ignore_alarm": 300}, ttl=1))
    assert result.status == "failed", describe(result)
    assert result.node == "Act"
    assert result.error == "Algorithm TTL expired"
    assert attempts(result) == 1


@pytest.mark.skipif(not LINUX, reason="holds the GIL through libc's sleep")
@pytest.mark.parametrize(("policy", "runs"), [("OnCrash", 1), ("OnError", 2)])
def test_ttl_backstop_is_retried_as_a_ttl_expiry(tmp_path: Path, policy: str,
                                                  runs: int) -> None:
    """An algorithm that holds the GIL is killed at the template's activeDeadlineSeconds
    (the backstop, ttl + ttl_grace): retried as a ttl expiry is (OnError), not as a crash."""
    config = DEFAULT.with_overrides(ttl_grace=1)
    result = go(tmp_path, pipeline(tmp_path, {"hold_gil": 300}, ttl=1,
                                   retry={"policy": policy, "limit": 1}), config)
    assert result.status == "failed", describe(result)
    assert result.error.startswith("Algorithm TTL expired"), result.error
    assert attempts(result) == runs


def test_unserialisable_result_is_an_algorithm_error(tmp_path: Path) -> None:
    result = go(tmp_path, pipeline(tmp_path, {"deep": 100_000}))
    assert result.status == "failed", describe(result)
    assert result.error == "the result is not JSON-serialisable: it is nested too deeply"
    assert attempts(result) == 1  # OnCrash: an algorithm error is not retried


@pytest.mark.parametrize(("policy", "retried"), [
    ("OnCrash", {"crash": True, "error": False, "deadline": False}),
    ("OnError", {"crash": False, "error": True, "deadline": True}),
    ("Always", {"crash": True, "error": True, "deadline": True}),
])
def test_emitted_retry_expression_reads_the_deadline_as_a_ttl_expiry(
        tmp_path: Path, policy: str, retried: dict[str, bool]) -> None:
    """The compiled retryStrategy, judged as Argo judges it (tags.retry_verdict follows
    processNodeRetries): a pod killed at its deadline (no exit code: -1; the kubelet's
    message) goes the way of the wrapper's own ttl expiry (exit 3)."""
    from hkube2argo import api
    from hkube2argo.runner import tags
    from hkube2argo.runtime.algorithm import POD_DEADLINE_MESSAGE

    manifests = api.compile(pipeline(tmp_path, 1, ttl=5, retry={"policy": policy,
                                                                "limit": 2}), [ALGORITHMS])
    workflow = next(m for m in manifests if m["kind"] == "Workflow")
    template = next(t for t in workflow["spec"]["templates"] if "retryStrategy" in t
                    and t.get("activeDeadlineSeconds"))
    assert template["activeDeadlineSeconds"] == "65"
    strategy = template["retryStrategy"]
    attempt = {"crash": (137, "main: Error (exit code 137)"),
               "error": (3, "main: Error (exit code 3): Act failed: boom"),
               "deadline": (-1, POD_DEADLINE_MESSAGE)}
    judged = {k: tags.retry_verdict(strategy, 0, code, "Failed", message)[0]
              for k, (code, message) in attempt.items()}
    assert judged == retried
    assert tags.retry_verdict(strategy, 0, 4, "Failed")[0] is False  # beyond tolerance


# --- E: the warm-worker server killed mid-run -------------------------------------------------


def _zygotes() -> list[int]:
    """The warm-worker servers this test process started."""
    from hkube2argo.runner.reaper import children

    found = []
    for pid in children():
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"hkube2argo.runner.zygote" in command:
            found.append(pid)
    return found


def _kill_zygote_after(state: Path, finished: int) -> threading.Thread:
    """Once ``finished`` tasks are journalled, SIGKILL the warm-worker server."""

    def kill() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            journals = list(state.glob("jobs/*/journal.jsonl"))
            if journals and journals[0].read_text(encoding="utf-8").count("\n") >= finished:
                for pid in _zygotes():
                    os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.01)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


@pytest.mark.skipif(not LINUX, reason="finds the server through /proc")
@pytest.mark.parametrize("restarts", [3, 0], ids=["restarted", "cold-fallback"])
def test_killed_warm_worker_server_does_not_end_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restarts: int) -> None:
    """The server is started again (or, when it may not be, the remaining tasks run
    cold) and the run completes with the data of an undisturbed run."""
    from hkube2argo.runner import zygote

    monkeypatch.setattr(zygote, "RESTARTS", restarts)
    items = [{"sleep": 0.2, "value": i} for i in range(8)]
    killer = _kill_zygote_after(tmp_path / "state", 2)
    result = Runner(tmp_path / "state", 2).start(PIPELINES / "resume.yaml", [ALGORITHMS],
                                                 StorageSpec(), flow_input={"items": items})
    killer.join()
    assert result.status == "completed", describe(result)
    assert result.document["data"] == [{"nodeName": "Total", "algorithmName": "echo",
                                        "result": [list(range(8))]}]


def test_warm_worker_server_that_cannot_start_is_not_a_crash(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hkube2argo.runner import zygote

    def broken(self: zygote.WarmPool) -> None:
        raise RuntimeError("the warm worker pool did not start")

    monkeypatch.setattr(zygote.WarmPool, "_start", broken)
    result = go(tmp_path, pipeline(tmp_path, {"value": 7}))
    assert result.status == "completed", describe(result)
    assert result.document["data"][0]["result"] == {"value": 7}


# --- G: nothing an algorithm starts outlives its task -----------------------------------------


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not LINUX, reason="a child that calls setsid is found by a subreaper")
@pytest.mark.parametrize("mode", ["warm", "cold", "no-pool"])
@pytest.mark.parametrize("kind", ["plain", "setsid"])
def test_forking_algorithm_leaves_nothing_behind(tmp_path: Path, kind: str, mode: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Warm tasks, cold ones (both supervised by the pool's handlers) and tasks run by the
    stand-alone supervisor when the pool is unavailable."""
    from hkube2argo.runner import zygote

    if mode == "no-pool":
        def unavailable(*_: Any, **__: Any) -> int:
            raise zygote.Unavailable("test")

        monkeypatch.setattr(zygote.WarmPool, "run", unavailable)
    pids = tmp_path / "pids.txt"
    result = go(tmp_path, pipeline(tmp_path, {"fork": kind, "pids": str(pids)}),
                warm=mode == "warm")
    left = [int(p) for p in pids.read_text(encoding="utf-8").split()]
    try:
        assert result.status == "completed", describe(result)
        assert len(left) == 1
        assert not [p for p in left if _alive(p)], "the algorithm's child outlived its task"
    finally:
        for pid in left:  # only what this test's algorithm started
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


# --- F: one runner per job; temp files unique per writer ------------------------------------


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "hkube2argo", "run", *args]


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _wait_for(condition: Any, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert proc is None or proc.poll() is None, f"ended before {what}"
        assert time.monotonic() < deadline, f"no {what} in time"
        time.sleep(0.02)


def test_second_runner_of_a_job_is_refused(tmp_path: Path) -> None:
    """A resume while the job runs, then two resumes at once of the killed job: one runs,
    the other is told which process does; every item runs once. The items wait at a gate
    the test opens, so the order of events does not depend on timing."""
    state, marker, gate = tmp_path / "state", tmp_path / "marker.txt", tmp_path / "gate"
    items = [{"gate": str(gate), "append": str(marker), "value": i} for i in range(6)]
    path = tmp_path / "gated.json"
    path.write_text(json.dumps({"name": "gated", "flowInput": {"items": items}, "nodes": [
        {"nodeName": "Work", "algorithmName": "misbehave", "input": ["#@flowInput.items"]},
        {"nodeName": "Total", "algorithmName": "echo", "input": ["@Work"]}]}),
        encoding="utf-8")
    first = subprocess.Popen(_cli(str(path), "-a", str(ALGORITHMS), "--state", str(state)),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        _wait_for(lambda: list(state.glob("jobs/*/journal.jsonl")), "prepare step", first)
        job = next((state / "jobs").iterdir()).name
        during = subprocess.run(_cli("--resume", job, "--state", str(state)),
                                capture_output=True, text=True, timeout=60, check=False)
        assert during.returncode != 0
        assert f"job {job} is already running (pid {first.pid})" in during.stderr
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    resumes = [subprocess.Popen(_cli("--resume", job, "--state", str(state), "--workers", "2"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    try:
        _wait_for(lambda: any(p.poll() is not None for p in resumes), "refused resume")
        loser = next(p for p in resumes if p.poll() is not None)
        winner = next(p for p in resumes if p is not loser)
        _, said = loser.communicate(timeout=10)
        assert loser.returncode != 0
        assert f"job {job} is already running (pid {winner.pid})" in said, said
        gate.touch()
        out, err = winner.communicate(timeout=120)
        assert winner.returncode == 0, err
    finally:
        for proc in resumes:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert json.loads(out)["data"] == [{"nodeName": "Total", "algorithmName": "echo",
                                        "result": [list(range(6))]}]
    assert sorted(_lines(marker)) == [f"Work {i}" for i in range(1, 7)]  # each item once


def test_concurrent_writers_of_one_key_do_not_collide(tmp_path: Path) -> None:
    from hkube2argo.runner.store import LocalStore

    store = LocalStore(tmp_path, "bucket")
    failures: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(200):
                store.put("code/same.tar.gz", f"{n}-{i}".encode())
        except BaseException as exc:  # collected for the assertion
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[:3]
    assert store.get("code/same.tar.gz").decode().endswith("-199")
    assert store.list("code") == ["code/same.tar.gz"]
    assert [p.name for p in (tmp_path / "bucket" / "code").iterdir()] == ["same.tar.gz"]


# --- I: the S3 store cut or frozen mid-run ------------------------------------------------------


ACCESS, SECRET = "h2a-access", "h2a-secret"


def _marked_items(tmp_path: Path, ttl: int | None = None) -> tuple[Path, Path]:
    """A batch whose items mark a file when they start, then a node over all of them."""
    mark = tmp_path / "started"
    items = [{"mark": str(mark), "sleep": 0.3, "value": i} for i in range(6)]
    descriptor: dict[str, Any] = {"name": "stored", "flowInput": {"items": items}, "nodes": [
        {"nodeName": "Work", "algorithmName": "misbehave", "input": ["#@flowInput.items"]},
        {"nodeName": "Total", "algorithmName": "misbehave", "input": ["@Work"]}]}
    if ttl is not None:
        descriptor["options"] = {"ttl": ttl}
    path = tmp_path / "stored.json"
    path.write_text(json.dumps(descriptor), encoding="utf-8")
    return path, mark


def _when_started(mark: Path, fault: Any) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + 60
        while not mark.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        fault()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def proxy(s3_port: int) -> Iterator[TcpProxy]:
    """A TCP proxy in front of the session's moto server."""
    front = TcpProxy(s3_port)
    try:
        yield front
    finally:
        front.close()


def test_s3_cut_mid_run_ends_the_run_and_the_job_resumes(
        tmp_path: Path, proxy: TcpProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    path, mark = _marked_items(tmp_path)
    storage = StorageSpec(bucket="h2a-faults-cut", endpoint=f"127.0.0.1:{proxy.port}")
    watcher = _when_started(mark, proxy.cut)
    runner = Runner(tmp_path / "state", 2)
    result = runner.start(path, [ALGORITHMS], storage)
    watcher.join()
    assert result.status == "failed", describe(result)
    where = f"S3 at http://127.0.0.1:{proxy.port}"
    assert result.error == (f"the storage failed: {where} is unreachable (the run's "
                            f"--endpoint); the job can be resumed (--resume "
                            f"{result.job_id}) once it is back")
    saved = json.loads((result.folder / "result.json").read_text(encoding="utf-8"))
    assert saved["status"] == "failed" and saved["error"] == result.error

    proxy.restore()
    resumed = runner.resume(result.job_id)
    assert resumed.status == "completed", describe(resumed)
    assert resumed.document["data"] == [{"nodeName": "Total", "algorithmName": "misbehave",
                                         "result": list(range(6))}]


def test_s3_frozen_mid_run_is_bounded_by_the_pipeline_ttl(tmp_path: Path,
                                                          proxy: TcpProxy) -> None:
    """The server accepts and never answers: the run ends at its ttl with HKube's reason
    (before: over 420 s, the client's own timeouts), and the job resumes afterwards."""
    path, mark = _marked_items(tmp_path, ttl=6)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": SECRET}
    state = tmp_path / "state"
    watcher = _when_started(mark, proxy.freeze)
    run = subprocess.run(
        _cli(str(path), "-a", str(ALGORITHMS), "--state", str(state), "--storage",
             "s3://h2a-faults-frozen", "--endpoint", f"127.0.0.1:{proxy.port}"),
        env=env, capture_output=True, text=True, timeout=120, check=False)
    watcher.join()
    assert proxy.frozen.is_set()
    assert run.returncode == 1, run.stderr
    document = json.loads(run.stdout)
    assert document["status"] == "failed"
    assert document["error"] == "pipeline expired (ttl 6 s)"
    assert "Traceback" not in run.stderr

    proxy.restore()
    resumed = subprocess.run(_cli("--resume", document["jobId"], "--state", str(state)),
                             env=env, capture_output=True, text=True, timeout=120,
                             check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["data"][0]["result"] == list(range(6))
