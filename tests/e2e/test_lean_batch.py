"""Batch nodes without a collect step: read whole (``@Items``) by a node that runs once,
which judges HKube's batchTolerance itself (the results step does for a leaf). Whoever
counted the batch tells the judges its size, so an item that crashed and left nothing is
still counted as failed, however the batch was counted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import RunFn, describe, entries

ITEMS = [{"value": i} for i in range(1, 6)] + [{"crash": True}]  # the last one crashes
LOST = "the task crashed or was lost"

# how Items gets its six items: each way has a different step that counts them
COUNTERS: dict[str, list[dict[str, Any]]] = {
    "flowInput": [{"nodeName": "Items", "algorithmName": "probe",
                   "input": ["#@flowInput.items"]}],
    "plain-parent": [{"nodeName": "P", "algorithmName": "echo", "input": ["@flowInput.items"]},
                     {"nodeName": "Items", "algorithmName": "probe", "input": ["#@P.0"]}],
    "zip": [{"nodeName": "Items", "algorithmName": "probe",
             "input": ["#@flowInput.items", "#[1,2,3,4,5,6]"]}],
    "batch-on-batch": [{"nodeName": "A", "algorithmName": "probe",
                        "input": ["#@flowInput.wrapped"]},
                       {"nodeName": "Items", "algorithmName": "probe", "input": ["#@A"]}],
}


def pipeline(tmp_path: Path, counter: str, tolerance: int, marker: Path) -> Path:
    nodes = [dict(n) for n in COUNTERS[counter]]
    items = next(n for n in nodes if n["nodeName"] == "Items")
    items.update(includeInResults=True, retry={"policy": "Never"})
    nodes.append({"nodeName": "Reader", "algorithmName": "probe",
                  "input": [{"append": str(marker)}, "@Items"],
                  "retry": {"policy": "Always", "limit": 3}})
    data = {"name": f"lean-{counter}", "nodes": nodes, "options": {"batchTolerance": tolerance},
            "flowInput": {"items": ITEMS, "wrapped": [{"value": v} for v in ITEMS]}}
    path = tmp_path / f"{counter}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("counter", list(COUNTERS))
def test_a_crashed_item_is_counted_and_reported(run: RunFn, tmp_path: Path,
                                                counter: str) -> None:
    marker = tmp_path / "reader.txt"
    result = run(pipeline(tmp_path, counter, 80, marker))  # 1 of 6 failed: 17% < 80%
    assert result.status == "completed", describe(result)
    got = entries(result, "Items")
    assert [e["batchIndex"] for e in got] == [1, 2, 3, 4, 5, 6]
    assert [e.get("result") for e in got[:5]] == [1, 2, 3, 4, 5]
    assert got[5]["error"] == LOST
    assert marker.read_text(encoding="utf-8").splitlines() == ["Reader 0"]


@pytest.mark.parametrize("counter", ["flowInput", "batch-on-batch"])
def test_the_reader_fails_the_pipeline_in_the_batch_nodes_name(run: RunFn, tmp_path: Path,
                                                               counter: str) -> None:
    marker = tmp_path / "reader.txt"
    result = run(pipeline(tmp_path, counter, 10, marker))  # 1 of 6 failed: 17% >= 10%
    assert result.status == "failed", describe(result)
    assert result.node == "Items"
    assert result.error == f"1/6 (17%) failed tasks, batch tolerance is 10%, error: {LOST}"
    assert not marker.exists()  # the reader's algorithm never ran
    # judged once: a tolerance failure is not retried, even under policy Always
    reader_attempts = result.stats["attempts"] - result.stats["containers"]
    assert reader_attempts == 0, result.stats


def test_a_batch_with_a_collect_step_reports_its_crashed_item_too(run: RunFn,
                                                                   tmp_path: Path) -> None:
    # A is read item by item (#@A): its collect step judges it and writes the summary the
    # results step needs for an item that left nothing
    data = {"name": "collected", "options": {"batchTolerance": 80}, "flowInput": {"items": ITEMS},
            "nodes": [{"nodeName": "A", "algorithmName": "probe", "input": ["#@flowInput.items"],
                       "includeInResults": True, "retry": {"policy": "Never"}},
                      {"nodeName": "B", "algorithmName": "echo", "input": ["#@A"]}]}
    path = tmp_path / "collected.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = run(path)
    assert result.status == "completed", describe(result)
    got = entries(result, "A")
    assert [e["batchIndex"] for e in got] == [1, 2, 3, 4, 5, 6]
    assert got[5]["error"] == LOST
    assert [e["result"] for e in entries(result, "B")] == [[1], [2], [3], [4], [5]]
