"""Commands import only what they use (issue 14 item 6): checked by the modules a fresh
interpreter holds after running the command, not by timing it (bench/startup.py times it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NUMBERS = ROOT / "examples" / "numbers"

# Runs the command in-process (click's standalone mode off) and prints the top-level
# packages and hkube2argo modules loaded.
PROBE = """
import json, sys
from hkube2argo.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
except BaseException:
    pass
print(json.dumps(sorted(sys.modules)))
"""

HEAVY = {"hera", "minio", "jsonschema", "referencing", "croniter", "urllib3"}


def loaded(tmp_path: Path, *argv: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def tops(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


@pytest.mark.parametrize("argv", [["--help"], ["exec", "status", "no-such-job"],
                                  ["exec", "--help"], ["pipeline", "list"]])
def test_help_and_records_import_no_checker_compiler_or_client(tmp_path, argv):
    modules = loaded(tmp_path, *argv)
    assert not tops(modules) & (HEAVY | {"pydantic"}), sorted(tops(modules) & HEAVY)
    assert not {"hkube2argo.compiler", "hkube2argo.emit", "hkube2argo.runner.run",
                "hkube2argo.validate", "hkube2argo.lint"} & modules


def test_validate_imports_no_compiler_lint_or_hera(tmp_path):
    modules = loaded(tmp_path, "validate", str(NUMBERS / "numbers.yaml"),
                     "-a", str(NUMBERS / "algorithms"))
    assert "hkube2argo.validate" in modules  # the probe ran the command
    assert not tops(modules) & HEAVY
    assert not {"hkube2argo.compiler", "hkube2argo.emit", "hkube2argo.runner.run"} & modules


def test_compile_imports_no_hera(tmp_path):
    modules = loaded(tmp_path, "compile", str(NUMBERS / "numbers.yaml"),
                     "-a", str(NUMBERS / "algorithms"), "-o", str(tmp_path / "out"))
    assert (tmp_path / "out" / "numbers.workflowtemplate.yaml").is_file()
    assert not tops(modules) & {"hera", "minio", "urllib3", "croniter"}
