"""Cross-node checks: what a pipeline's graph must satisfy before it can be planned.

These run on a tolerant view of the descriptor (:class:`NodeView`), built even when
some field failed model validation, so a user sees graph mistakes and field mistakes
in the same run. Each finding names the node's field; the caller adds file and line.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args

from .diagnostics import Loc
from .grammar import (
    DATA_SOURCE,
    FLOW_INPUT,
    RESERVED_NODE_NAMES,
    ParsedInput,
    Relation,
)
from .graph import adjacency, collect_dependencies, find_cycles
from .models.formats import ALGORITHM_NAME
from .models.pipeline import NodeKind
from .plan import Dependency
from .runtime.values import MISSING, lookup
from .spelling import suggest

SUPPORTED_KINDS = ("algorithm", "output")
HKUBE_KINDS = get_args(NodeKind)  # anything else already fails the model's enum
# A malformed name already has its own error; "not among the algorithms" would repeat it.
_ALGORITHM_NAME = re.compile(ALGORITHM_NAME)


@dataclass(frozen=True)
class NodeView:
    """What the checks need of one node, read leniently from the raw descriptor."""

    position: int
    name: str | None
    kind: str
    algorithm: str | None
    parsed: ParsedInput

    @property
    def loc(self) -> Loc:
        return ("nodes", self.position)


@dataclass(frozen=True)
class EdgeView:
    position: int
    source: str | None
    target: str | None


@dataclass(frozen=True)
class Finding:
    loc: Loc
    message: str
    severity: str = "error"


def dependencies(nodes: Sequence[NodeView], edges: Sequence[EdgeView]) -> list[Dependency]:
    """Every (parent, child) pair with its relations; unknown names are left in (the
    checks report them, the planner only runs once there are none)."""
    triples: list[tuple[str, str, Relation]] = []
    for node in nodes:
        if node.name is None:
            continue
        for _, ref in node.parsed.refs:
            if ref.node is not None and ref.relation is not None:
                triples.append((ref.node, node.name, ref.relation))
    for edge in edges:
        if edge.source is not None and edge.target is not None:
            triples.append((edge.source, edge.target, "order"))
    return collect_dependencies(triples)


def is_fan_out(node: NodeView) -> bool:
    """A node that runs once per item: it has batch sources or wait-any parents."""
    return any(ref.is_batch or ref.kind == "waitAny" for _, ref in node.parsed.refs)


def _lookup(data: Any, path: Sequence[str]) -> bool:
    """True when ``path`` exists in ``data`` (HKube: a null value counts as found)."""
    return lookup(data, path) is not MISSING


def check_names(nodes: Sequence[NodeView]) -> Iterable[Finding]:
    first: dict[str, int] = {}
    for node in nodes:
        name = node.name
        if name is None:
            continue
        loc = (*node.loc, "nodeName")
        if name in first:
            yield Finding(loc, f"duplicate node name '{name}' (first used by nodes[{first[name]}])")
            continue
        first[name] = node.position
        if name in RESERVED_NODE_NAMES:
            yield Finding(loc, f"'{name}' is reserved by HKube and cannot name a node")
        elif name.startswith((FLOW_INPUT, DATA_SOURCE)):
            word = FLOW_INPUT if name.startswith(FLOW_INPUT) else DATA_SOURCE
            yield Finding(loc, f"node name '{name}' starts with '{word}': HKube reads @{name} "
                               f"as a {word} reference, so no node could use its result; rename it")
        if "." in name:
            yield Finding(loc, f"node name '{name}' contains '.': references split at the first "
                               f"dot, so @{name} would mean a path inside node "
                               f"'{name.split('.', 1)[0]}'; rename it")


def check_kinds(nodes: Sequence[NodeView]) -> Iterable[Finding]:
    outputs: list[NodeView] = []
    for node in nodes:
        if node.kind in HKUBE_KINDS and node.kind not in SUPPORTED_KINDS:
            yield Finding((*node.loc, "kind"),
                          f"node kind '{node.kind}' is not supported by hkube2argo "
                          f"(supported: {', '.join(SUPPORTED_KINDS)})")
        if node.kind == "algorithm" and not node.algorithm:
            yield Finding((*node.loc, "algorithmName"),
                          "algorithmName is required for an algorithm node")
        if node.kind == "output":
            outputs.append(node)
    for extra in outputs[1:]:
        yield Finding((*extra.loc, "kind"),
                      f"a pipeline has at most one output node; nodes[{outputs[0].position}] "
                      f"'{outputs[0].name}' is one already")


_PARENT_HINT = ("; runs started by triggers.pipelines get flowInput.parent (compile accepts "
                "this; validate needs --no-flow-input-check)")


def check_references(nodes: Sequence[NodeView], flow_input: Any,
                     check_flow_input: bool, triggered: bool = False,
                     has_parents: bool = False) -> Iterable[Finding]:
    """``triggered``: the pipeline has ``triggers.pipelines`` and is checked for the runs
    they start, which get ``flowInput.parent`` (the parent's results) at run time: paths
    under it are unknown here. ``has_parents`` alone: such paths are checked, with a hint."""
    by_name = {n.name: n for n in nodes if n.name is not None}
    for node in nodes:
        for at, message in node.parsed.errors:
            yield Finding((*node.loc, "input", *at), message)
        for at, message in node.parsed.warnings:
            yield Finding((*node.loc, "input", *at), message, "warning")
        has_batch = any(ref.is_batch for _, ref in node.parsed.refs)
        for at, ref in node.parsed.refs:
            loc = (*node.loc, "input", *at)
            if ref.node is not None:
                target = by_name.get(ref.node)
                if target is None:
                    hint = suggest(ref.node, by_name)
                    tip = f" (did you mean '{hint}'?)" if hint else ""
                    yield Finding(loc, f"'{ref.text}' refers to node '{ref.node}', which is not "
                                       f"a node of this pipeline{tip}")
                elif ref.kind == "waitAny" and not is_fan_out(target):
                    yield Finding(loc, f"'{ref.text}' waits for each item of '{ref.node}', but "
                                       f"'{ref.node}' is not a batch node (its input has no #@, "
                                       "#[ or *@ reference); HKube would never run this node")
                elif ref.kind == "waitAny" and has_batch:
                    yield Finding(loc, "a node cannot both wait for items (*@) and fan out over "
                                       "a batch (#@, #[); split it into two nodes")
            elif ref.kind == "flowInputBatch" and not ref.path:
                yield Finding(loc, "'#@flowInput' fans out over the whole flowInput, which is an "
                                   "object: the batch is always empty and the node always "
                                   "skipped", "warning")
            from_parent = triggered and ref.path[:1] == ("parent",)
            if ref.kind in ("flowInput", "flowInputBatch") and check_flow_input \
                    and not from_parent:
                if not isinstance(flow_input, dict):
                    yield Finding(loc, f"'{ref.text}' needs a flowInput, and the pipeline has "
                                       "none (give flowInput, or skip this check for a stored "
                                       "pipeline that gets its flowInput at run time)"
                                       + (_PARENT_HINT if has_parents
                                          and ref.path[:1] == ("parent",) else ""))
                elif not _lookup(flow_input, ref.path):
                    yield Finding(loc, f"unable to find flowInput.{'.'.join(ref.path)}: the "
                                       "pipeline's flowInput has no such path"
                                       + (_PARENT_HINT if has_parents
                                          and ref.path[:1] == ("parent",) else ""))


def check_edges(nodes: Sequence[NodeView], edges: Sequence[EdgeView]) -> Iterable[Finding]:
    names = {n.name for n in nodes if n.name is not None}
    for edge in edges:
        for field in ("source", "target"):
            value = getattr(edge, field)
            if value is not None and value not in names:
                hint = suggest(value, names)
                tip = f" (did you mean '{hint}'?)" if hint else ""
                yield Finding(("edges", edge.position, field),
                              f"'{value}' is not a node of this pipeline{tip}")


def check_graph(nodes: Sequence[NodeView], deps: Sequence[Dependency]) -> Iterable[Finding]:
    names = [n.name for n in nodes if n.name is not None]
    known = set(names)
    real = [d for d in deps if d.source in known and d.target in known]
    children = adjacency(list(dict.fromkeys(names)), real)
    position = {n.name: n.position for n in nodes if n.name is not None}
    for cycle in find_cycles(list(dict.fromkeys(names)), children):
        yield Finding(("nodes", position[cycle[0]]),
                      "cyclic nodes are not allowed on batch pipeline: " + " -> ".join(cycle))
    for node in nodes:
        if node.kind != "output" or node.name is None:
            continue
        if not any(d.target == node.name for d in real):
            yield Finding((*node.loc, "input"), "an output node must have parents: reference "
                                                "the nodes whose results it collects")
        kids = sorted(set(children.get(node.name, ())))
        if kids:
            verb = "depends" if len(kids) == 1 else "depend"
            yield Finding(node.loc, f"an output node must have no children, but "
                                    f"{', '.join(kids)} {verb} on it")


def check_algorithms(nodes: Sequence[NodeView], known: Mapping[str, Any] | None,
                     broken: Collection[str] = ()) -> Iterable[Finding]:
    """Every node's algorithm is among the given ones; one that was given but is broken
    (``broken``) is reported once, by its own file's errors, not again as unknown."""
    if known is None:
        return
    for node in nodes:
        if node.algorithm in broken:
            continue
        if (node.kind == "algorithm" and node.algorithm and node.algorithm not in known
                and len(node.algorithm) <= 32 and _ALGORITHM_NAME.match(node.algorithm)):
            hint = suggest(node.algorithm, known)
            tip = f"did you mean '{hint}'? " if hint else ""
            listed = ", ".join(sorted(known)[:12])
            yield Finding((*node.loc, "algorithmName"),
                          f"algorithm '{node.algorithm}' is not in the given algorithm files "
                          + (f"({tip}known: {listed})" if listed
                             else "(they define no algorithm at all)"))


def check_debug_override(names: Iterable[str | None], override: Any) -> Iterable[Finding]:
    if not isinstance(override, list):
        return
    known = {n for n in names if n is not None}
    for i, name in enumerate(override):
        if isinstance(name, str) and name not in known:
            yield Finding(("options", "debugOverride", i), f"'{name}' is not a node name")


def run_all(nodes: Sequence[NodeView], edges: Sequence[EdgeView], *, flow_input: Any,
            check_flow_input: bool, algorithms: Mapping[str, Any] | None,
            broken: Collection[str] = (),
            debug_override: Any, triggered: bool = False,
            has_parents: bool = False) -> tuple[list[Finding], list[Dependency]]:
    """Every graph check; returns the findings and the dependencies they were made on."""
    deps = dependencies(nodes, edges)
    findings = [
        *check_names(nodes),
        *check_kinds(nodes),
        *check_references(nodes, flow_input, check_flow_input, triggered, has_parents),
        *check_edges(nodes, edges),
        *check_graph(nodes, deps),
        *check_algorithms(nodes, algorithms, broken),
        *check_debug_override((n.name for n in nodes), debug_override),
    ]
    return findings, deps
