"""Nothing an algorithm starts outlives its task.

On Argo a task is a container: when its main process ends, the container ends and every
process in it goes too. Here a task is a process, so it runs under a supervisor (a warm
worker's handler, or this module as a small process for ``--cold`` tasks) that

- starts the task as the leader of its own session and process group, so a deadline or
  ``exec stop`` kills it with the children it forked (``killpg``);
- on Linux is a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``): a process the task
  left behind, even one that called ``setsid`` and double-forked as daemons do, is
  re-parented to the supervisor instead of init, so it can be found and killed;
- when the task ends (however it ends) kills its group, then every process re-parented
  to it, until it has no child left.

Elsewhere (no subreaper) only the task's process group is killed; a child that left the
group with ``setsid`` survives there.

A task dies with its supervisor (``PR_SET_PDEATHSIG``), and a cold task's supervisor with
the runner: a runner killed with ``kill -9`` leaves no task running on its own.

``python -I -S .../reaper.py FD TIMEOUT RUNNER COMMAND...`` supervises one command (the
cold path) for the runner of pid RUNNER (standard library only, and few imports: it starts
once per cold task): it writes ``{"pid": N}`` and then
``{"exit": code}`` as JSON lines to file descriptor FD, ``code`` being the exit code
(128 + signal when a signal ended it) or -1 when the TIMEOUT (seconds; 0 = none) killed it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # linux/prctl.h
PR_SET_CHILD_SUBREAPER = 36
DEADLINE = -1  # the exit "code" of a task killed at its timeout


def become_subreaper() -> bool:
    """Adopt the orphans of this process's descendants (Linux 3.4+); False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when ``parent`` (its parent now) dies, even by ``kill -9``: a
    task whose supervisor is gone has no one to report to or to clean up after it
    (Linux; elsewhere nothing). Kept across ``exec``."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(128 + signal.SIGKILL)


def children(pid: int | None = None) -> list[int]:
    """The live children of a process (this one by default), from /proc."""
    pid = pid or os.getpid()
    found: list[int] = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as handle:
                found.extend(int(p) for p in handle.read().split())
        except OSError:
            continue
    return found


def _signal(kill: Callable[[int, int], None], target: int) -> None:
    try:  # noqa: SIM105 - contextlib costs this short-lived process 10 ms to import
        kill(target, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # gone already


def exit_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def kill_leftovers(group: int) -> None:
    """Kill the task's process group, then every child of this process (the task's
    orphans, re-parented here), until none is left. The task itself is already reaped."""
    _signal(os.killpg, group)
    while True:
        for pid in children():
            _signal(os.kill, pid)
        try:
            os.waitpid(-1, 0)  # an orphan's own children are ours once it has exited
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def supervise(pid: int, timeout: float | None) -> int:
    """Wait for the task ``pid`` (leader of its own group), killing the group at the
    timeout; then kill what it left behind. Returns its exit code, or DEADLINE."""
    end = time.monotonic() + timeout if timeout else None
    while True:
        done, status = os.waitpid(pid, os.WNOHANG if end else 0)
        if done:
            code = exit_code(status)
            break
        if end is not None and time.monotonic() > end:
            _signal(os.killpg, pid)
            os.waitpid(pid, 0)
            code = DEADLINE
            break
        time.sleep(0.002)
    kill_leftovers(pid)
    return code


def main(argv: list[str]) -> int:
    """The cold path: supervise one command (see the module's docstring)."""
    fd, timeout, runner, command = int(argv[0]), float(argv[1]), int(argv[2]), argv[3:]
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    die_with_parent(runner)
    become_subreaper()
    me = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(fd)
            os.setsid()
            die_with_parent(me)
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    os.write(fd, f'{{"pid": {pid}}}\n'.encode())  # JSON lines, as the warm handler says
    code = supervise(pid, timeout or None)
    os.write(fd, f'{{"exit": {code}}}\n'.encode())
    os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
