"""Routes: a task writes what each reader needs straight into that reader's inbox.

A route is ``{"task", "slot", "path", "place"}`` (the compiler computes them):

- ``shared``: the value, for every item of the reader (``inbox/<task>/shared/<slot>.json``)
- ``fanin``: this batch item's value, one file per index (``.../shared/<slot>/<index>.json``)
- ``item``: this item's value for the reader's item of the same index (wait-any)
- ``split``: an array's elements, one per reader item (``inbox/<task>/<j>/<slot>.json``);
  its length is written as a count, which Argo turns into the reader's loop size
- ``stage``: an array's elements into a shared folder (a zip or collect step re-reads them)
- ``status``: only the status of this item (for the collect step)

A route that writes a count may also carry ``sizeTo``: inboxes that get the same number
(the readers that judge a lean batch's tolerance, see ``tolerance.py``). A failed
item's envelope carries ``at``, when it ended: HKube judges tolerance at each failure.

Everything is an envelope (``values.succeeded``/``failed``), so a reader can tell a
value from an error. Writing several small files costs writes, not reads: each reader
reads exactly what it uses.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from . import io, layout
from .values import MISSING, lookup, project, succeeded, unwrap


def _elements(envelope: dict[str, Any]) -> list[Any]:
    """The items a batch over this value runs on; not an array: none (HKube skips)."""
    if envelope.get("status") != "succeed":
        return []
    value = unwrap(envelope)
    return value if isinstance(value, list) else []


def missing_split(routes: list[dict[str, Any]], envelope: dict[str, Any]) -> str | None:
    """The path a ``#@Node.path`` reader fans out over that this result lacks, as
    ``a.b``; None when every such path exists. HKube's driver fails the pipeline there
    (the path has no metadata: ``storage-parser.js`` reads ``metadata.size`` of null); a
    path that exists but holds no array only gives an empty batch."""
    if envelope.get("status") != "succeed":
        return None
    for route in routes:
        path = route.get("path") or []
        if route["place"] in ("split", "stage") and path \
                and lookup(unwrap(envelope), path) is MISSING:
            return ".".join(str(p) for p in path)
    return None


def write(routes: list[dict[str, Any]], envelope: dict[str, Any], index: int) -> None:
    """Send ``envelope`` (this task's outcome, item ``index``) along every route."""
    for route in routes:
        task, slot, place = route["task"], route["slot"], route["place"]
        shaped = project(envelope, route.get("path") or [])
        if place == "shared":
            io.write_json(io.outbox(f"{layout.inbox_shared(task)}/{slot}.json"), shaped)
        elif place == "fanin":
            if shaped.get("status") == "failed":
                shaped = {**shaped, "at": time.time()}
            io.write_json(io.outbox(f"{layout.inbox_shared(task)}/{slot}/"
                                    f"{layout.item_file(index)}"), shaped)
        elif place == "status":
            status = {k: v for k, v in shaped.items() if k in ("status", "error")}
            status["at"] = time.time()
            io.write_json(io.outbox(f"{layout.inbox_shared(task)}/{slot}/"
                                    f"{layout.item_file(index)}"), status)
        elif place == "item":
            io.write_json(io.outbox(f"{layout.inbox_item(task, index)}/{slot}.json"), shaped)
        elif place in ("split", "stage"):
            write_elements(route, _elements(shaped))
        else:
            raise ValueError(f"unknown route place {place!r}")


def write_elements(route: dict[str, Any], elements: list[Any]) -> None:
    """One file per element, 1-based, as a split or a staged list; records the count."""
    task, slot = route["task"], route["slot"]
    for j, element in enumerate(elements, start=1):
        if route["place"] == "split":
            key = f"{layout.inbox_item(task, j)}/{slot}.json"
        else:
            key = f"{layout.inbox_shared(task)}/{slot}/{layout.item_file(j)}"
        io.write_json(io.outbox(key), succeeded(element))
    if route.get("count"):
        io.write_count(route["count"], len(elements))
        write_sizes(route.get("sizeTo", ()), len(elements))


def write_sizes(dests: Iterable[dict[str, str]], size: int) -> None:
    """A batch's size into the inboxes of the tasks that judge its tolerance."""
    for dest in dests:
        io.write_json(io.outbox(f"{layout.inbox_shared(dest['task'])}/{dest['slot']}.json"),
                      succeeded(size))
