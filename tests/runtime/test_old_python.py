"""Image algorithms run the wrapper with their image's own python3, which may be old
(HKube's builder used python:3.8). The wrapper, copied in by ``runtime.install``, must work
there: these tests run it under Python 3.8 when this machine has one (pyenv does)."""

from __future__ import annotations

import glob
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .harness import Task, explain, run_spec
from .test_zip_max import zip_task


def _python38() -> str | None:
    """A Python 3.8 that really runs (pyenv's shim answers even when it cannot)."""
    candidates = sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.8*/bin/python3.8")))
    for path in [*reversed(candidates), shutil.which("python3.8")]:
        if path and subprocess.run([path, "-c", "pass"], capture_output=True,
                                   check=False).returncode == 0:
            return path
    return None


PY38 = _python38()
pytestmark = pytest.mark.skipif(PY38 is None, reason="no Python 3.8 on this machine")


@pytest.fixture
def old(task: Task, tmp_path: Path) -> Task:
    """The task run as in an image: Python 3.8, the runtime from ``runtime.install``."""
    runtime = tmp_path / "h2a-runtime"
    subprocess.run([sys.executable, "-m", "hkube2argo.runtime.install", str(runtime)],
                   check=True)
    task.interpreter = PY38  # type: ignore[assignment]
    task.extra_env = {"PYTHONPATH": str(runtime)}
    return task


def test_run_under_python38(old: Task) -> None:
    old.code("echo.py").spec(run_spec(entry="echo.py", input=[1, "a"], routes=[
        {"task": "down", "slot": "r0", "place": "shared"}]))
    proc = old.run("run")
    assert proc.returncode == 0, explain(proc)
    assert old.out("inbox/down/shared/r0.json")["result"] == [1, "a"]


def test_bytes_result_under_python38(old: Task) -> None:
    old.code("returns_bytes.py").spec(run_spec(entry="returns_bytes.py", routes=[
        {"task": "down", "slot": "r0", "place": "shared"}]))
    proc = old.run("run")
    assert proc.returncode == 0, explain(proc)
    assert "resultBytes" in old.out("inbox/down/shared/r0.json")


def test_steps_under_python38(old: Task) -> None:
    items = zip_task(old, "cartesian", [{"slot": "r0", "raw": [{"range": [1, 2]}]},
                                        {"slot": "r1", "raw": [{"value": "x"}]}])
    assert [{k: v["result"] for k, v in item.items()} for item in items] == [
        {"r0": 1, "r1": "x"}, {"r0": 2, "r1": "x"}]


def test_every_runtime_module_imports_under_python38(tmp_path: Path) -> None:
    runtime = tmp_path / "h2a-runtime"
    subprocess.run([sys.executable, "-m", "hkube2argo.runtime.install", str(runtime)],
                   check=True)
    modules = sorted(p.stem for p in (runtime / "hkube2argo" / "runtime").glob("*.py"))
    assert {"progress", "jobstatus", "tolerance", "tasks"} <= set(modules)
    code = "; ".join(f"import hkube2argo.runtime.{m}" for m in modules)
    proc = subprocess.run([PY38, "-c", code], capture_output=True, text=True, check=False,
                          env={"PYTHONPATH": str(runtime), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
