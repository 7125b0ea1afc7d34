"""HKube's node-input reference grammar (hkube-reference section 3).

Every string leaf of a node's ``input``, at any depth, is either a literal or a
reference. Prefixes are matched with ``startswith`` on the leaf, as HKube's parser does;
there is no escape, so a literal cannot begin with ``@``. Object keys are never parsed.

A reference becomes a :class:`Ref`; raw batches (``#[...]``) keep their ranges compact
(``#[1...200000]`` is one segment, not 200,000 items).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from .runtime.values import is_array_index

RefKind = Literal["flowInput", "flowInputBatch", "node", "nodeBatch", "waitAny", "rawBatch"]
Relation = Literal["waitNode", "waitBatch", "waitAny", "order"]

BATCH_KINDS: frozenset[str] = frozenset({"flowInputBatch", "nodeBatch", "rawBatch"})
NODE_KINDS: frozenset[str] = frozenset({"node", "nodeBatch", "waitAny"})
RELATION_OF: dict[str, Relation] = {"node": "waitNode", "nodeBatch": "waitBatch",
                                    "waitAny": "waitAny"}
FLOW_INPUT = "flowInput"
DATA_SOURCE = "dataSource"
RESERVED_NODE_NAMES = (FLOW_INPUT, DATA_SOURCE)


# A raw batch plans one task per item: #[0...4294967295] would plan four billion.
MAX_RAW_ITEMS = 1_000_000


class GrammarError(ValueError):
    """A string leaf that is a reference HKube users cannot write, or cannot have."""


@dataclass(frozen=True)
class RawRange:
    """``a...b``: the integers a to b inclusive (none when a > b)."""

    start: int
    end: int

    def __len__(self) -> int:
        return max(0, self.end - self.start + 1)

    def to_json(self) -> dict[str, Any]:
        return {"range": [self.start, self.end]}


@dataclass(frozen=True)
class RawItem:
    """A raw batch item that is not a range: always a string, as in HKube."""

    value: str

    def __len__(self) -> int:
        return 1

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value}


RawSegment = RawRange | RawItem


@dataclass(frozen=True)
class Ref:
    """A parsed reference leaf."""

    kind: RefKind
    text: str
    node: str | None = None
    path: tuple[str, ...] = ()
    raw: tuple[RawSegment, ...] = ()

    @property
    def is_batch(self) -> bool:
        return self.kind in BATCH_KINDS

    @property
    def relation(self) -> Relation | None:
        return RELATION_OF.get(self.kind)

    def raw_items(self) -> Iterator[int | str]:
        """The raw batch's items in order (for small batches and for the runner)."""
        for seg in self.raw:
            if isinstance(seg, RawRange):
                yield from range(seg.start, seg.end + 1)
            else:
                yield seg.value

    def raw_count(self) -> int:
        return sum(len(seg) for seg in self.raw)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.node is not None:
            out["node"] = self.node
        if self.kind != "rawBatch":
            out["path"] = list(self.path)
        else:
            out["items"] = [seg.to_json() for seg in self.raw]
            out["count"] = self.raw_count()
        return out


_JS_INT = re.compile(r"^[+-]?[0-9]+")
# JavaScript's \s (ECMAScript WhiteSpace + LineTerminator), not Python's.
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def _js_parse_int(text: str) -> int | None:
    """JavaScript's ``parseInt(text, 10)``: the leading integer, or None for NaN."""
    match = _JS_INT.match(text)
    return int(match.group(0)) if match else None


def parse_raw_batch(text: str) -> tuple[RawSegment, ...]:
    """``#[...]`` exactly as HKube: drop ``#``, delete every bracket and all whitespace,
    split on ``,``; ``a...b`` is an inclusive integer range, anything else a string."""
    body = re.sub(f"[\\[\\]{_JS_SPACE}]", "", text[1:])
    segments: list[RawSegment] = []
    for item in body.split(","):
        if "..." in item:
            parts = item.split("...")
            start, end = _js_parse_int(parts[0]), _js_parse_int(parts[1])
            if start is None or end is None:
                continue  # NaN bounds: HKube's loop produces no items
            segments.append(RawRange(start, end))
        else:
            segments.append(RawItem(item))
    return tuple(segments)


def _split_target(body: str, text: str) -> tuple[str, tuple[str, ...]]:
    obj, dot, rest = body.partition(".")
    if not dot or rest == "":  # "@A." is "@A" in HKube (an empty path is no path)
        return obj, ()
    path = tuple(rest.split("."))
    if any(seg == "" for seg in path):
        raise GrammarError(f"'{text}' has an empty path segment; write keys separated by single "
                           "dots, e.g. @A.items.0")
    return obj, path


