"""``zip`` (several batch sources into per-item inputs) and ``max`` (a group's loop size)."""

from __future__ import annotations

from typing import Any

from .harness import Task, explain, ok

RAW = {"slot": "r0", "raw": [{"range": [1, 3]}]}
STAGED = {"slot": "r2"}


def zip_task(task: Task, operation: str, sources: list[dict[str, Any]],
             staged: list[Any] | None = None) -> list[dict[str, Any]]:
    """Run ``zip``; return the items it wrote, ``{slot: envelope}`` per 1-based index."""
    task.write("spec.json", {"mode": "zip", "task": "n~zip", "target": "n",
                             "operation": operation, "sources": sources})
    for j, value in enumerate(staged or [], start=1):
        task.shared(f"r2/{j:06d}.json", ok(value))
    proc = task.run("zip")
    assert proc.returncode == 0, explain(proc)
    count = int(task.count("count"))
    items = []
    for i in range(1, count + 1):
        items.append({s["slot"]: task.out(f"inbox/n/{i}/{s['slot']}.json") for s in sources})
    assert not task.has_out(f"inbox/n/{count + 1}/r0.json")
    return items


def values(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    assert all(env["status"] == "succeed" for item in items for env in item.values())
    return [tuple(env["result"] for env in item.values()) for item in items]


def test_indexed_shorter_sources_give_null(task: Task) -> None:
    items = zip_task(task, "indexed", [RAW, STAGED], staged=[{"a": 1}, "b"])
    assert values(items) == [(1, {"a": 1}), (2, "b"), (3, None)]


def test_indexed_longer_staged_source(task: Task) -> None:
    raw = {"slot": "r0", "raw": [{"value": "x"}]}
    items = zip_task(task, "indexed", [STAGED, raw], staged=[10, 20, 30, 40])
    assert values(items) == [(10, "x"), (20, None), (30, None), (40, None)]


def test_cartesian_first_source_varies_slowest(task: Task) -> None:
    raw = {"slot": "r0", "raw": [{"value": "a"}, {"value": "b"}]}
    items = zip_task(task, "cartesian", [raw, STAGED], staged=[1, 2, 3])
    assert values(items) == [("a", 1), ("a", 2), ("a", 3), ("b", 1), ("b", 2), ("b", 3)]


def test_cartesian_with_an_empty_source_has_no_items(task: Task) -> None:
    assert zip_task(task, "cartesian", [RAW, STAGED]) == []  # no staged folder at all
    assert task.count("count") == "0"


def test_max(task: Task) -> None:
    proc = task.run("max", "--values", "3,5,2")
    assert proc.returncode == 0, explain(proc)
    assert task.count("count") == "5"
    proc = task.run("max", "--values", "")
    assert proc.returncode == 0, explain(proc)
    assert task.count("count") == "0"
