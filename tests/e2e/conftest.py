"""End-to-end fixtures: run pipelines with the local runner (two workers, state in tmp)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from hkube2argo.runner.run import Runner, RunResult, StorageSpec

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
EXAMPLES = ROOT / "examples"
SHARED_ALGORITHMS = EXAMPLES / "algorithms"
NUMBERS_ALGORITHMS = EXAMPLES / "numbers" / "algorithms"
PIPELINES = HERE / "pipelines"
ALGORITHMS = HERE / "algorithms"
WORKERS = 2

RunFn = Callable[..., RunResult]


def example_cases() -> list[tuple[str, Path, Path]]:
    """(name, pipeline, algorithms) for every example with an expected.json."""
    cases = [("numbers", EXAMPLES / "numbers" / "numbers.yaml", NUMBERS_ALGORITHMS)]
    for folder in sorted(p for p in EXAMPLES.iterdir() if (p / "pipeline.yaml").is_file()):
        cases.append((folder.name, folder / "pipeline.yaml", SHARED_ALGORITHMS))
    return cases


def expected_data(pipeline: Path) -> Any:
    return json.loads((pipeline.parent / "expected.json").read_text(encoding="utf-8"))


def run_pipeline(state: Path, pipeline: str | Path,
                 algorithms: Sequence[str | Path] = (ALGORITHMS,),
                 flow_input: dict[str, Any] | None = None,
                 overrides: dict[str, Any] | None = None,
                 storage: StorageSpec | None = None) -> RunResult:
    path = Path(pipeline)
    if not path.is_absolute() and not path.exists():
        path = PIPELINES / path
    return Runner(state, WORKERS).start(path, list(algorithms), storage or StorageSpec(),
                                        flow_input=flow_input, overrides=overrides or {})


@pytest.fixture
def run(tmp_path: Path) -> RunFn:
    """``run("name.yaml", overrides=...)``: a pipeline of tests/e2e/pipelines (or any path)
    with tests/e2e/algorithms, its state under this test's tmp_path."""
    state = tmp_path / "state"

    def go(pipeline: str | Path, algorithms: Sequence[str | Path] = (ALGORITHMS,),
           **kwargs: Any) -> RunResult:
        return run_pipeline(state, pipeline, algorithms, **kwargs)

    return go


def entries(result: RunResult, node: str) -> list[dict[str, Any]]:
    """The result entries of one node, in document order."""
    return [e for e in result.document["data"] if e["nodeName"] == node]


def describe(result: RunResult) -> str:
    """For assertion messages: what went wrong."""
    return (f"status={result.status} node={result.node} error={result.error}\n"
            f"{result.log_tail}")
