"""``collect``: HKube's batchTolerance over a batch node's items, the count of successful
items, their staged values re-indexed 1..M for ``#@Batch`` readers, and the summary."""

from __future__ import annotations

from typing import Any

import pytest

from .harness import Task, explain, failed, ok

SUMMARY = {"task": "results", "slot": "b--summary", "place": "shared"}
REINDEX = [
    {"task": "child", "slot": "r0", "from": "for-child-r0", "place": "split"},
    {"task": "child2~zip", "slot": "r1", "from": "for-child-r0", "place": "stage"},
]


def collect(task: Task, statuses: dict[int, dict[str, Any]], total: int, tolerance: int,
            routes: list[dict[str, Any]] | None = None) -> Any:
    task.write("spec.json", {"mode": "collect", "task": "b~collect", "nodeName": "b",
                             "tolerance": tolerance,
                             "routes": [SUMMARY] if routes is None else routes})
    for index, status in statuses.items():
        task.shared(f"status/{index:06d}.json", status)
    return task.run("collect", "--total", str(total))


def test_tolerated_failure_reindexes_the_successful_items(task: Task) -> None:
    statuses = {i: {"status": "succeed"} for i in (1, 2, 4, 5, 6)}
    statuses[3] = failed("item 3 broke")
    for i in range(1, 7):  # each item's value, staged by the items (fanin)
        task.shared(f"for-child-r0/{i:06d}.json", ok(f"v{i}") if i != 3 else failed("x"))
    proc = collect(task, statuses, total=6, tolerance=80, routes=[*REINDEX, SUMMARY])
    assert proc.returncode == 0, explain(proc)  # 1/6 = 17% < 80%
    assert task.count("count") == "5"
    for j, i in enumerate((1, 2, 4, 5, 6), start=1):
        assert task.out(f"inbox/child/{j}/r0.json") == ok(f"v{i}")
        assert task.out(f"inbox/child2~zip/shared/r1/{j:06d}.json") == ok(f"v{i}")
    assert not task.has_out("inbox/child/6/r0.json")
    summary = task.out("inbox/results/shared/b--summary.json")
    assert summary["status"] == "succeed"
    assert summary["result"]["total"] == 6
    assert summary["result"]["items"]["3"] == failed("item 3 broke")
    assert summary["result"]["items"]["1"] == {"status": "succeed"}


def test_tolerance_exceeded_with_a_missing_item_counted_as_failed(task: Task) -> None:
    statuses = {1: {"status": "succeed"}, 2: {"status": "succeed"}, 3: failed("boom3")}
    proc = collect(task, statuses, total=4, tolerance=50)  # item 4 crashed: no status
    assert proc.returncode == 4, explain(proc)
    # HKube reports the failure that reaches the tolerance: the lost item, counted last
    assert "2/4 (50%) failed tasks, batch tolerance is 50%, error: the task crashed or was " \
           "lost" in proc.stderr
    assert task.count("count") == "2"
    items = task.out("inbox/results/shared/b--summary.json")["result"]["items"]
    assert items["4"]["status"] == "failed"


@pytest.mark.parametrize(("failures", "total", "tolerance", "code"), [
    (1, 8, 13, 4),  # 12.5% rounds up to 13, as JavaScript does (Python's round gives 12)
    (1, 8, 14, 0),
    (0, 3, 0, 0),  # no failure never fails, even at tolerance 0
    (1, 3, 0, 4),  # tolerance 0: any failure fails
    (3, 3, 100, 4),  # 100: only when all fail
    (2, 3, 100, 0),
    # HKube: ((failed / total) * 100).toFixed(0) -> 23/40*100 = 57.49999999999999 -> "57"
    (23, 40, 58, 0),
])
def test_tolerance_rule(task: Task, failures: int, total: int, tolerance: int,
                        code: int) -> None:
    statuses = {i: failed(f"e{i}") if i <= failures else {"status": "succeed"}
                for i in range(1, total + 1)}
    proc = collect(task, statuses, total=total, tolerance=tolerance)
    assert proc.returncode == code, explain(proc)
    assert task.count("count") == str(total - failures)


def test_skipped_items_are_neither_failures_nor_successes(task: Task) -> None:
    statuses = {1: {"status": "succeed"}, 2: {"status": "skipped"}, 3: {"status": "succeed"}}
    task.shared("for-child-r0/000001.json", ok("a"))
    task.shared("for-child-r0/000003.json", ok("c"))
    proc = collect(task, statuses, total=3, tolerance=0, routes=[*REINDEX, SUMMARY])
    assert proc.returncode == 0, explain(proc)
    assert task.count("count") == "2"
    assert task.out("inbox/child/1/r0.json") == ok("a")
    assert task.out("inbox/child/2/r0.json") == ok("c")


def test_empty_batch(task: Task) -> None:
    route = {"task": "child", "slot": "r0", "from": "for-child-r0", "place": "split",
             "count": "n-child"}
    proc = collect(task, {}, total=0, tolerance=0, routes=[route, SUMMARY])
    assert proc.returncode == 0, explain(proc)
    assert task.count("count") == "0"
    assert task.count("n-child") == "0"
    assert task.out("inbox/results/shared/b--summary.json") == ok({"total": 0, "items": {}})


def test_tolerance_message_is_the_failure_that_reached_it_first(task: Task) -> None:
    """HKube checks at each failure as it happens: the one that crosses the tolerance is
    reported, even when a lower batch index failed later."""
    statuses = {1: {**failed("late"), "at": 50.0}, 2: {"status": "succeed"},
                3: {**failed("early"), "at": 10.0}, 4: {"status": "succeed"}}
    proc = collect(task, statuses, total=4, tolerance=25)
    assert proc.returncode == 4, explain(proc)
    assert "1/4 (25%) failed tasks, batch tolerance is 25%, error: early" in proc.stderr
