"""Shared test fixtures: where the repository's examples and corpora are."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CORPUS = Path(__file__).resolve().parent / "corpus"


@pytest.fixture
def in_repo_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from the repository root, where relative example paths (and the plan's
    code paths) are what the golden files expect."""
    monkeypatch.chdir(ROOT)
    return ROOT
