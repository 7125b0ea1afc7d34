"""Argo's ``status.nodes`` of a run, and the rules the controller reads from them.

The controller records every template invocation as a node: the entry ``DAG``, a
``TaskGroup`` per loop with one child per item, a ``Retry`` node per container template
that has a ``retryStrategy`` (its attempts are ``Pod`` children named ``<name>(N)``), a
``Pod`` otherwise, and a ``Skipped`` node for a task that runs nothing (``when`` false,
empty loop, or omitted). A task's node is the child of its dependencies' *outbound*
nodes (the root tasks: of the DAG's node). The engine builds the same tree here, and
these rules are read from Argo Workflows v4.0.5 (the same in v4.1.2 where not said):

- a loop's phase: ``workflow/controller/dag.go`` ``executeDAGTask``: the phase of the
  *last* item, in expansion order, that Failed or Errored, else Succeeded;
- what a dependent of ``dependencies: [A]`` accepts: ``workflow/common/ancestry.go``
  ``expandDependency``: A Succeeded, Skipped or Daemoned, plus Errored when A has
  ``continueOn.error`` and Failed when it has ``continueOn.failed``; anything else
  (Omitted too) omits the dependent;
- a DAG's phase: ``dag.go`` ``assessDAGPhase``: a breadth-first walk from the DAG's
  node where each node passes on its own phase when it completed (Succeeded, Failed,
  Error) and its parent's otherwise (Skipped, Omitted); the leaf tasks' phases decide,
  a leaf whose ``continueOn`` covers its phase is ignored, failFast (the default) stops
  at the first failed one in name order;
- ``{{workflow.failures}}``: ``operator.go`` (``failedNodeStatus``): every node whose
  phase is Failed or Error, in Go map order (random), as ``json.Marshal`` writes it,
  then ``strconv.Quote``d; with no failure the six characters ``"null"``.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

COMPLETED = ("Succeeded", "Failed", "Error")
FAILED = ("Failed", "Error")
_SEPARATOR = re.compile(r"^(\[\d+\])?\.")  # operator.go stepsOrDagSeparator


def now() -> str:
    """``metav1.Time`` as JSON: RFC 3339 in UTC, whole seconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fnv32a(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


@dataclass
class Node:
    name: str
    display: str
    type: str  # DAG | TaskGroup | Retry | Pod | Skipped
    template: str
    phase: str = "Running"
    message: str = ""
    children: list[str] = field(default_factory=list)
    outbound: list[str] = field(default_factory=list)  # a DAG's, set when it ends
    finished: str | None = None
    daemoned: bool = False

    def fulfilled(self) -> bool:
        """``NodeStatus.Fulfilled``: completed, skipped or omitted, or a running daemon."""
        return self.phase in (*COMPLETED, "Skipped", "Omitted") or \
            (self.daemoned and self.phase != "Pending")


def accepts(continue_on: dict[str, Any] | None, phase: str, daemoned: bool = False) -> bool:
    """ancestry.go ``expandDependency``: whether a dependent of a task in ``phase`` runs."""
    continue_on = continue_on or {}
    return phase in ("Succeeded", "Skipped") or daemoned \
        or (phase == "Error" and bool(continue_on.get("error"))) \
        or (phase == "Failed" and bool(continue_on.get("failed")))


def continues(continue_on: dict[str, Any] | None, phase: str) -> bool:
    """workflow_types.go ``continues``: ``continueOn`` covers this phase."""
    continue_on = continue_on or {}
    return (phase == "Error" and bool(continue_on.get("error"))) or \
        (phase == "Failed" and bool(continue_on.get("failed")))


def loop_phase(item_phases: list[str]) -> str:
    """dag.go ``executeDAGTask``: a TaskGroup takes the phase of its last failed or errored
    item (expansion order), so [Failed, Error] is Error and [Error, Failed] is Failed."""
    phase = "Succeeded"
    for item in item_phases:
        if item in FAILED:
            phase = item
    return phase


class NodeTree:
    """The nodes of one workflow run, by Argo node name; safe across worker threads."""

    def __init__(self, workflow: str):
        self.workflow = workflow
        self.nodes: dict[str, Node] = {}
        self._lock = threading.RLock()

    def node_id(self, name: str) -> str:
        """``Workflow.NodeID``: the workflow's name, or ``<workflow>-<fnv32a(name)>``."""
        return name if name == self.workflow else f"{self.workflow}-{fnv32a(name)}"

    def add(self, name: str, type_: str, template: str, boundary: str | None, *,
            phase: str = "Running", message: str = "", display: str | None = None,
            parents: list[str] | None = None) -> Node:
        """``initializeNode``: the display name is the name less its boundary's name and
        the separating dot; ``parents`` (names) get it as a child."""
        with self._lock:
            if display is None:
                display = name
                if boundary is not None and boundary in self.nodes:
                    display = _SEPARATOR.sub("", name[len(boundary):]) \
                        if name.startswith(boundary) else name
            node = Node(name, display, type_, template, phase, message)
            if node.fulfilled():
                node.finished = now()
            self.nodes[name] = node
            for parent in parents or ():
                self.connect(parent, name)
            return node

    def connect(self, parent: str, child: str) -> None:
        with self._lock:
            node = self.nodes.get(parent)
            if node is not None and child not in node.children:
                node.children.append(child)

    def mark(self, name: str, phase: str, message: str | None = None) -> None:
        """``markNodePhase``: a message only replaces the old one when given."""
        with self._lock:
            node = self.nodes.get(name)
            if node is None:
                return
            node.phase = phase
            if message:
                node.message = message
            if node.fulfilled() and node.finished is None:
                node.finished = now()

    def phase(self, name: str) -> str | None:
        with self._lock:
            node = self.nodes.get(name)
            return node.phase if node else None

    def outbound(self, name: str) -> list[str]:
        """operator.go ``getOutboundNodes``: where a dependent of this node hangs."""
        with self._lock:
            node = self.nodes[name]
            if node.type in ("Pod", "Skipped"):
                return [name]
            if node.type == "TaskGroup":
                if not node.children:
                    return [name]
                return [o for child in node.children for o in self.outbound(child)]
            if node.type == "Retry":
                return node.children[-1:]
            return [o for out in node.outbound for o in self.outbound(out)]

    def end_dag(self, name: str, phase: str, targets: list[str]) -> None:
        """``updateOutboundNodesForTargetTasks`` then ``markNodePhase`` (no message)."""
        with self._lock:
            self.nodes[name].outbound = [o for t in targets if t in self.nodes
                                         for o in self.outbound(t)]
            self.mark(name, phase)

    def dag_phase(self, boundary: str, targets: list[tuple[str, str]],
                  continue_on: Callable[[str], dict[str, Any] | None]) -> str:
        """dag.go ``assessDAGPhase`` (failFast on, the default). ``targets``: the leaf
        tasks' (task name, node name); ``continue_on``: a task's ``continueOn``."""
        with self._lock:
            deduced = {node: "" for _, node in targets}
            start = self.nodes[boundary].children
            queue = deque((child, "Succeeded") for child in start)
            seen = {(child, "Succeeded") for child in start}
            while queue:
                name, branch = queue.popleft()
                node = self.nodes.get(name)
                if node is None or not node.fulfilled():
                    return "Running"
                if node.phase in COMPLETED:
                    branch = node.phase
                if name in deduced and deduced[name] not in FAILED:
                    deduced[name] = branch
                if node.type == "Retry":  # getRetryNodeChildrenIds: past the attempts
                    nxt = [c for a in reversed(node.children) for c in self.nodes[a].children]
                else:
                    nxt = node.children
                for child in nxt:
                    if (child, branch) not in seen:
                        seen.add((child, branch))
                        queue.append((child, branch))
            result = "Succeeded"
            for task, node_name in sorted(targets):  # findLeafTaskNames sorts them
                branch = deduced[node_name]
                if branch == "":
                    result = "Running"
                elif branch in FAILED:
                    if continues(continue_on(task), branch):
                        continue
                    return branch
            return result

    def status_nodes(self) -> dict[str, dict[str, Any]]:
        """The nodes in ``status.nodes``' shape (by node id, children as ids)."""
        with self._lock:
            return {self.node_id(n.name): {
                "id": self.node_id(n.name), "name": n.name, "displayName": n.display,
                "type": n.type, "templateName": n.template, "phase": n.phase,
                **({"message": n.message} if n.message else {}),
                **({"children": [self.node_id(c) for c in n.children]} if n.children else {}),
                **({"outboundNodes": [self.node_id(o) for o in n.outbound]}
                   if n.outbound else {}),
                "finishedAt": n.finished} for n in self.nodes.values()}

    # -- workflow.failures

    def failures(self, order: Callable[[list[Node]], list[Node]] | None = None) -> str:
        """The value Argo gives ``{{workflow.failures}}``. Go iterates a map in random
        order; here the nodes go by node id (an FNV hash of the name), which is neither
        name nor creation order, so a consumer that takes the first entry is caught."""
        with self._lock:
            failed = [n for n in self.nodes.values() if n.phase in FAILED]
            ordered = (order or (lambda ns: sorted(ns, key=lambda n: self.node_id(n.name))))(
                failed)
            entries = [{"displayName": n.display, "message": n.message,
                        "templateName": n.template, "phase": n.phase,
                        "podName": self.pod_name(n), "finishedAt": n.finished}
                       for n in ordered]
        return go_quote(go_json(entries if entries else None))

    def pod_name(self, node: Node) -> str:
        """util/pod_name.go ``GeneratePodName`` (v2 names, the default)."""
        if node.name == self.workflow:
            return self.workflow
        prefix = f"{self.workflow}-{node.template}" if node.template else self.workflow
        return f"{prefix[:242]}-{fnv32a(node.name)}"


def go_json(value: Any) -> str:
    """``encoding/json.Marshal``: compact, keys in the order given, non-ASCII kept, short
    escapes for ``\\b \\f \\n \\r \\t`` (Go >= 1.22), other controls as ``\\u00XX``, and
    HTML-safe escapes (``<``, ``>``, ``&``, U+2028, U+2029) as Go writes them."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


_GO_SHORT = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
             "\v": "\\v", "\\": "\\\\", '"': '\\"'}


def _go_printable(char: str) -> bool:
    """Go's ``strconv.IsPrint``: letters, marks, numbers, punctuation, symbols and the
    ASCII space."""
    return char == " " or unicodedata.category(char)[0] in "LMNPS"


def go_quote(text: str) -> str:
    """``strconv.Quote``: a Go string literal (printable runes kept as they are)."""
    out = ['"']
    for char in text:
        if char in _GO_SHORT:
            out.append(_GO_SHORT[char])
        elif _go_printable(char):
            out.append(char)
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)

