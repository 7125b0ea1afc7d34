"""``hkube2argo jobs list|prune``: local job records do not grow without limit."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from hkube2argo.cli import main
from hkube2argo.runner.housekeeping import list_jobs, parse_duration
from hkube2argo.runner.run import Runner, StorageSpec
from tests.conftest import EXAMPLES

NUMBERS = EXAMPLES / "numbers" / "numbers.yaml"
ALGORITHMS = EXAMPLES / "numbers" / "algorithms"


def cli(*args: str | Path):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def three_jobs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Three ended numbers jobs and one unfinished one (its result never written)."""
    state = tmp_path_factory.mktemp("state")
    runner = Runner(state, workers=2)
    ids = [runner.start(NUMBERS, [ALGORITHMS], StorageSpec()).job_id for _ in range(3)]
    unfinished = state / "jobs" / "numbers-zzzzz"
    shutil.copytree(state / "jobs" / ids[0], unfinished)
    (unfinished / "result.json").unlink()
    return state, ids


def _copy(state: Path, tmp_path: Path) -> Path:
    target = tmp_path / "state"
    shutil.copytree(state, target)
    for job in (target / "jobs").iterdir():  # job.json names no folder: storage follows state
        assert json.loads((job / "job.json").read_text())["storage"]["folder"] is None
    return target


def test_list_shows_every_job_oldest_first(three_jobs) -> None:
    state, ids = three_jobs
    listed = json.loads(cli("jobs", "list", "--state", state, "-o", "json").stdout)
    assert [j["jobId"] for j in listed if j["status"] == "completed"] == ids
    assert {j["jobId"]: j["status"] for j in listed}["numbers-zzzzz"] == "unfinished"
    assert all(j["bytes"] > 0 and j["pipeline"] == "numbers" for j in listed)
    table = cli("jobs", "list", "--state", state).stdout.splitlines()
    assert table[0].split() == ["JOB", "PIPELINE", "STATUS", "STARTED", "SIZE"]
    assert len(table) == 5


def test_prune_keep_removes_older_ended_jobs_and_their_data(three_jobs,
                                                             tmp_path: Path) -> None:
    state = _copy(three_jobs[0], tmp_path)
    ids = three_jobs[1]
    data = state / "storage" / "hkube2argo" / "hkube2argo" / "jobs"
    assert {p.name for p in data.iterdir()} == set(ids)
    dry = cli("jobs", "prune", "--state", state, "--keep", "1", "--dry-run")
    assert dry.exit_code == 0 and dry.stdout.count("would remove") == 2
    assert len(list((state / "jobs").iterdir())) == 4
    done = cli("jobs", "prune", "--state", state, "--keep", "1")
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in (state / "jobs").iterdir()) == sorted([ids[2],
                                                                         "numbers-zzzzz"])
    assert {p.name for p in data.iterdir()} == {ids[2]}
    # the stored algorithm code is not a job's: it stays
    assert (state / "storage" / "hkube2argo" / "hkube2argo" / "algorithms").is_dir()
    # the unfinished job survives even --keep 0
    cli("jobs", "prune", "--state", state, "--keep", "0")
    assert [p.name for p in (state / "jobs").iterdir()] == ["numbers-zzzzz"]


def test_prune_older_than(three_jobs, tmp_path: Path) -> None:
    state = _copy(three_jobs[0], tmp_path)
    assert cli("jobs", "prune", "--state", state, "--older-than", "1h").stdout == ""
    old = list_jobs(state)[0]
    result = json.loads((old.folder / "result.json").read_text())
    result["startTime"] = int((time.time() - 2 * 86400) * 1000)
    (old.folder / "result.json").write_text(json.dumps(result))
    done = cli("jobs", "prune", "--state", state, "--older-than", "1d12h")
    assert done.stdout.splitlines() == [f"removed {old.job_id} (completed)"]


def test_prune_needs_a_rule_and_a_real_duration(tmp_path: Path) -> None:
    assert "say what to prune" in cli("jobs", "prune", "--state", tmp_path).output
    bad = cli("jobs", "prune", "--state", tmp_path, "--older-than", "7 days")
    assert bad.exit_code == 2 and "is not a duration" in bad.output
    assert cli("jobs", "prune", "--state", tmp_path, "--keep", "-1").exit_code == 2


def test_state_folder_from_the_environment(three_jobs, monkeypatch) -> None:
    monkeypatch.setenv("HKUBE2ARGO_STATE", str(three_jobs[0]))
    assert len(json.loads(cli("jobs", "list", "-o", "json").stdout)) == 4


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("1d12h", 129600),
                                               ("2w", 1209600)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_prune_keeps_a_job_a_runner_holds(three_jobs, tmp_path: Path) -> None:
    """An ended job being resumed (its runner holds the job's lock) is not pulled from
    under it."""
    from hkube2argo.runner import joblock

    state = _copy(three_jobs[0], tmp_path)
    held = list_jobs(state)[0]
    with joblock.hold(held.folder):
        done = cli("jobs", "prune", "--state", state, "--keep", "0")
    assert f"kept {held.job_id}: a runner holds it" in done.stderr
    assert held.folder.is_dir() and (held.folder / "job.json").is_file()
    assert sorted(p.name for p in (state / "jobs").iterdir()) == [held.job_id, "numbers-zzzzz"]
