"""HKube's batchTolerance, judged from the items' envelopes.

A collect step judges it for the batch nodes that have one; otherwise every task that
waits for the whole batch (its readers that run once, and the results step) judges it
from the envelopes it reads anyway. Either way: the batch's size comes from whoever
counted it, an item that crashed left no envelope and counts as failed.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from . import io
from .values import failed

LOST = "the task crashed or was lost"


def percent(failures: int, total: int) -> int:
    """HKube's ``((failed / total) * 100).toFixed(0)``: the same float, computed in the same
    order, rounded half up on its exact binary value (23/40 gives 57.49999999999999: 57)."""
    return int(Decimal(failures / total * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def records(items: dict[int, dict[str, Any]], total: int) -> dict[int, dict[str, Any]]:
    """Every item 1..total, a crashed one (no envelope) as failed with no time: last."""
    lost = {**failed(LOST), "at": float("inf")}
    return {i: items.get(i) or lost for i in range(1, total + 1)}


def exceeded(items: dict[int, dict[str, Any]], total: int, tolerance: int) -> str | None:
    """HKube checks at each failure, in the order they happen, and fails at the first one
    that reaches the tolerance: that moment's message (its count and its error), or None."""
    failures = sorted((r.get("at", 0.0), r.get("error", ""))
                      for r in records(items, total).values() if r.get("status") == "failed")
    for count, (_, error) in enumerate(failures, start=1):
        share = percent(count, total)
        if share >= tolerance:
            return (f"{count}/{total} ({share}%) failed tasks, batch tolerance is "
                    f"{tolerance}%, error: {error}")
    return None


def size(check: dict[str, Any], items: dict[int, Any]) -> int:
    """The batch's size: known at compile time, or routed into the inbox by its counter."""
    if "total" in check:
        return int(check["total"])
    envelope = io.read_optional(io.inbox("shared", f"{check['size']}.json"))
    if envelope is not None:
        return int(envelope["result"])
    return max(items, default=0)  # not expected: the counter ran before the batch


def judge(check: dict[str, Any]) -> bool:
    """A lean batch node's tolerance, judged by one of its readers: False (and HKube's
    message on stderr, naming the batch node) when the pipeline must fail."""
    items = io.read_indexed(io.inbox("shared", check["slot"]))
    message = exceeded(items, size(check, items), check["tolerance"])
    if message is None:
        return True
    io.report_failure(check["nodeName"], message)
    return False
