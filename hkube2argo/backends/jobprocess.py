"""The detached runner process of the embedded backend: it runs a submitted pipeline on
the local runner, records the job (pid, executed pipeline, container events, a result
even when it breaks), announces the jobId to the command that started it, then runs the
stored pipelines the run triggers.

It is started as ``python -m hkube2argo.backends.embedded SPEC`` (``embedded.py``'s
``__main__`` calls :func:`child`); it is kept apart from the backend, which only starts
it and reads what it records.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from ..config import ClusterConfig
from ..diagnostics import ValidationFailed
from ..loading import load_file
from ..models import Pipeline
from ..runner.engine import Event
from ..runner.run import RunError, Runner, RunResult, StorageSpec, triggered_by
from .processes import proc_start
from .records import (
    EVENTS,
    EXECUTED,
    LOG,
    RESULT,
    RUNNER,
    STORE_KEYS,
    now_ms,
    read_json,
    write_json,
)

MAX_TRIGGERED = 100  # a trigger cycle (A starts B starts A) would never end, as in HKube


class _JobRunner(Runner):
    """The runner inside the detached process: records each job it starts (pid, the
    executed pipeline, container events) and announces the first one's jobId."""

    def __init__(self, spec: dict[str, Any], announce: Any):
        config = ClusterConfig(**spec["config"])
        super().__init__(Path(spec["state"]), spec.get("workers"), config,
                         on_event=self._event, warm=spec.get("warm", True),
                         on_job=self._job_started)
        self.spec = spec
        self.announce = announce
        self.folder: Path | None = None
        self.job_id: str | None = None
        self.pipeline: dict[str, Any] = {}
        self.types: list[str] = []
        self.parent: RunResult | None = None
        self._events = threading.Lock()

    def begin(self, path: Path, types: list[str], parent: RunResult | None = None) \
            -> RunResult:
        loaded = load_file(path)[0].data
        self.pipeline = loaded if isinstance(loaded, dict) else {}
        self.types, self.parent, self.folder, self.job_id = types, parent, None, None
        # exec raw sets the concurrentPipelines key, as on Argo; stored runs find the key
        # that pipeline store set
        return self.start(path, self.spec["algorithms"], StorageSpec(), parent=parent,
                          set_semaphore="raw" in types)

    def _job_started(self, job_id: str, folder: Path) -> None:
        self.folder, self.job_id = folder, job_id
        now = now_ms()
        write_json(folder / RUNNER, {
            "pid": os.getpid(), "pgid": os.getpgid(0), "procStart": proc_start(os.getpid()),
            "startTime": now, "types": self.types, "log": self.spec.get("log")})
        write_json(folder / EXECUTED, self._executed(job_id, now))
        self.announce(job_id, folder)

    def _executed(self, job_id: str, now: int) -> dict[str, Any]:
        data = {k: v for k, v in self.pipeline.items() if k not in STORE_KEYS}
        if self.parent is not None:
            from ..runtime.tasks import merge

            data["flowInput"] = merge(data.get("flowInput") or {},
                                      {"parent": self.parent.document.get("data", [])})
        with contextlib.suppress(Exception):  # validated; never lose the record over defaults
            data = Pipeline.model_validate(data).wire()
        return {**data, "jobId": job_id, "startTime": now, "types": self.types}

    def _event(self, event: Event) -> None:
        folder = self.folder
        if folder is None:
            return
        line = json.dumps({"node": event.node, "kind": event.kind, "phase": event.phase,
                           "message": event.message, "at": now_ms()})
        with self._events, open(folder / EVENTS, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def fail(self, message: str) -> None:
        """A run that broke after its job existed still gets a result document."""
        if self.folder is None or (self.folder / RESULT).exists():
            return
        job = read_json(self.folder / "job.json") or {}
        write_json(self.folder / RESULT, {
            "jobId": self.job_id, "pipeline": job.get("pipeline", ""), "status": "failed",
            "timestamp": now_ms(), "error": message})


def _terminate(signum: int, _frame: Any) -> None:
    """SIGTERM (exec stop): kill the running tasks (each leads its own process group),
    then exit at once; exec stop writes the stopped result."""
    from ..runner.executor import kill_running

    kill_running()
    os._exit(128 + signum)


def child(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    submission = Path(spec["submission"])
    pipe = os.dup(1)  # the announcement goes here; everything else to the log
    os.dup2(2, 1)
    announced: list[str] = []

    def say(message: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            os.write(pipe, (json.dumps(message) + "\n").encode())
            os.close(pipe)

    def announce(job_id: str, folder: Path) -> None:
        if announced:
            return
        announced.append(job_id)
        with contextlib.suppress(OSError):
            os.replace(submission / LOG, folder / LOG)
            spec["log"] = str(folder / LOG)
            runner_record = read_json(folder / RUNNER) or {}
            write_json(folder / RUNNER, {**runner_record, "log": spec["log"]})
        shutil.rmtree(submission, ignore_errors=True)
        say({"jobId": job_id})

    signal.signal(signal.SIGTERM, _terminate)
    runner = _JobRunner(spec, announce)
    try:
        result = runner.begin(Path(spec["pipeline"]), spec["types"])
    except ValidationFailed as exc:
        if not announced:
            say({"error": str(exc), "diagnostics": [
                {"message": d.message, "loc": list(d.loc), "file": d.file, "line": d.line,
                 "severity": d.severity} for d in exc.diagnostics]})
            return 2
        runner.fail(str(exc).replace("\n", " "))
        return 1
    except Exception as exc:  # a detached process has no one to show a traceback to
        traceback.print_exc()
        message = str(exc) if isinstance(exc, RunError) else f"{type(exc).__name__}: {exc}"
        if not announced:
            say({"error": message})
            return 2
        runner.fail(message)
        return 1
    _run_triggered(runner, result, Path(spec["pipelines"]))
    return 0


def _run_triggered(runner: _JobRunner, first: RunResult, folder: Path) -> None:
    """Each completed run starts the stored pipelines it triggers, breadth first."""
    done = 0
    queue = [first]
    while queue:
        parent = queue.pop(0)
        for path in triggered_by(parent, folder):
            if done >= MAX_TRIGGERED:
                print(f"stopping after {MAX_TRIGGERED} triggered runs (a trigger cycle?)",
                      file=sys.stderr)
                return
            done += 1
            try:
                queue.append(runner.begin(path, ["stored", "trigger"], parent=parent))
            except Exception as exc:  # one bad stored pipeline does not stop the others
                print(f"triggered pipeline {path.name}: {exc}", file=sys.stderr)
                runner.fail(str(exc).replace("\n", " "))
