"""concurrentPipelines on this machine: the key set as on Argo, a missing key failing the run
with Argo's message, the limit and priority order honoured (runner/semaphores.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from hkube2argo.backends.embedded import EmbeddedBackend
from hkube2argo.runner import semaphores
from hkube2argo.runner.run import Runner, StorageSpec
from tests.conftest import EXAMPLES

NUMBERS = EXAMPLES / "numbers" / "numbers.yaml"
NUMBER_ALGS = EXAMPLES / "numbers" / "algorithms"
MESSAGE = ("Failed to acquire the synchronization lock. failed to initialize semaphore "
           "local/ConfigMap/hkube2argo-semaphores/numbers with limit")


def _limited(tmp_path: Path, amount: int = 1) -> Path:
    data = yaml.safe_load(NUMBERS.read_text())
    data["options"] = {"concurrentPipelines": {"amount": amount}}
    path = tmp_path / "numbers.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_run_without_its_key_fails_as_argo_fails_it(tmp_path: Path) -> None:
    runner = Runner(tmp_path / "state", workers=1, warm=False)
    result = runner.start(_limited(tmp_path), [NUMBER_ALGS], StorageSpec(),
                          set_semaphore=False)
    assert result.status == "failed" and result.error == MESSAGE
    assert result.document["error"] == MESSAGE
    job = tmp_path / "state" / "jobs" / result.job_id
    assert not (job / "tasks").exists()  # no step ran, not even the exit handler


@pytest.mark.parametrize("value", ["0", "two", "", "1.5"])
def test_a_value_argo_cannot_use_fails_too(tmp_path: Path, value: str) -> None:
    state = tmp_path / "state"
    semaphores.set_key(state.resolve(), "hkube2argo-semaphores", "numbers", value)
    result = Runner(state, workers=1, warm=False).start(
        _limited(tmp_path), [NUMBER_ALGS], StorageSpec(), set_semaphore=False)
    assert result.status == "failed" and result.error == MESSAGE


def test_run_sets_the_key_as_exec_raw_does(tmp_path: Path) -> None:
    state = tmp_path / "state"
    result = Runner(state, workers=2, warm=False).start(_limited(tmp_path, 2), [NUMBER_ALGS],
                                                        StorageSpec())
    assert result.status == "completed"
    assert semaphores.read_configmap(state.resolve(), "hkube2argo-semaphores") == \
        {"numbers": "2"}
    assert not list((state / "semaphores").rglob("*.json"))  # released


def test_embedded_store_sets_the_key(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path / "state")
    for name in ("range", "multiply", "reduce"):
        algorithm = yaml.safe_load((NUMBER_ALGS / f"{name}.yaml").read_text())
        backend.apply_algorithm(algorithm, str(NUMBER_ALGS / f"{name}.yaml"))
    data = yaml.safe_load(_limited(tmp_path, 3).read_text())
    backend.store_pipeline(data, "numbers.yaml")
    assert semaphores.read_configmap(backend.state, "hkube2argo-semaphores") == \
        {"numbers": "3"}


# --- the limit and the queue ------------------------------------------------------------------


def _workflow(priority: int = 0) -> dict[str, Any]:
    return {"spec": {"priority": priority, "synchronization": {"semaphores": [
        {"configMapKeyRef": {"name": "cm", "key": "p"}}]}}}


def _until(condition: Any, what: str) -> None:
    """Wait for another thread (not a timing assertion: only a hang guard)."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.02)


def _holders(state: Path) -> set[str]:
    return {p.stem for p in (state / "semaphores" / "cm" / "p" / "holders").glob("*.json")}


def _waiting(state: Path) -> set[str]:
    return {p.stem for p in (state / "semaphores" / "cm" / "p" / "waiting").glob("*.json")}


def test_limit_and_priority_order(tmp_path: Path) -> None:
    semaphores.set_key(tmp_path, "cm", "p", "1")
    first = semaphores.acquire(tmp_path, _workflow(), "first")
    locks: dict[str, semaphores.Lock] = {}

    def take(job: str, priority: int) -> None:
        locks[job] = semaphores.acquire(tmp_path, _workflow(priority), job)

    low = threading.Thread(target=take, args=("low", 1))
    low.start()
    _until(lambda: "low" in _waiting(tmp_path), "low waits")
    high = threading.Thread(target=take, args=("high", 5))
    high.start()
    _until(lambda: "high" in _waiting(tmp_path), "high waits")
    assert _holders(tmp_path) == {"first"}  # the limit holds them back
    first.release()
    high.join(60)
    assert _holders(tmp_path) == {"high"}  # higher priority first, though it came later
    assert "low" in _waiting(tmp_path)
    locks["high"].release()
    low.join(60)
    assert _holders(tmp_path) == {"low"}
    locks["low"].release()


def test_a_raised_limit_admits_the_next_run(tmp_path: Path) -> None:
    semaphores.set_key(tmp_path, "cm", "p", "1")
    first = semaphores.acquire(tmp_path, _workflow(), "first")
    locks: list[semaphores.Lock] = []
    second = threading.Thread(target=lambda: locks.append(
        semaphores.acquire(tmp_path, _workflow(), "second")))
    second.start()
    _until(lambda: "second" in _waiting(tmp_path), "second waits")
    semaphores.set_key(tmp_path, "cm", "p", "2")  # pipeline store with a new amount
    second.join(60)
    assert _holders(tmp_path) == {"first", "second"}
    first.release()
    locks[0].release()


def test_a_dead_holder_does_not_count(tmp_path: Path) -> None:
    semaphores.set_key(tmp_path, "cm", "p", "1")
    holders = tmp_path / "semaphores" / "cm" / "p" / "holders"
    holders.mkdir(parents=True)
    (holders / "gone.json").write_text('{"pid": 999999999, "job": "gone"}')
    lock = semaphores.acquire(tmp_path, _workflow(), "next")
    assert _holders(tmp_path) == {"next"}
    lock.release()
