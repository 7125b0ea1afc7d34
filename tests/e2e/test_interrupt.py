"""Ctrl-C on ``hkube2argo run`` under a real (pseudo-)terminal: it stops at once, keeps
what finished, says how to resume, exits 130; the resume runs only what was left, and its
result covers the whole job; resuming a completed job only shows its result."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from hkube2argo.cli import main

ALGORITHMS = Path(__file__).parent / "algorithms"


def _pipeline(tmp_path: Path, seconds: int) -> tuple[Path, Path]:
    marks = tmp_path / "marks.txt"
    pipeline = tmp_path / "slow.yaml"
    pipeline.write_text(json.dumps({"name": "slow", "nodes": [
        {"nodeName": "Quick", "algorithmName": "probe", "input": [{"append": str(marks)}]},
        {"nodeName": "Slow", "algorithmName": "probe",
         "input": [{"sleep": seconds, "append": str(marks)}]}]}))
    return pipeline, marks


def _interrupt_when(args: list[str], ready, cwd: Path, budget: float = 60) -> tuple[int, str]:
    main_fd, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "hkube2argo", *args], cwd=cwd,
                            stdin=child, stdout=child, stderr=child, start_new_session=True)
    os.close(child)
    out, sent, deadline = b"", False, time.monotonic() + budget
    try:
        while time.monotonic() < deadline:
            if select.select([main_fd], [], [], 0.2)[0]:
                try:
                    chunk = os.read(main_fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            if not sent and ready():
                os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
                sent = True
            if proc.poll() is not None:
                break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        code = proc.wait()
        os.close(main_fd)
    assert sent, out.decode(errors="replace")
    return code, out.decode("utf-8", "replace")


def test_ctrl_c_stops_keeps_what_finished_and_resumes(tmp_path: Path) -> None:
    pipeline, marks = _pipeline(tmp_path, 6)  # Slow sleeps 6 s: in the run and the resume
    state = tmp_path / "state"
    code, screen = _interrupt_when(
        ["run", str(pipeline), "-a", str(ALGORITHMS), "--state", str(state)],
        lambda: marks.is_file() and marks.read_text().count("Quick") == 1
        and (time.sleep(0.5) or True), tmp_path)  # Quick done, Slow sleeping
    assert code == 130, screen
    assert "Traceback" not in screen and "Aborted!" not in screen
    (job,) = [p.name for p in (state / "jobs").iterdir()]
    assert f"interrupted: resume with hkube2argo run --resume {job} --state {state}" in screen
    assert not (state / "jobs" / job / "result.json").exists()  # unfinished, resumable
    journal = (state / "jobs" / job / "journal.jsonl").read_text()
    assert '"pipeline/Quick"' in journal and '"pipeline/Slow"' not in journal
    assert marks.read_text().splitlines() == ["Quick 0"]  # Slow was stopped, not finished
    # the resume runs Slow alone, and its result covers the whole job
    first = json.loads((state / "jobs" / job / "job.json").read_text())["startTime"]
    resumed = CliRunner().invoke(main, ["run", "--resume", job, "--state", str(state)])
    assert resumed.exit_code == 0, resumed.output
    assert marks.read_text().splitlines() == ["Quick 0", "Slow 0"]
    # the interrupted run's logs are kept beside the resumed run's
    earlier = state / "jobs" / job / "tasks.earlier-1"
    assert (earlier / "Quick" / "attempt-0" / "log.txt").is_file()
    assert (state / "jobs" / job / "tasks" / "Slow" / "attempt-0" / "log.txt").is_file()
    document = json.loads(resumed.stdout)
    assert document["startTime"] == first
    assert document["timeTook"] >= (time.time() * 1000 - first) / 1000 - 5
    again = CliRunner().invoke(main, ["run", "--resume", job, "--state", str(state)])
    assert again.exit_code == 0
    assert f"job {job} had completed already" in again.stderr
    assert json.loads(again.stdout) == document
    assert marks.read_text().splitlines() == ["Quick 0", "Slow 0"]


def test_rerun_from_a_job_with_another_flow_input_warns(tmp_path: Path) -> None:
    numbers = Path(__file__).parents[2] / "examples" / "numbers"
    base = ["run", str(numbers / "numbers.yaml"), "-a", str(numbers / "algorithms"),
            "--state", str(tmp_path / "s")]
    first = CliRunner().invoke(main, base)
    job = json.loads(first.stdout)["jobId"]
    same = CliRunner().invoke(main, [*base, "--from-job", job, "--nodes", "Reduce"])
    assert same.exit_code == 0 and "another flowInput" not in same.stderr
    other = CliRunner().invoke(main, [*base, "--from-job", job, "--nodes", "Reduce",
                                      "-p", "mul=3"])
    assert other.exit_code == 0
    assert f"--from-job {job}: that job ran with another flowInput" in other.stderr
