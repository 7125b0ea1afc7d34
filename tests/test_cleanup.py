"""podGC and ttlStrategy: emitted with defaults, set by compile options, accepted and (for
podGC) honoured by the local runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hkube2argo import lint
from hkube2argo.cli import main
from hkube2argo.compiler import compile_manifests
from hkube2argo.config import DEFAULT
from hkube2argo.runner.run import Runner, StorageSpec
from hkube2argo.validate import plan_pipeline
from tests.conftest import EXAMPLES

NUMBERS = EXAMPLES / "numbers" / "numbers.yaml"
NUMBER_ALGS = EXAMPLES / "numbers" / "algorithms"
E2E_ALGS = Path(__file__).parent / "e2e" / "algorithms"


def _compiled(**config: object) -> dict:
    plan = plan_pipeline(NUMBERS, [NUMBER_ALGS])
    return compile_manifests(plan, DEFAULT.with_overrides(**config)).workflow


def test_defaults_delete_succeeded_pods_and_old_runs() -> None:
    manifests = compile_manifests(plan_pipeline(NUMBERS, [NUMBER_ALGS]), DEFAULT)
    for doc in (manifests.workflow, manifests.workflow_template):
        assert doc["spec"]["podGC"] == {"strategy": "OnPodSuccess"}
        assert doc["spec"]["ttlStrategy"] == {"secondsAfterCompletion": 7 * 24 * 3600}


def test_options_change_them() -> None:
    spec = _compiled(pod_gc="OnWorkflowCompletion", workflow_ttl=3600)["spec"]
    assert spec["podGC"] == {"strategy": "OnWorkflowCompletion"}
    assert spec["ttlStrategy"] == {"secondsAfterCompletion": 3600}
    kept = _compiled(pod_gc="Never", workflow_ttl=0)["spec"]
    assert "podGC" not in kept and "ttlStrategy" not in kept
    assert lint.lint([_compiled(pod_gc="OnPodCompletion")]) == []


def test_cli_options(in_repo_root: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["compile", str(NUMBERS), "-a", str(NUMBER_ALGS),
                               "--pod-gc", "Never", "--workflow-ttl", "60"])
    assert out.exit_code == 0, out.output
    assert "podGC" not in out.output and "secondsAfterCompletion: 60" in out.output
    bad = runner.invoke(main, ["compile", str(NUMBERS), "-a", str(NUMBER_ALGS),
                               "--pod-gc", "Sometimes"])
    assert bad.exit_code == 2 and "OnPodSuccess" in bad.output
    negative = runner.invoke(main, ["compile", str(NUMBERS), "-a", str(NUMBER_ALGS),
                                    "--workflow-ttl", "-1"])
    assert negative.exit_code == 2


def _sandboxes(state: Path, job_id: str) -> dict[str, list[bool]]:
    """Task folder -> for each attempt: is its pod filesystem (tmp) still there."""
    out: dict[str, list[bool]] = {}
    for task in sorted((state / "jobs" / job_id / "tasks").iterdir()):
        out[task.name] = [(a / "tmp").is_dir() for a in sorted(task.glob("attempt-*"))]
    return out


@pytest.mark.parametrize(("strategy", "kept"), [("OnPodSuccess", False), ("Never", True),
                                                ("OnWorkflowSuccess", False)])
def test_runner_deletes_pods_as_argo_would(tmp_path: Path, strategy: str, kept: bool) -> None:
    runner = Runner(tmp_path, workers=2, config=DEFAULT.with_overrides(pod_gc=strategy),
                    warm=False)
    result = runner.start(NUMBERS, [NUMBER_ALGS], StorageSpec())
    assert result.status == "completed"
    sandboxes = _sandboxes(tmp_path, result.job_id)
    assert sandboxes and all(all(s is kept for s in v) for v in sandboxes.values())
    # the logs stay, as archived logs would
    assert all((t / "attempt-0" / "log.txt").is_file()
               for t in (tmp_path / "jobs" / result.job_id / "tasks").iterdir())


def test_on_pod_success_keeps_failed_pods(tmp_path: Path) -> None:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("name: p\nnodes:\n  - {nodeName: A, algorithmName: raiser, "
                        "input: [1]}\n")
    runner = Runner(tmp_path / "state", workers=1, warm=False)
    result = runner.start(pipeline, [E2E_ALGS], StorageSpec())
    assert result.status == "failed"
    sandboxes = _sandboxes(tmp_path / "state", result.job_id)
    failed = [v for k, v in sandboxes.items() if k.startswith("A")]
    assert failed and all(all(v) for v in failed)  # every failed attempt's pod stays


def test_runner_refuses_a_strategy_argo_does_not_know(tmp_path: Path) -> None:
    from hkube2argo.runner import support
    from hkube2argo.runner.tags import Unsupported

    workflow = _compiled()
    workflow["spec"]["podGC"] = {"strategy": "OnFriday"}
    with pytest.raises(Unsupported, match="OnFriday"):
        support.check(workflow)
    workflow["spec"]["podGC"] = {"strategy": "OnPodSuccess"}
    workflow["spec"]["ttlStrategy"] = {"secondsAfterCompletion": "soon"}
    with pytest.raises(Unsupported, match="secondsAfterCompletion"):
        support.check(workflow)
