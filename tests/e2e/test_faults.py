"""The local runner under faults (issue 12, E-I): algorithms that ignore their ttl, leave
processes behind or return what JSON cannot hold; the warm-worker server killed; two
resumes of one job at once; the S3 store cut or frozen mid-run."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from hkube2argo.config import DEFAULT, ClusterConfig
from hkube2argo.runner.run import Runner, RunResult, StorageSpec

from .conftest import ALGORITHMS, describe

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
