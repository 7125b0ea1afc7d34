"""Every example runs locally to HKube's result document (expected.json), deterministically."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import (
    EXAMPLES,
    NUMBERS_ALGORITHMS,
    describe,
    example_cases,
    expected_data,
    run_pipeline,
)

CASES = example_cases()


def test_every_example_is_covered() -> None:
    folders = {p.name for p in EXAMPLES.iterdir() if (p / "expected.json").is_file()}
    assert folders == {name for name, _, _ in CASES}


@pytest.mark.parametrize(("name", "pipeline", "algorithms"), CASES, ids=[c[0] for c in CASES])
def test_example(tmp_path: Path, name: str, pipeline: Path, algorithms: Path) -> None:
    result = run_pipeline(tmp_path, pipeline, [algorithms])
    assert result.status == "completed", describe(result)
    assert result.document["data"] == expected_data(pipeline)
    assert result.document["status"] == "completed"
    assert result.document["jobId"] == result.job_id
    assert result.document["pipeline"] == name


def test_numbers_is_deterministic(tmp_path: Path) -> None:
    pipeline = EXAMPLES / "numbers" / "numbers.yaml"
    first = run_pipeline(tmp_path / "one", pipeline, [NUMBERS_ALGORITHMS])
    second = run_pipeline(tmp_path / "two", pipeline, [NUMBERS_ALGORITHMS])
    assert first.status == second.status == "completed"
    assert first.job_id != second.job_id
    assert first.document["data"] == second.document["data"] == expected_data(pipeline)
