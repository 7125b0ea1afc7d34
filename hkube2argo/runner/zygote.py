"""Warm workers: a pre-imported interpreter that forks one process per task.

Starting Python and importing the runtime costs tens of milliseconds per task, more
than most algorithms take. The zygote pays it once; each task is then a fork that runs
the same entry point (``python -m hkube2argo.runtime ...``) with the task's argv,
environment, working folder and log, and exits. A task that crashes takes only its own
process down (HKube's hot workers, without sharing state between tasks).

Protocol over a Unix socket, one connection per task: the client sends one JSON line
``{"argv", "env", "cwd", "log", "timeout"}``; the zygote forks a handler, which forks the
task, waits (killing it at the timeout) and answers ``{"exit": code}`` (signals as
128 + signal, as a container runtime reports them).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import time
import traceback
from typing import Any

# Imported before any fork, so tasks start warm.
from hkube2argo.runtime import __main__ as runtime_main
from hkube2argo.runtime import algorithm, inputs, routes, tasks  # noqa: F401


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


def _status(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _handle(conn: socket.socket) -> None:
    """In the handler process: run one task and report how it ended."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    reader = conn.makefile("r", encoding="utf-8")
    request = json.loads(reader.readline())
    pid = os.fork()
    if pid == 0:
        conn.close()
        _run_task(request)
    conn.sendall((json.dumps({"pid": pid}) + "\n").encode())  # so the runner can stop it
    deadline = request.get("timeout")
    end = time.monotonic() + deadline if deadline else None
    while True:
        done, status = os.waitpid(pid, os.WNOHANG if end else 0)
        if done:
            code = _status(status)
            break
        if end is not None and time.monotonic() > end:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            code = -1
            break
        time.sleep(0.002)
    conn.sendall((json.dumps({"exit": code}) + "\n").encode())
    conn.close()
    os._exit(0)


def serve(path: str) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # handlers are reaped automatically
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


class WarmPool:
    """The runner's side: start the zygote, ask it to run tasks, stop it."""

    def __init__(self) -> None:
        import subprocess
        import tempfile

        self.folder = tempfile.mkdtemp(prefix="h2a-")  # short: socket paths max 108 bytes
        self.path = os.path.join(self.folder, "zygote.sock")
        self.proc = subprocess.Popen([sys.executable, "-m", "hkube2argo.runner.zygote",
                                      self.path], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the warm worker pool did not start")

    def run(self, argv: list[str], env: dict[str, str], cwd: str, log: str,
            timeout: float | None, running: set[int] | None = None) -> int:
        """Run one task; ``running`` holds its process group while it runs."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(self.path)
            conn.sendall((json.dumps({"argv": argv, "env": env, "cwd": cwd, "log": log,
                                      "timeout": timeout}) + "\n").encode())
            reader = conn.makefile("r", encoding="utf-8")
            started = reader.readline()
            pid = int(json.loads(started)["pid"]) if started else None
            if pid is not None and running is not None:
                running.add(pid)
            try:
                answer = reader.readline()
            finally:
                if pid is not None and running is not None:
                    running.discard(pid)
        if not answer:
            raise RuntimeError("the warm worker pool lost a task")
        return int(json.loads(answer)["exit"])

    def close(self) -> None:
        import shutil

        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


if __name__ == "__main__":
    serve(sys.argv[1])
