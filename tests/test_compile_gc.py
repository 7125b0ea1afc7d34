"""The compile stage runs with the cyclic GC off and always turns it back on."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from hkube2argo import compiler, lint
from hkube2argo.compiler import compile_file

NUMBERS = Path(__file__).resolve().parent.parent / "examples" / "numbers"


def test_gc_is_off_while_compiling_and_on_after(monkeypatch):
    seen = []
    real = lint.lint
    monkeypatch.setattr(lint, "lint", lambda docs: seen.append(gc.isenabled()) or real(docs))
    output = compile_file(NUMBERS / "numbers.yaml", [NUMBERS / "algorithms"])
    assert seen == [False]
    assert gc.isenabled()
    assert output.files()
    assert gc.isenabled()


def test_gc_comes_back_after_a_failure(monkeypatch):
    def boom(docs):
        raise RuntimeError("boom")
    monkeypatch.setattr(lint, "lint", boom)
    with pytest.raises(RuntimeError):
        compile_file(NUMBERS / "numbers.yaml", [NUMBERS / "algorithms"])
    assert gc.isenabled()


def test_a_caller_that_turned_gc_off_keeps_it_off():
    gc.disable()
    try:
        compiler.compile_file(NUMBERS / "numbers.yaml", [NUMBERS / "algorithms"])
        assert not gc.isenabled()
    finally:
        gc.enable()
