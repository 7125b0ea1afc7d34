"""A real Argo on this machine for the session: tools/argo-here start ... stop.

Tests here are marked ``argo`` and are not part of the default run (pyproject's addopts
deselect them); run them with ``pytest -m argo``. They need root (mount and network
namespaces) and the Go binaries (``tools/argohere/build``, which ``start`` runs if needed).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARGO_HERE = ROOT / "tools" / "argo-here"


@pytest.fixture(scope="session")
def argo_env() -> Iterator[dict[str, str]]:
    """The environment hkube2argo's CLI needs to talk to the argo-here instance."""
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("argo-here needs root on Linux (mount and network namespaces)")
    state = Path(tempfile.mkdtemp(prefix="argo-here-test-"))
    env = {**os.environ, "ARGO_HERE_STATE": str(state), "ARGO_HERE_PYTHON": sys.executable}
    for name in [k for k in env if k.startswith(("ARGO_SERVER", "ARGO_TOKEN", "HKUBE2ARGO_"))]:
        del env[name]
    try:
        started = subprocess.run([str(ARGO_HERE), "start"], env=env, capture_output=True,
                                 text=True, timeout=1800)
        if started.returncode != 0:
            logs = state / "logs"
            tails = "".join(f"\n--- {p.name}\n" + p.read_text(errors="replace")[-3000:]
                            for p in sorted(logs.glob("*.log"))) if logs.exists() else ""
            pytest.fail(f"argo-here start failed: {started.stderr}{tails}")
        exports = {}
        for line in started.stdout.splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            exports[name] = shlex.split(value)[0] if value else ""
        yield {**env, **exports, "ARGO_HERE_LOGS": str(state / "logs")}
    finally:
        subprocess.run([str(ARGO_HERE), "stop"], env=env, capture_output=True, timeout=180)
        for bulky in ("node", "etcd"):  # the logs (a few MB) stay for a failure's reader
            shutil.rmtree(state / bulky, ignore_errors=True)


def cli(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """hkube2argo's own command line, as a user would type it after eval "$(argo-here start)"."""
    return subprocess.run([sys.executable, "-m", "hkube2argo", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (
        f"{result.args}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def documents(text: str) -> list[Any]:
    decoder = json.JSONDecoder()
    out, at, text = [], 0, text.strip()
    while at < len(text):
        value, at = decoder.raw_decode(text, at)
        out.append(value)
        while at < len(text) and text[at].isspace():
            at += 1
    return out


def until(check: Callable[[], Any], what: str, timeout: float = 600) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"{what}: not after {timeout}s")
