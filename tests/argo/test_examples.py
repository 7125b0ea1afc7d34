"""Examples on a real Argo (workflow-controller, argo server, argoexec) via argo-here."""

from __future__ import annotations

import json

import pytest

from .conftest import ROOT, cli, documents, ok, until

pytestmark = pytest.mark.argo

NUMBERS = ROOT / "examples" / "numbers"


def test_numbers_exec_raw_gives_expected_json(argo_env: dict[str, str]) -> None:
    for name in ("range", "multiply", "reduce"):
        ok(cli(argo_env, "algorithm", "apply", "-f", str(NUMBERS / "algorithms" / f"{name}.yaml")))
    (job,) = documents(ok(cli(argo_env, "exec", "raw", "-f", str(NUMBERS / "numbers.yaml"),
                              "--no-wait")).stdout)
    job_id = job["jobId"]
    def ended() -> dict | None:
        status = json.loads(ok(cli(argo_env, "exec", "status", job_id)).stdout)
        return status if status["status"] in ("completed", "failed", "stopped") else None

    status = until(ended, "the numbers job to end", timeout=900)
    result = json.loads(ok(cli(argo_env, "exec", "result", job_id)).stdout)
    expected = json.loads((NUMBERS / "expected.json").read_text())
    assert status["status"] == "completed", (status, result)
    assert result["data"] == expected
