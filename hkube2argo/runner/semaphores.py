"""Argo's workflow-level semaphores on this machine (``spec.synchronization.semaphores``
with a ``configMapKeyRef``), shared by every runner process of one state folder.

The ConfigMaps live in ``<state>/configmaps/<name>.json`` (their ``data``); the embedded
backend's ``pipeline store`` and ``exec raw`` (and ``hkube2argo run``) set a pipeline's key
there, as the Argo backend does in the cluster (``emit/semaphore.py``). What Argo does, and
this copies:

- the limit is the key's value read as a whole number when the run asks for the lock; a
  missing ConfigMap or key, a value that is not a number, or 0 fails the run at once,
  before any step and without the exit handler, with Argo's message
  (``workflow/controller/controller.go`` getSyncLimit, ``workflow/sync/semaphore.go``
  newInternalSemaphore, ``workflow/controller/operator.go`` operate);
- beyond the limit a run waits (phase Pending); waiting runs get the lock by
  ``spec.priority`` (higher first), then by creation time (``workflow/sync/
  sync_manager.go`` prepAcquire, the priority queue of ``semaphore.go``); a changed limit
  applies to the next acquisition;
- the lock is released when the run ends (after its exit handler).

Holders and waiters are files with the process id; a file whose process is gone (a killed
runner) no longer counts.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NAMESPACE = "local"  # the runner's workflow.namespace
POLL = 0.2  # seconds between tries while waiting


class SemaphoreFailed(Exception):
    """The run fails at once, as Argo fails it (the message is Argo's)."""


def configmap_file(state: Path, name: str) -> Path:
    return state / "configmaps" / f"{name}.json"


def read_configmap(state: Path, name: str) -> dict[str, str] | None:
    try:
        data = json.loads(configmap_file(state, name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def set_key(state: Path, name: str, key: str, value: str) -> None:
    """What the patch Workflow does on a cluster: one key set, the others kept."""
    path = configmap_file(state, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path.with_suffix(".lock")):
        data = read_configmap(state, name) or {}
        data[key] = value
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _atoi(text: str) -> int | None:
    """Go's strconv.Atoi: optional sign, decimal digits only."""
    return int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else None


def _alive(record: dict[str, Any]) -> bool:
    pid = record.get("pid")
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    start = record.get("start")
    return start is None or start == _process_start(pid)


def _process_start(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


@dataclass
class Lock:
    """One held semaphore: ``release`` when the run ends."""

    files: list[Path]

    def release(self) -> None:
        for path in self.files:
            path.unlink(missing_ok=True)


def acquire(state: Path, workflow: dict[str, Any], job_id: str,
            stopped: Callable[[], bool] = lambda: False,
            waiting: Callable[[str], None] = lambda _m: None) -> Lock:
    """Every semaphore the Workflow names, or SemaphoreFailed. Blocks while the limit is
    reached (``waiting`` is told Argo's Pending message once); gives up when ``stopped``."""
    refs = [s["configMapKeyRef"] for s in
            ((workflow.get("spec") or {}).get("synchronization") or {}).get("semaphores") or []
            if "configMapKeyRef" in s]
    priority = (workflow.get("spec") or {}).get("priority") or 0
    created = time.time()
    me = {"pid": os.getpid(), "start": _process_start(os.getpid()), "priority": priority,
          "created": created, "job": job_id}
    held: list[Path] = []
    try:
        for ref in refs:
            held.append(_acquire_one(state, ref, me, stopped, waiting))
    except BaseException:
        Lock(held).release()
        raise
    return Lock(held)


def _limit(state: Path, name: str, key: str) -> int:
    value = (read_configmap(state, name) or {}).get(key)
    limit = _atoi(value) if isinstance(value, str) else None
    if not limit:
        raise SemaphoreFailed(
            "Failed to acquire the synchronization lock. failed to initialize semaphore "
            f"{NAMESPACE}/ConfigMap/{name}/{key} with limit")
    return limit


def _acquire_one(state: Path, ref: dict[str, str], me: dict[str, Any],
                 stopped: Callable[[], bool], waiting: Callable[[str], None]) -> Path:
    name, key = ref["name"], ref["key"]
    folder = state / "semaphores" / name / key
    holders, waiters = folder / "holders", folder / "waiting"
    told = False
    with _locked(folder / ".lock"):
        _limit(state, name, key)  # a missing key fails before the run waits
        waiters.mkdir(parents=True, exist_ok=True)
        holders.mkdir(parents=True, exist_ok=True)
        (waiters / f"{me['job']}.json").write_text(json.dumps(me), encoding="utf-8")
    try:
        while True:
            with _locked(folder / ".lock"):
                limit = _limit(state, name, key)
                held = _live(holders)
                queue = sorted(_live(waiters).values(),
                               key=lambda r: (-r["priority"], r["created"], r["job"]))
                if len(held) < limit and queue and queue[0]["job"] == me["job"]:
                    path = holders / f"{me['job']}.json"
                    path.write_text(json.dumps(me), encoding="utf-8")
                    return path
            if stopped():
                raise SemaphoreFailed("stopped while waiting for the synchronization lock")
            if not told:
                waiting(f"Waiting for {NAMESPACE}/ConfigMap/{name}/{key} lock. Lock status: "
                        f"{len(held)}/{limit}")
                told = True
            time.sleep(POLL)
    finally:
        (waiters / f"{me['job']}.json").unlink(missing_ok=True)


def _live(folder: Path) -> dict[str, dict[str, Any]]:
    """The records whose process still runs; the others are removed."""
    out = {}
    for path in folder.glob("*.json"):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if _alive(record):
            out[path.stem] = record
        else:
            path.unlink(missing_ok=True)
    return out
