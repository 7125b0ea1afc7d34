"""The runner beyond one run: trigger chains, partial reruns, debugging a node in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hkube2argo.cli import main
from hkube2argo.runner import executor
from hkube2argo.runner.run import RunError, Runner, StorageSpec, triggered_by
from tests.conftest import EXAMPLES

NUMBERS = EXAMPLES / "numbers" / "numbers.yaml"
NUMBER_ALGS = EXAMPLES / "numbers" / "algorithms"
SHARED_ALGS = EXAMPLES / "algorithms"


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture
def chain(tmp_path: Path) -> Path:
    """numbers -> child (reads the parent's result, merged with its stored flowInput) ->
    grandchild; and a pipeline triggered by a pipeline that never completes."""
    folder = tmp_path / "stored"
    _write(folder, "child.yaml", """
name: child
triggers: {pipelines: [numbers]}
flowInput: {note: stored}
nodes:
  - {nodeName: Show, algorithmName: echo, input: ["@flowInput.parent.0.result", "@flowInput.note"]}
""")
    _write(folder, "grandchild.yaml", """
name: grandchild
triggers: {pipelines: [child]}
nodes:
  - {nodeName: Twice, algorithmName: double, input: ["@flowInput.parent.0.result.0"]}
""")
    _write(folder, "after-broken.yaml", """
name: after-broken
triggers: {pipelines: [broken]}
nodes:
  - {nodeName: Never, algorithmName: first, input: [1]}
""")
    return folder


def test_trigger_chain_of_three(tmp_path: Path, chain: Path) -> None:
    result = CliRunner().invoke(main, [
        "run", str(NUMBERS), "-a", str(NUMBER_ALGS), "-a", str(SHARED_ALGS),
        "--pipelines", str(chain), "--state", str(tmp_path / "state")])
    assert result.exit_code == 0, result.output
    docs = json.loads(result.stdout)  # one JSON document: the list of runs
    assert [d["pipeline"] for d in docs] == ["numbers", "child", "grandchild"]
    assert docs[1]["data"][0]["result"] == [20, "stored"]  # parent data merged, stored kept
    assert docs[2]["data"][0]["result"] == 40
    as_yaml = CliRunner().invoke(main, [
        "run", str(NUMBERS), "-a", str(NUMBER_ALGS), "-a", str(SHARED_ALGS), "-o", "yaml",
        "--pipelines", str(chain), "--state", str(tmp_path / "state")])
    assert as_yaml.exit_code == 0, as_yaml.output
    assert [d["pipeline"] for d in yaml.safe_load_all(as_yaml.stdout)] == [
        "numbers", "child", "grandchild"]


def test_failed_parent_triggers_nothing(tmp_path: Path, chain: Path) -> None:
    broken = _write(tmp_path, "broken.yaml", """
name: broken
nodes:
  - {nodeName: Boom, algorithmName: first, input: ["@flowInput.x"], retry: {policy: Never}}
flowInput: {x: 1}
""")
    runner = Runner(tmp_path / "state", workers=2)
    # split = range(input[0]): a string makes it raise, and Never retries
    broken.write_text(broken.read_text().replace("algorithmName: first", "algorithmName: split")
                      .replace("{x: 1}", "{x: not-a-number}"))
    result = runner.start(broken, [SHARED_ALGS], StorageSpec())
    assert result.status == "failed" and result.node == "Boom"
    assert triggered_by(result, chain) == []
    completed = runner.start(NUMBERS, [NUMBER_ALGS], StorageSpec())
    assert [p.name for p in triggered_by(completed, chain)] == ["child.yaml"]


def test_from_job_reruns_only_the_named_nodes(tmp_path: Path) -> None:
    runner = Runner(tmp_path / "state", workers=2)
    first = runner.start(NUMBERS, [NUMBER_ALGS], StorageSpec())
    again = runner.start(NUMBERS, [NUMBER_ALGS], StorageSpec(), from_job=first.job_id,
                         rerun=["Reduce"])
    assert again.document["data"] == first.document["data"]
    # prepare, Reduce and results ran; Range and the 5 Multiply items were reused (Multiply
    # is read whole by Reduce alone: Reduce judges its tolerance, no collect step)
    assert again.stats["containers"] == 3 and again.stats["reused"] == 6
    whole = runner.start(NUMBERS, [NUMBER_ALGS], StorageSpec(), from_job=first.job_id,
                         rerun=["Range"])
    assert whole.stats["reused"] == 0  # everything depends on Range
    with pytest.raises(RunError, match="Nope"):
        runner.start(NUMBERS, [NUMBER_ALGS], StorageSpec(), from_job=first.job_id,
                     rerun=["Nope"])


def test_debug_node_runs_in_this_process(tmp_path: Path, monkeypatch, capfd) -> None:
    calls: list[list[str]] = []
    real = executor._in_process

    def spy(command, env, log):
        calls.append(command)
        return real(command, env, log)

    monkeypatch.setattr(executor, "_in_process", spy)
    result = Runner(tmp_path / "state", workers=2, debug_node="Multiply").start(
        NUMBERS, [NUMBER_ALGS], StorageSpec())
    assert result.document["data"][0]["result"] == 20
    assert len(calls) == 5 and all(c[3] == "run" for c in calls)
    # the algorithm printed into this process's stdout, not into a task log
    assert capfd.readouterr().out.count("algorithm: multiply start") == 5
    with pytest.raises(RunError, match="no node"):
        Runner(tmp_path / "state", debug_node="Missing").start(
            NUMBERS, [NUMBER_ALGS], StorageSpec())


def test_a_webhook_that_never_answers_is_tried_three_times_with_two_waits(monkeypatch) -> None:
    """The retry waits between attempts, not after the last one (that only delayed the
    exit handler)."""
    import socket

    from hkube2argo.runtime import webhooks

    waits: list[float] = []
    monkeypatch.setattr(webhooks.time, "sleep", waits.append)
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert webhooks.post(f"http://127.0.0.1:{port}/hook", {"a": 1}) is False
    assert waits == [0.5, 1.0]
