"""The embedded backend's runner processes: whether one still runs, how it is stopped
(with its process group and the tasks it left), and how its start is watched.

A runner process outlives the command that started it (``exec raw`` returns at once), so
a later ``exec status`` or ``exec stop`` finds it again from its record (pid, process
start time, process group) in the job folder; this module holds that process handling,
Linux ``/proc`` included, apart from the backend's store and job records.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

STOP_GRACE = 5.0  # seconds a runner gets to stop its tasks before it is killed

# Runner processes started by this process: polled so that they do not linger as zombies.
CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def proc_start(pid: int) -> str | None:
    """The process's start time in clock ticks (Linux), to tell a reused pid apart."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def alive(record: dict[str, Any]) -> bool:
    """Is the runner process of this record still running (not a zombie, not a new
    process that got the same pid)?"""
    pid = record.get("pid")
    if not isinstance(pid, int) or pid <= 1:
        return False
    child = CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        CHILDREN.pop(pid, None)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: ours is gone
        return False
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        with contextlib.suppress(OSError):
            if stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z":
                return False
        started = record.get("procStart")
        if started is not None and proc_start(pid) not in (None, started):
            return False
    return True


def _processes_in(folder: Path) -> list[int]:
    """Processes working inside ``folder`` (a job's tasks and what they started), found
    by their working folder: tasks lead their own process groups, so killing the runner's
    group does not reach them."""
    out = []
    prefix = str(folder.resolve()) + os.sep
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                if (os.readlink(f"/proc/{entry}/cwd") + os.sep).startswith(prefix):
                    out.append(int(entry))
    return out


def _group(pgid: int) -> list[tuple[int, list[str]]]:
    """(pid, command line) of the processes in a process group (Linux)."""
    out = []
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid:
                    argv = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
                    out.append((int(entry), argv.split("\0")))
    return out


def _kill_group(pgid: int, runner_was_alive: bool) -> None:
    """The runner's process group: its warm pool (a zygote and its task handlers). Only
    hkube2argo's own processes are killed, in case the group id was reused; the pool's
    socket folder is removed, as the pool would have on a clean exit."""
    if not Path("/proc").is_dir():  # no way to look: only a group that just lost its runner
        if runner_was_alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        return
    pools = set()
    for pid, argv in _group(pgid):
        if "hkube2argo.runner.zygote" not in argv:
            continue
        sock = Path(argv[argv.index("hkube2argo.runner.zygote") + 1])
        if sock.name == "zygote.sock" and sock.parent.name.startswith("h2a-"):
            pools.add(sock.parent)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    for pool in pools:
        shutil.rmtree(pool, ignore_errors=True)


def kill_runner(record: dict[str, Any], folder: Path) -> None:
    """Stop a job's runner: SIGTERM (it kills its running tasks and exits), SIGKILL after
    a grace period, then its warm pool and any task left."""
    pid = record["pid"]
    was_alive = alive(record)
    if was_alive:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        while alive(record) and time.monotonic() < deadline:
            time.sleep(0.05)
        if alive(record):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + STOP_GRACE
            while alive(record) and time.monotonic() < deadline:
                time.sleep(0.05)
    pgid = record.get("pgid")
    if isinstance(pgid, int) and pgid > 1 and pgid != os.getpgid(0):
        _kill_group(pgid, was_alive)
    for task in _processes_in(folder):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(task, signal.SIGKILL)
    child = CHILDREN.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=STOP_GRACE)


def child_env() -> dict[str, str]:
    """The runner process imports this very hkube2argo, installed or not."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def first_line(proc: subprocess.Popen[bytes], timeout: float) -> bytes | None:
    """The runner's announcement, or None when it did not come in time."""
    box: list[bytes] = []
    assert proc.stdout is not None
    stdout = proc.stdout
    reader = threading.Thread(target=lambda: box.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return box[0] if box else None


def log_tail(path: Path, lines: int = 1) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])
