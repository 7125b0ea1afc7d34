"""The progress of ``hkube2argo run`` as a person sees it: on a real terminal (a
pseudo-terminal) one redrawn line, and off a terminal a few plain lines."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from hkube2argo.runner.engine import Event
from hkube2argo.runner.progress import Progress
from tests.conftest import EXAMPLES

NUMBERS = [str(EXAMPLES / "numbers" / "numbers.yaml"), "-a",
           str(EXAMPLES / "numbers" / "algorithms")]
INTERNAL = ("prepare", "--collect", "results", "--zip")


def _under_a_terminal(args: list[str], cwd: Path, timeout: float = 120) -> str:
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "hkube2argo", *args], cwd=cwd,
                            stdin=child, stdout=subprocess.DEVNULL, stderr=child,
                            close_fds=True)
    os.close(child)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
    finally:
        proc.kill()
        proc.wait()
        os.close(main)
    return out.decode("utf-8", "replace")


def test_on_a_terminal_one_line_is_redrawn(tmp_path: Path) -> None:
    screen = _under_a_terminal(["run", *NUMBERS, "--state", str(tmp_path / "s")], tmp_path)
    frames = [f for f in screen.split("\r\x1b[K") if f.strip()]
    job = frames[-1].split()[0]
    assert job.startswith("numbers-")
    assert all(f.startswith(job) for f in frames[:-1]), frames  # the jobId first, always
    last = frames[-1].splitlines()[0]
    assert last.split("  ")[1:] == ["Range 1/1", "Multiply 5/5", "Reduce 1/1"], last
    assert not any(word in screen for word in INTERNAL), screen
    assert f"job {job} completed" in screen


def test_off_a_terminal_a_line_per_completed_node_and_now_and_then() -> None:
    now = [0.0]
    out = io.StringIO()
    progress = Progress(out, live=False, clock=lambda: now[0])
    progress.job_id = "job-1"
    progress.tasks = {"A": "A", "B": "B", "A--collect": "A"}  # as job.json maps them
    progress.tasks.pop("A--collect")
    progress.order = ["A", "B"]
    progress.totals = {"A": 3, "B": 1}
    for i in range(3):
        now[0] += 1.0
        progress(Event(f"p/A({i})", "ended", "Succeeded" if i else "Failed"))
    now[0] += 1.0
    progress(Event("p/prepare", "ended", "Succeeded"))  # not a node of the pipeline
    progress(Event("p/B", "started"))
    now[0] += 10.0
    progress(Event("p/B", "ended", "Succeeded"))
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines == ["job-1 0:01  A 1/3 (1 failed)  B 0/1",  # the first: printed at once
                     "job-1 0:03  A 3/3 (1 failed)  B 0/1",  # A completed
                     "job-1 0:14  A 3/3 (1 failed)  B 1/1"]  # B completed; close adds nothing
