"""hkubectl-style commands on the embedded backend: a click group holding them, a state
folder with the numbers algorithms and pipeline stored, and output helpers."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from hkube2argo.hkubectl import COMMANDS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
NUMBERS = ROOT / "examples" / "numbers" / "numbers.yaml"
NUMBER_ALGORITHMS = ROOT / "examples" / "numbers" / "algorithms"
SLEEPER = HERE / "algorithms" / "sleeper.yaml"


def cli_group() -> click.Group:
    """What cli.py's main holds once the groups are registered."""

    @click.group()
    def main() -> None:
        """hkube2argo (test)."""

    for command in COMMANDS:
        main.add_command(command)
    return main


CLI = cli_group()
Invoke = Callable[..., Result]


def invoke(state: Path | None, *args: str | Path) -> Result:
    words = [str(a) for a in args]
    if state is not None:
        words += ["--state", str(state)]
    return CliRunner().invoke(CLI, words)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.output}"
    return result


def one_line_error(result: Result) -> str:
    """Exit 1, nothing on stdout, one line on stderr (no traceback)."""
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def until(check: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def gone(pid: int) -> bool:
    """No such process (a zombie waiting for a parent that does not reap counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


@pytest.fixture(autouse=True, scope="session")
def _no_argo() -> Iterator[None]:
    """These tests are about the embedded backend, whatever the environment says."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("ARGO_SERVER", raising=False)
        yield


def setup_state(state: Path) -> Path:
    for name in ("range", "multiply", "reduce"):
        ok(invoke(state, "algorithm", "apply", "-f", NUMBER_ALGORITHMS / f"{name}.yaml"))
    ok(invoke(state, "algorithm", "apply", "-f", SLEEPER))
    ok(invoke(state, "pipeline", "store", "-f", NUMBERS))
    return state


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state folder with the numbers algorithms, the sleeper and numbers stored."""
    return setup_state(tmp_path_factory.mktemp("state"))


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    """The same, for a test that deletes things."""
    return setup_state(tmp_path / "state")
