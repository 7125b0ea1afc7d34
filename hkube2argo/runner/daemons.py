"""Containers that run beside the worker pool: Argo's daemon containers (``daemon:
true``) and workflow-level lifecycle hooks other than the exit handler.

Each runs in its own thread as a plain subprocess, outside the worker pool: it lives as
long as its DAG (or the run), and would hold one of the ``workers`` slots for the whole
run (with one worker, forever).

Argo's rules for a daemon, reproduced from v4.0.5 and v4.1.2 (the same in both):

- it counts as done for its dependants once its pod runs (dag.go, TaskResultDaemoned);
- when the DAG that started it ends, its containers get SIGTERM, then SIGKILL after the
  pod's grace period (pod/queue.go terminateContainers, signalContainers), and its node
  is marked Succeeded (exec_control.go killDaemonedChildren). The pod is then labelled
  completed (operator.go queuePodsForCleanup with no podGC strategy: pod/cleanup.go
  determinePodCleanupAction), so the pod informer, which watches only pods not
  completed (pod/controller.go incompleteReq), never reports how it ended: it stays
  Succeeded, whatever its exit code. With a podGC strategy that leaves a running pod
  unlabelled (OnPodSuccess, OnPodCompletion, OnWorkflow*), its end is judged again while
  the workflow still runs (an exit handler): Failed, as below; the runner does not model
  podGC (support.py refuses it);
- a daemon that ends by itself is Failed (v3.7+: operator.go assessNodeStatus marks a
  succeeded daemon pod Failed; a failed pod gets inferFailedReason's
  "main: Error (exit code N)"), and its task fails its DAG like any failed task unless
  the task has ``continueOn`` (the engine judges the task again when that happens).

A lifecycle hook's pod is an ordinary pod (exit 0: Succeeded, else Failed), and the
exit handler waits for it (operator.go operate, after executeWfLifeCycleHook). Neither
is ever retried here (the emitters give them no retryStrategy).
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
    """One daemon container (or, ``hook``, a lifecycle hook's pod): started, then waited
    for, in its own thread. ``started`` resolves once it runs (or could not start: why);
    ``ended`` with its node's (phase, message) once it is over."""

    def __init__(self, path: str, run: Callable[[], subprocess.Popen], live: LiveState,
                 report: Report, hook: bool = False):
        self.path = path
        self.owner = path.rsplit("/", 1)[0]  # the DAG that started it
        self.hook = hook
        self.live = live
        self.report = report
        self.started: cf.Future[str] = cf.Future()
        self.ended: cf.Future[tuple[str, str]] = cf.Future()
        # running from the start: a deadline's cancel() must not cancel them (it would
        # make set_result fail); the daemon's thread alone decides when they are done
        self.started.set_running_or_notify_cancel()
        self.ended.set_running_or_notify_cancel()
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
            if not self.ended.done():
                self.ended.set_result(("Failed", "the daemon's thread failed"))

    def _lifetime(self) -> None:
        self.report(self.path, "started", "", "")
        try:
            proc = self._run()
        except Exception as exc:  # say why, go on (its pod never ran)
            # on Argo its init container failed: Error (operator.go inferFailedReason)
            message = f"daemon did not start: {exc}"
            self.live.update(self.path, "Error", message)
            self.report(self.path, "ended", "Error", message)
            self.started.set_result(message)
            self.ended.set_result(("Error", message))
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
        phase, message = self.judge(code, stopped)
        self.live.update(self.path, phase, message)
        self.report(self.path, "ended", phase, message)
        self.ended.set_result((phase, message))

    def judge(self, code: int, stopped: bool) -> tuple[str, str]:
        """Its node's phase and message as Argo gives them (see the module docstring)."""
        # killed by a signal: argoexec's emissary exits 137 whatever the signal
        # (cmd/argoexec/main.go, "probably SIGTERM or SIGKILL")
        said = f"main: Error (exit code {137 if code < 0 else code})"
        if self.hook:  # an ordinary pod; stopped: the run stopped or expired
            if stopped:
                return "Failed", "terminated: the workflow stopped or passed its deadline"
            return ("Succeeded", "") if code == 0 else ("Failed", said)
        if stopped:
            return "Succeeded", ""  # killDaemonedChildren; never judged again (see above)
        return "Failed", "" if code == 0 else said  # assessNodeStatus

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
              path: str, folder: Path, hook: bool = False) -> Daemon:
        """Start one (``template`` substituted): a daemon, or ``hook`` a lifecycle hook's
        pod."""

        def run() -> subprocess.Popen:
            return executor.start_daemon(template, artifacts, folder, self.store, self.env)

        daemon = Daemon(path, run, self.live, self.report, hook=hook)
        with self._lock:
            self.running.append(daemon)
        return daemon

    def wait_hooks(self) -> None:
        """Until every lifecycle hook has ended by itself (the exit handler waits so)."""
        for daemon in list(self.running):
            if daemon.hook:
                daemon.thread.join()

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