def parse_leaf(text: str) -> Ref | None:
    """Parse one string leaf: a :class:`Ref`, or None for a literal."""
    if text.startswith("$$"):
        raise GrammarError(f"'{text}': '$$' marks HKube's internal storage keys and is not "
                           "supported in input")
    if text.startswith("*#@"):
        raise GrammarError(f"'{text}': wait-any-batch (*#@) is not supported; HKube never "
                           "schedules such a node. Use *@ (one run per item) or #@ (batch)")
    if text.startswith("#["):
        ref = Ref("rawBatch", text, raw=parse_raw_batch(text))
        if ref.raw_count() > MAX_RAW_ITEMS:
            raise GrammarError(f"'{text[:60]}' has {ref.raw_count():,} items; at most "
                               f"{MAX_RAW_ITEMS:,} are supported (one task each)")
        return ref
    if text.startswith("*@"):
        mode, body = "waitAny", text[2:]
    elif text.startswith("#@"):
        mode, body = "batch", text[2:]
    elif text.startswith("@"):
        mode, body = "ref", text[1:]
    else:
        return None
    obj, path = _split_target(body, text)
    if obj.startswith(DATA_SOURCE):
        raise GrammarError(f"'{text}': @dataSource references are not supported")
    if obj.startswith(FLOW_INPUT):
        if obj != FLOW_INPUT:
            raise GrammarError(
                f"'{text}': HKube reads every name starting with 'flowInput' as the flowInput, "
                f"so this neither reaches a node '{obj}' nor a flowInput key; "
                f"write @flowInput.{obj[len(FLOW_INPUT):] or '<key>'} or rename the node")
        if mode == "waitAny":
            raise GrammarError(f"'{text}': wait-any (*@) needs a batch node, not the flowInput")
        return Ref("flowInputBatch" if mode == "batch" else "flowInput", text, path=path)
    if obj == "":
        raise GrammarError(f"'{text}' names no node: write @<nodeName>[.path]")
    kind: RefKind = {"ref": "node", "batch": "nodeBatch", "waitAny": "waitAny"}[mode]  # type: ignore[assignment]
    return Ref(kind, text, node=obj, path=path)


Loc = tuple[str | int, ...]


_MAX_INDEX = 2**32 - 2


def js_keys(obj: dict[str, Any]) -> list[str]:
    """An object's keys in JavaScript's order: integer-like keys ascending, then the rest in
    insertion order (what ``Object.entries`` gives HKube's parser)."""
    numeric = sorted((k for k in obj if is_array_index(k) and int(k) <= _MAX_INDEX), key=int)
    return numeric + [k for k in obj if not (is_array_index(k) and int(k) <= _MAX_INDEX)]


def iter_leaves(value: Any, loc: Loc = ()) -> Iterator[tuple[Loc, str]]:
    """String leaves in HKube's traversal order (arrays by index, objects in JavaScript key
    order); that order decides which batch source is "first" for cartesian products."""
    stack: list[tuple[Loc, Any]] = [(loc, value)]
    while stack:
        here, item = stack.pop()
        if isinstance(item, str):
            yield here, item
        elif isinstance(item, list):
            stack.extend(((*here, i), v) for i, v in reversed(list(enumerate(item))))
        elif isinstance(item, dict):
            stack.extend(((*here, k), item[k]) for k in reversed(js_keys(item)))


@dataclass(frozen=True)
class ParsedInput:
    """The references found in one node's input, each with its location inside ``input``."""

    refs: tuple[tuple[Loc, Ref], ...]
    errors: tuple[tuple[Loc, str], ...]
    warnings: tuple[tuple[Loc, str], ...] = ()


def parse_input(value: Any) -> ParsedInput:
    """Parse every string leaf; grammar errors are collected, not raised."""
    refs: list[tuple[Loc, Ref]] = []
    errors: list[tuple[Loc, str]] = []
    warnings: list[tuple[Loc, str]] = []
    for loc, leaf in iter_leaves(value):
        try:
            ref = parse_leaf(leaf)
        except GrammarError as exc:
            errors.append((loc, str(exc)))
            continue
        if ref is not None:
            refs.append((loc, ref))
            if ref.kind != "rawBatch" and not ref.path and leaf.endswith("."):
                warnings.append((loc, f"'{leaf}' ends with a dot, which HKube ignores: it "
                                      f"reads '{leaf[:-1]}'; write that"))
    return ParsedInput(tuple(refs), tuple(errors), tuple(warnings))
