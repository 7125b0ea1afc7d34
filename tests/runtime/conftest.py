"""Fixtures of the runtime wrapper tests: an empty task folder per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from .harness import Task


@pytest.fixture
def task(tmp_path: Path) -> Task:
    root = tmp_path / "task"
    root.mkdir()
    return Task(root)
