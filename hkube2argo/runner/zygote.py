"""Warm workers: a pre-imported interpreter that forks one process per task.

Starting Python and importing the runtime costs tens of milliseconds per task, more
than most algorithms take. The zygote pays it once; each task is then a fork that runs
the same entry point (``python -m hkube2argo.runtime ...``) with the task's argv,
environment, working folder and log, and exits. A task that crashes takes only its own
process down (HKube's hot workers, without sharing state between tasks).

Protocol over a Unix socket, one connection per task: the client sends one JSON line
``{"argv", "env", "cwd", "log", "timeout", "fresh"}``; the zygote forks a handler, which
forks the task (which execs a new interpreter when ``fresh``: ``--cold``), supervises it
(``reaper``: killing it at the timeout, and what it leaves behind) and answers
``{"exit": code}`` (signals as 128 + signal, as a container runtime reports them).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
from typing import Any

# Imported before any fork, so tasks start warm.
from hkube2argo.runtime import __main__ as runtime_main
from hkube2argo.runtime import algorithm, inputs, routes, tasks  # noqa: F401

from . import reaper


def _run_task(request: dict[str, Any]) -> None:
    """In the task process: become the task, run it, never return."""
    code = 70
    try:
        os.setsid()  # its own process group: a deadline kills the algorithm's children too
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        sys.stdout = os.fdopen(1, "w", buffering=1, encoding="utf-8")
        sys.stderr = os.fdopen(2, "w", buffering=1, encoding="utf-8")
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if request.get("fresh"):  # --cold: a new interpreter, nothing inherited but this
            os.execv(sys.executable, [sys.executable, "-m", "hkube2argo.runtime",
                                      *request["argv"]])
        sys.argv = ["python -m hkube2argo.runtime", *request["argv"]]
        code = runtime_main.run_entry(request["argv"])
    except BaseException:  # setting up the task failed: report it as a crash
        traceback.print_exc()
        code = 70
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _handle(conn: socket.socket) -> None:
    """In the handler process: run one task and report how it ended. The handler is the
    task's supervisor (``reaper``): nothing the task leaves behind outlives it."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    reaper.become_subreaper()
    reader = conn.makefile("r", encoding="utf-8")
    request = json.loads(reader.readline())
    handler = os.getpid()
    pid = os.fork()
    if pid == 0:
        conn.close()
        reaper.die_with_parent(handler)
        _run_task(request)
    conn.sendall((json.dumps({"pid": pid}) + "\n").encode())  # so the runner can stop it
    code = reaper.supervise(pid, request.get("timeout"))
    conn.sendall((json.dumps({"exit": code}) + "\n").encode())
    conn.close()
    os._exit(0)


def serve(path: str) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # handlers are reaped automatically
    # a terminal's Ctrl-C reaches the whole foreground group: it is the runner's to act on
    # (it stops the tasks itself), never a traceback here
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    runner = os.getppid()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)
    server.settimeout(1.0)
    print("ready", flush=True)
    while True:
        try:
            conn, _ = server.accept()
        except TimeoutError:
            if os.getppid() != runner:  # the runner is gone (even kill -9): so are we
                import shutil

                shutil.rmtree(os.path.dirname(path), ignore_errors=True)
                os._exit(0)
            continue
        conn.settimeout(None)
        if os.fork() == 0:
            server.close()
            _handle(conn)
        conn.close()


class Unavailable(RuntimeError):
    """The pool cannot run this task (its server is gone and cannot be restarted, or the
    handler running the task died, the task's group killed): run it cold instead."""


RESTARTS = 3  # a server that keeps dying is left dead: tasks then run cold


class WarmPool:
    """The runner's side: start the zygote, ask it to run tasks, stop it. A zygote that
    dies (killed, out of memory) is started again, up to ``RESTARTS`` times; after that,
    or when it cannot start, :meth:`run` raises :class:`Unavailable` and the caller runs
    the task cold, so a run never fails for the pool's sake."""

    def __init__(self, fresh: bool = False) -> None:
        """``fresh``: each task execs a new interpreter (``--cold``) instead of running in
        the forked, pre-imported one; it is still supervised by a handler."""
        import tempfile
        import threading

        self.fresh = fresh
        self.folder = tempfile.mkdtemp(prefix="h2a-")  # short: socket paths max 108 bytes
        self._lock = threading.Lock()
        self.restarts = 0
        self.generation = 0
        self.broken = False
        self.proc: subprocess.Popen[str] | None = None
        try:
            self._start()
        except (OSError, RuntimeError):  # tasks then run under supervisors of their own
            self.broken = True

    def _start(self) -> None:
        self.path = os.path.join(self.folder, f"zygote-{self.generation}.sock")
        self.proc = subprocess.Popen([sys.executable, "-m", "hkube2argo.runner.zygote",
                                      self.path], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("the warm worker pool did not start")

    def _restart(self, seen: int) -> bool:
        """After a failed connection to generation ``seen``: start a new server unless
        another thread already did. False when the pool is given up."""
        with self._lock:
            if self.generation != seen:
                return not self.broken
            if self.broken:
                return False
            assert self.proc is not None
            if self.proc.poll() is None:  # alive but refusing (backlog full): wait a bit
                time.sleep(0.05)
                return True
            self.proc.wait()
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            if self.restarts >= RESTARTS:
                self.broken = True
                return False
            self.restarts += 1
            self.generation += 1
            try:
                self._start()
            except (OSError, RuntimeError):
                self.broken = True
                return False
            return True

    def _connect(self) -> tuple[socket.socket, int]:
        for _ in range(RESTARTS + 20):
            if self.broken:
                break
            seen, path = self.generation, self.path
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                conn.connect(path)
                return conn, seen
            except OSError:  # refused, or the socket file is gone with its server
                conn.close()
                if not self._restart(seen):
                    break
        raise Unavailable("the warm worker pool is gone")

    def run(self, argv: list[str], env: dict[str, str], cwd: str, log: str,
            timeout: float | None, running: set[int] | None = None) -> int:
        """Run one task; ``running`` holds its process group while it runs."""
        request = (json.dumps({"argv": argv, "env": env, "cwd": cwd, "log": log,
                               "timeout": timeout, "fresh": self.fresh}) + "\n").encode()
        while True:
            conn, seen = self._connect()
            with conn:
                try:
                    conn.sendall(request)
                    reader = conn.makefile("r", encoding="utf-8")
                    started = reader.readline()
                except OSError:
                    started = ""
                if not started:  # the server died before forking a handler: try again
                    if not self._restart(seen):
                        raise Unavailable("the warm worker pool is gone")
                    continue
                pid = int(json.loads(started)["pid"])
                if running is not None:
                    running.add(pid)
                try:
                    answer = reader.readline()
                except OSError:
                    answer = ""
                finally:
                    if running is not None:
                        running.discard(pid)
            if answer:
                return int(json.loads(answer)["exit"])
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)  # its handler died: so does the task
            raise Unavailable("the warm worker running the task died")

    def close(self) -> None:
        import shutil

        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


if __name__ == "__main__":
    serve(sys.argv[1])
