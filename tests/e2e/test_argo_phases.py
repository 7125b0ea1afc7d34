"""Infrastructure errors on batch items, as Argo phases them (docs/argo-fidelity.md
item 5): an item whose outputs cannot be uploaded ends in Error (operator.go
inferFailedReason: the wait container failed), the loop node takes its last failed or
errored item's phase (dag.go executeDAGTask), and only ``continueOn.error`` lets the
tolerance judge after it run (ancestry.go expandDependency)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hkube2argo.emit import dag, shapes
from hkube2argo.runner import run as runner_run
from hkube2argo.runner.run import StorageSpec
from hkube2argo.runner.store import Store

from .conftest import EXAMPLES, NUMBERS_ALGORITHMS, describe, entries

NUMBERS = EXAMPLES / "numbers" / "numbers.yaml"


class FailingUploads:
    """Storage that refuses the uploads of one batch item's envelopes."""

    def __init__(self, inner: Store, index: int):
        self.inner, self.suffix = inner, f"/{index:06d}.json"

    def get(self, key: str) -> bytes | None:
        return self.inner.get(key)

    def put(self, key: str, data: bytes) -> None:
        if "/shared/" in key and key.endswith(self.suffix):
            raise ConnectionError("connection reset by peer")
        self.inner.put(key, data)

    def list(self, prefix: str) -> list[str]:
        return self.inner.list(prefix)

    def describe(self) -> str:
        return self.inner.describe()

    def until(self, deadline: float | None) -> None:
        self.inner.until(deadline)


@pytest.fixture
def item_2_uploads_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    opened = StorageSpec.open
    monkeypatch.setattr(StorageSpec, "open",
                        lambda self, state, bucket: FailingUploads(opened(self, state, bucket), 2))


def nodes(folder: Path) -> dict[str, dict[str, Any]]:
    by_id = json.loads((folder / "nodes.json").read_text(encoding="utf-8"))
    return {n["displayName"]: n for n in by_id.values()}


def test_errored_item_is_counted_as_failed_by_the_tolerance_judge(
        tmp_path: Path, item_2_uploads_fail: None) -> None:
    result = runner_run.Runner(tmp_path / "s", 2).start(NUMBERS, [NUMBERS_ALGORITHMS],
                                                         StorageSpec())
    assert result.status == "completed", describe(result)
    assert result.phase == "Succeeded"
    # item 2 (2 * 1) never reached Reduce: 0 + 4 + 6 + 8
    assert entries(result, "Reduce")[0]["result"] == 18
    got = nodes(result.folder)
    item = got["Multiply(1:2)"]
    assert (item["type"], item["phase"], item["message"]) == \
        ("Retry", "Error", "No more retries left")
    attempts = [got[f"Multiply(1:2)({n})"] for n in range(4)]  # limit 3: four pods
    assert {a["phase"] for a in attempts} == {"Error"}
    assert all(a["message"].startswith("wait: Error (exit code 1): failed to put directory: ")
               and a["message"].endswith("; ") for a in attempts)
    assert got["Multiply"]["type"] == "TaskGroup" and got["Multiply"]["phase"] == "Error"
    assert got["Reduce"]["phase"] == "Succeeded"


def test_continue_on_failed_alone_ends_the_run_in_error(
        tmp_path: Path, item_2_uploads_fail: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dag, "TOLERATE", shapes.ContinueOn(failed=True))  # the old manifests
    result = runner_run.Runner(tmp_path / "s", 2).start(NUMBERS, [NUMBERS_ALGORITHMS],
                                                         StorageSpec())
    assert result.status == "failed"
    assert result.phase == "Error"
    got = nodes(result.folder)
    assert got["Multiply"]["phase"] == "Error"
    assert (got["Reduce"]["type"], got["Reduce"]["phase"]) == ("Skipped", "Omitted")
    assert got[result.job_id]["phase"] == "Error"
