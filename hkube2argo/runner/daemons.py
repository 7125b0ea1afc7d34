"""Argo's daemon containers (``daemon: true``) on the local runner.

Argo's rules, reproduced: a daemon task counts as Succeeded for its dependants as soon as
its container runs; it is stopped when the DAG that started it ends (or the workflow
stops): SIGTERM, then SIGKILL after a grace period; its exit code is ignored and it is
never retried, so it can never fail a run. Each daemon runs in its own thread as a plain
subprocess, outside the worker pool: a daemon lives as long as its DAG, and would hold
one of the ``workers`` slots for the whole run (with one worker, forever).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import executor
from .livestate import ENV, LiveState
from .store import Store

GRACE = 5.0  # seconds between SIGTERM and SIGKILL (a pod's default is 30; ours are small)

Report = Callable[[str, str, str, str], None]  # path, started|ended, phase, message


class Daemon:
    """One daemon container: started, then waited for, in its own thread."""

    def __init__(self, path: str, run: Callable[[], subprocess.Popen], live: LiveState,
                 report: Report):
        self.path = path
        self.owner = path.rsplit("/", 1)[0]  # the DAG that started it
        self.live = live
        self.report = report
        self.started: cf.Future[str] = cf.Future()
        # running from the start: a deadline's cancel() must not cancel it (it would
        # make set_result fail); the daemon's thread alone decides when it is done
        self.started.set_running_or_notify_cancel()
        self.proc: subprocess.Popen | None = None
        self.stopping = False
        self._killer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._run = run
        self.thread = threading.Thread(target=self._main, name=f"h2a-daemon {path}",
                                       daemon=True)
        self.thread.start()

    def _main(self) -> None:
        try:
            self._lifetime()
        finally:  # whatever broke, its task must not wait forever
            if not self.started.done():
                self.started.set_result("the daemon's thread failed")

    def _lifetime(self) -> None:
        self.report(self.path, "started", "", "")
        try:
            proc = self._run()
        except Exception as exc:  # a daemon never fails the run: say why, go on
            message = f"daemon did not start: {exc}"
            self.live.update(self.path, "Failed", message)
            self.report(self.path, "ended", "Failed", message)
            self.started.set_result(message)
            return
        with self._lock:
            self.proc = proc
            executor.RUNNING.add(proc.pid)  # `exec stop` kills it with the run's tasks
            late = self.stopping  # stopped while it was starting
        self.live.update(self.path, "Running")
        self.started.set_result("")
        if late:
            self._terminate(proc)
        code = proc.wait()
        with self._lock:
            stopped = self.stopping
            executor.RUNNING.discard(proc.pid)
            if self._killer is not None:
                self._killer.cancel()
        _signal(proc.pid, signal.SIGKILL)  # what it started dies with it, as in a pod
        # Argo marks a terminated daemon Succeeded, whatever its exit code
        message = "" if stopped else f"daemon ended by itself (exit code {code})"
        self.live.update(self.path, "Succeeded", message)
        self.report(self.path, "ended", "Succeeded", message)

    def terminate(self) -> None:
        """SIGTERM now, SIGKILL after ``GRACE`` seconds; returns at once."""
        with self._lock:
            if self.stopping:
                return
            self.stopping = True
            proc = self.proc
        if proc is not None:  # else its thread terminates it once started
            self._terminate(proc)

    def _terminate(self, proc: subprocess.Popen) -> None:
        with self._lock:
            if proc.returncode is not None:
                return  # ended by itself meanwhile: nothing to signal (its pid may be reused)
            executor.RUNNING.discard(proc.pid)  # a deadline's kill_running leaves it be
            self._killer = threading.Timer(GRACE, _signal, (proc.pid, signal.SIGKILL))
            self._killer.daemon = True
            self._killer.start()
        _signal(proc.pid, signal.SIGTERM)


def _signal(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


class Daemons:
    """The run's daemons: started by the engine, stopped when their DAG or the run ends."""

    def __init__(self, store: Store, live: LiveState, report: Report):
        self.store = store
        self.live = live
        self.report = report
        self.env = {} if live.path is None else {ENV: str(live.path)}
        self.running: list[Daemon] = []
        self._lock = threading.Lock()

    def start(self, template: dict[str, Any], artifacts: dict[str, dict[str, Any]],
              path: str, folder: Path) -> cf.Future[str]:
        """Start one (``template`` substituted). The future resolves once its process
        runs ("") or could not start (why); either way its task has succeeded."""

        def run() -> subprocess.Popen:
            return executor.start_daemon(template, artifacts, folder, self.store, self.env)

        daemon = Daemon(path, run, self.live, self.report)
        with self._lock:
            self.running.append(daemon)
        return daemon.started

    def release(self, owner: str) -> None:
        """The DAG at path ``owner`` ended: stop the daemons it started."""
        self._stop([d for d in self.running if d.owner == owner])

    def stop_all(self) -> None:
        self._stop(list(self.running))

    def _stop(self, daemons: list[Daemon]) -> None:
        daemons = [d for d in daemons if not d.stopping]
        if daemons:
            self.live.flush()  # the last state a daemon can read before it is told to stop
            for daemon in daemons:
                daemon.terminate()

    def wait(self) -> None:
        """Until every daemon is gone (at most ``GRACE`` seconds after it was stopped)."""
        for daemon in list(self.running):
            daemon.thread.join()
