"""``hkube2argo run`` killed with SIGKILL mid-batch, then ``--resume``: the run completes with
the same data as an uninterrupted one, and finished (journalled) items do not run again."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import PIPELINES, describe, run_pipeline

PIPELINE = PIPELINES / "resume.yaml"
ITEMS = 8


def items(marker: Path) -> list[dict[str, Any]]:
    return [{"sleep": 0.5, "append": str(marker), "value": i * 10} for i in range(1, ITEMS + 1)]


def marked(marker: Path) -> list[int]:
    """Batch indices of the Work items that finished their algorithm, in finish order."""
    if not marker.exists():
        return []
    return [int(line.split()[1]) for line in marker.read_text(encoding="utf-8").splitlines()
            if line.startswith("Work ")]


def journalled(journal: Path) -> set[int]:
    """Batch indices of the Work items the runner recorded as finished."""
    done: set[int] = set()
    if not journal.exists():
        return done
    for line in journal.read_text(encoding="utf-8").splitlines():
        try:
            node = json.loads(line)["node"]
        except (json.JSONDecodeError, KeyError):
            continue  # a line cut short by the kill
        match = re.search(r"/Work\((\d+)\)$", node)
        if match:
            done.add(int(match.group(1)))
    return done


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "hkube2argo", "run", *args]


def test_kill_and_resume(tmp_path: Path) -> None:
    state = tmp_path / "state"
    marker = tmp_path / "marker.txt"
    flow_input = tmp_path / "flow-input.json"
    flow_input.write_text(json.dumps({"items": items(marker)}), encoding="utf-8")
    log = (tmp_path / "first.log").open("wb")
    first = subprocess.Popen(
        cli(str(PIPELINE), "-a", str(PIPELINES.parent / "algorithms"), "--flow-input",
            str(flow_input), "--state", str(state), "--workers", "2"),
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        journal: Path | None = None
        while True:
            assert first.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no item finished in time"
            jobs = list((state / "jobs").glob("*")) if (state / "jobs").is_dir() else []
            if jobs:
                journal = jobs[0] / "journal.jsonl"
            if journal is not None and len(journalled(journal)) >= 2:
                break
            time.sleep(0.02)
        os.killpg(first.pid, signal.SIGKILL)  # the runner and every task it started
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
        log.close()

    jobs = sorted((state / "jobs").iterdir())
    assert len(jobs) == 1, jobs
    job_id = jobs[0].name
    assert journal is not None
    finished = journalled(journal)
    before = marked(marker)
    assert 2 <= len(finished) < ITEMS, (finished, before)
    assert set(before) >= finished
    assert len(set(before)) < ITEMS, "every item had finished before the kill"

    resumed = subprocess.run(cli("--resume", job_id, "--state", str(state), "--workers", "2"),
                             capture_output=True, text=True, timeout=60, check=False)
    assert resumed.returncode == 0, resumed.stderr
    document = json.loads(resumed.stdout)
    assert document["status"] == "completed"
    assert document["jobId"] == job_id

    reference = run_pipeline(tmp_path / "reference", PIPELINE,
                             flow_input={"items": items(tmp_path / "reference-marker.txt")})
    assert reference.status == "completed", describe(reference)
    assert document["data"] == reference.document["data"]
    assert document["data"] == [{"nodeName": "Total", "algorithmName": "echo",
                                 "result": [[i * 10 for i in range(1, ITEMS + 1)]]}]

    after = marked(marker)
    assert set(after) == set(range(1, ITEMS + 1))
    for index in finished:  # journalled before the kill: never run again
        assert after.count(index) == 1, (index, after)
    for index in range(1, ITEMS + 1):  # those running at the kill may have run twice
        assert 1 <= after.count(index) <= 2, (index, after)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text(encoding="utf-8")
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(
                int(entry.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_killed_runner_leaves_no_process_behind(tmp_path: Path) -> None:
    """``kill -9`` of the runner alone (not its group): tasks that were running may finish,
    but nothing the runner started may outlive them (no orphaned helper process)."""
    state = tmp_path / "state"
    flow_input = tmp_path / "flow-input.json"
    quick = [{"sleep": 0.3, "value": i} for i in range(1, ITEMS + 1)]
    flow_input.write_text(json.dumps({"items": quick}), encoding="utf-8")
    runner = subprocess.Popen(
        cli(str(PIPELINE), "-a", str(PIPELINES.parent / "algorithms"), "--flow-input",
            str(flow_input), "--state", str(state), "--workers", "2"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    started: set[int] = set()
    try:
        deadline = time.monotonic() + 30
        while True:
            assert runner.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no item finished in time"
            started |= descendants(runner.pid)
            jobs = list((state / "jobs").glob("*/journal.jsonl"))
            if jobs and journalled(jobs[0]):
                break
            time.sleep(0.02)
        started |= descendants(runner.pid)
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(timeout=10)
        until = time.monotonic() + 5  # more than the running tasks need to end
        while time.monotonic() < until and any(_alive(p) for p in started):
            time.sleep(0.1)
        left = sorted(p for p in started if _alive(p))
        commands = [Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                    for p in left if _alive(p)]
        assert not left, f"still running after the runner was killed: {commands}"
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        for pid in started:  # only processes this test started
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
