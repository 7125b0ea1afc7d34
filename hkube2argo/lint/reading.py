"""Reading manifest files for ``lint`` the way kubectl would, with the descriptor loader's
guards: YAML 1.1 values (PyYAML's safe schema, close to go-yaml v2), a bound on values
after alias expansion and on nesting, and a note of every plain scalar that reads as a
string here but as a boolean, number, null or date in another YAML decoder (kubectl's
go-yaml v2, or any YAML 1.2 reader): such a manifest lints clean and still fails in
``kubectl apply``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from ..loading import MAX_DEPTH, MAX_VALUES
from ..serialize import read_as_other_type

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
STR = "tag:yaml.org,2002:str"


class Unreadable(ValueError):
    """The file is not YAML a manifest can be: the message says why (and where)."""


@dataclass(frozen=True)
class Misread:
    line: int
    value: str

    def __str__(self) -> str:
        return (f"line {self.line}: plain {self.value!r} is a string here, but YAML 1.1 "
                "decoders such as kubectl's (and YAML 1.2 ones) read it as a boolean, "
                "number, null or date: quote it")


def _check(root: yaml.Node, misread: list[Misread]) -> None:
    """One composed document: its size once aliases are expanded and its depth, from each
    distinct node once (an alias bomb is measured, not expanded), and the plain scalars
    other decoders misread. Iterative: no recursion limit."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_.discard(key)
            parts = _children(node)
            size[key] = 1 + sum(size[id(c)] for c in parts)
            depth[key] = 1 + max((depth[id(c)] for c in parts), default=0)
            if size[key] > MAX_VALUES:
                raise Unreadable(f"line {node.start_mark.line + 1}: the document expands to "
                                 f"more than {MAX_VALUES} values (YAML aliases?)")
            if depth[key] > MAX_DEPTH:
                raise Unreadable(f"line {node.start_mark.line + 1}: nested more than "
                                 f"{MAX_DEPTH} levels deep")
            continue
        if key in size:
            continue
        if key in open_:
            raise Unreadable(f"line {node.start_mark.line + 1}: recursive YAML alias: a value "
                             "contains itself")
        if isinstance(node, yaml.ScalarNode):
            size[key], depth[key] = 1, 1
            if not node.style and node.tag == STR and read_as_other_type(node.value):
                misread.append(Misread(node.start_mark.line + 1, node.value))
            continue
        open_.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def read_manifests(data: bytes) -> tuple[list[Any], list[Misread]]:
    """The documents of a manifest file and the plain scalars other decoders misread;
    :class:`Unreadable` for anything that is not safe YAML text."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    loader = _Loader(text)
    documents: list[Any] = []
    misread: list[Misread] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            _check(node, misread)
            document = loader.construct_document(node)
            if document is not None:
                documents.append(document)
    except Unreadable:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise Unreadable(f"{where}invalid YAML: {exc.problem or exc.context}") from None
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        raise Unreadable(f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return documents, sorted(misread, key=lambda m: m.line)
