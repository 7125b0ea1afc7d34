"""Building ``args['input']``: the node's input as written, each reference filled in.

The spec lists each reference with its location in ``input`` and where its value waits:
``shared`` (one file), ``fanin`` (one file per upstream item, gathered in batch-index
order, failed items left out), ``item`` (this batch item's own file), ``raw`` (an item of
a ``#[...]`` literal, computed here). A missing ``item`` value means the upstream item
failed or was skipped: the caller then skips this item, as HKube does not run it.
"""

from __future__ import annotations

import copy
from typing import Any

from . import io
from .values import unwrap


class MissingItem(Exception):
    """A wait-any or batch value for this item is absent or an error: skip the item."""


def raw_item(segments: list[dict[str, Any]], index: int) -> Any:
    """Item ``index`` (1-based) of a raw batch, without expanding its ranges;
    past the end: None (a shorter source in an indexed batch)."""
    remaining = index - 1
    for seg in segments:
        if "range" in seg:
            start, end = seg["range"]
            size = max(0, end - start + 1)
            if remaining < size:
                return start + remaining
            remaining -= size
        else:
            if remaining == 0:
                return seg["value"]
            remaining -= 1
    return None


def raw_count(segments: list[dict[str, Any]]) -> int:
    return sum(max(0, s["range"][1] - s["range"][0] + 1) if "range" in s else 1
               for s in segments)


def _fanin(slot: str) -> list[Any]:
    gathered = io.read_indexed(io.inbox("shared", slot))
    return [unwrap(env) for _, env in sorted(gathered.items()) if env.get("status") == "succeed"]


def ref_value(ref: dict[str, Any], index: int) -> Any:
    source = ref["source"]
    slot = ref["slot"]
    if source == "raw":
        return raw_item(ref["raw"], index)
    if source == "fanin":
        return _fanin(slot)
    where = ("shared", f"{slot}.json") if source == "shared" else ("item", f"{slot}.json")
    envelope = io.read_optional(io.inbox(*where))
    if source == "item":
        if envelope is None:
            if ref.get("optional"):
                return None  # a shorter source of an indexed batch
            raise MissingItem(slot)
        if envelope.get("status") != "succeed":
            raise MissingItem(slot)
    if envelope is None or envelope.get("status") != "succeed":
        return None
    return unwrap(envelope)


def _place(tree: Any, at: list[Any], value: Any) -> Any:
    if not at:
        return value
    node = tree
    for step in at[:-1]:
        node = node[step]
    node[at[-1]] = value
    return tree


def resolve(template: Any, refs: list[dict[str, Any]], index: int) -> Any:
    """The input with every reference replaced by its value (a fresh copy)."""
    resolved = copy.deepcopy(template)
    for ref in refs:
        resolved = _place(resolved, ref["at"], ref_value(ref, index))
    return resolved
