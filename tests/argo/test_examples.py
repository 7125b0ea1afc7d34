"""Every example on a real Argo (workflow-controller, argo server, argoexec) via argo-here:
submitted with ``exec raw`` as a user would, its ``exec result`` must be its expected.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import ROOT, cli, documents, ok, until

# start may build the Go parts first (tens of minutes on a cold cache)
pytestmark = [pytest.mark.argo, pytest.mark.timeout(3600)]

EXAMPLES = ROOT / "examples"
TERMINAL = ("completed", "failed", "stopped")


def cases() -> list[tuple[str, Path, Path]]:
    out = [("numbers", EXAMPLES / "numbers" / "numbers.yaml", EXAMPLES / "numbers" / "algorithms")]
    for folder in sorted(p for p in EXAMPLES.iterdir() if (p / "pipeline.yaml").is_file()):
        out.append((folder.name, folder / "pipeline.yaml", EXAMPLES / "algorithms"))
    return out


@pytest.fixture(scope="module")
def stored_algorithms(argo_env: dict[str, str]) -> dict[str, str]:
    for folder in {c[2] for c in cases()}:
        for descriptor in sorted(folder.glob("*.yaml")):
            ok(cli(argo_env, "algorithm", "apply", "-f", str(descriptor)))
    return argo_env


def run_to_end(env: dict[str, str], *submit: str) -> tuple[dict, dict]:
    (job,) = documents(ok(cli(env, *submit, "--no-wait")).stdout)
    job_id = job["jobId"]

    def ended() -> dict | None:
        status = json.loads(ok(cli(env, "exec", "status", job_id)).stdout)
        return status if status["status"] in TERMINAL else None

    status = until(ended, f"job {job_id} to end", timeout=900)
    return status, json.loads(ok(cli(env, "exec", "result", job_id)).stdout)


@pytest.mark.parametrize(("name", "pipeline"), [(c[0], c[1]) for c in cases()],
                         ids=[c[0] for c in cases()])
def test_exec_raw_gives_expected_json(stored_algorithms: dict[str, str], name: str,
                                      pipeline: Path) -> None:
    status, result = run_to_end(stored_algorithms, "exec", "raw", "-f", str(pipeline))
    expected = json.loads((pipeline.parent / "expected.json").read_text())
    assert status["status"] == "completed", (
        f"{name}: {status['status']} at node {result.get('nodeName')}: {result.get('error')}"
        f" (logs: {stored_algorithms['ARGO_HERE_LOGS']})")
    assert result["data"] == expected


def test_numbers_stored_then_exec_stored(stored_algorithms: dict[str, str]) -> None:
    numbers = EXAMPLES / "numbers" / "numbers.yaml"
    ok(cli(stored_algorithms, "pipeline", "store", "-f", str(numbers)))
    status, result = run_to_end(stored_algorithms, "exec", "stored", "numbers")
    assert status["status"] == "completed", (result.get("nodeName"), result.get("error"))
    assert result["data"] == json.loads((EXAMPLES / "numbers" / "expected.json").read_text())
