"""The pipeline as a graph: who depends on whom, in which order nodes can run.

Edges come from node references in ``input`` (``@``, ``#@``, ``*@``) and from user
``edges`` (ordering only), as in HKube's DAG package. Pure functions over plain
values, shared by the checks and the planner.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence

from .grammar import Relation
from .plan import Dependency


def collect_dependencies(pairs: Iterable[tuple[str, str, Relation]]) -> list[Dependency]:
    """Merge (source, target, relation) triples into one dependency per node pair,
    keeping the order in which pairs first appear."""
    merged: dict[tuple[str, str], set[Relation]] = {}
    for source, target, relation in pairs:
        merged.setdefault((source, target), set()).add(relation)
    return [Dependency(s, t, tuple(sorted(rels))) for (s, t), rels in merged.items()]


def adjacency(names: Sequence[str], deps: Iterable[Dependency]) -> dict[str, list[str]]:
    """Children of each node, in dependency order."""
    children: dict[str, list[str]] = {name: [] for name in names}
    for dep in deps:
        if dep.source in children and dep.target in children:
            children[dep.source].append(dep.target)
    return children


def find_cycles(names: Sequence[str], children: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """One cycle per strongly connected component that has one, as a closed walk
    ``[A, B, A]``; iterative so a 10,000-node chain does not hit the recursion limit."""
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in names:
        if root in index_of:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index_of[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            kids = children.get(node, ())
            if i < len(kids):
                work.append((node, i + 1))
                kid = kids[i]
                if kid not in index_of:
                    work.append((kid, 0))
                elif kid in on_stack:
                    low[node] = min(low[node], index_of[kid])
                continue
            if low[node] == index_of[node]:
                comp: list[str] = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1 or node in children.get(node, ()):
                    components.append(comp)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    order = {name: i for i, name in enumerate(names)}
    return sorted((_walk_cycle(comp, children, order) for comp in components),
                  key=lambda cyc: order[cyc[0]])


def _walk_cycle(comp: list[str], children: Mapping[str, Sequence[str]],
                order: Mapping[str, int]) -> list[str]:
    """A concrete cycle inside a strongly connected component, starting at its first node."""
    members = set(comp)
    start = min(comp, key=order.__getitem__)
    path = [start]
    seen = {start}
    node = start
    while True:
        nxt = [k for k in children.get(node, ()) if k in members]
        if start in nxt and (len(path) > 1 or node == start):
            return [*path, start]
        step = next((k for k in nxt if k not in seen), None)
        if step is None:  # every way on revisits a node: close the loop there
            step = nxt[0]
            return [*path[path.index(step):], step]
        path.append(step)
        seen.add(step)
        node = step


def topological_order(names: Sequence[str], children: Mapping[str, Sequence[str]]) -> list[str]:
    """Kahn's algorithm, ties broken by descriptor order, so the order is deterministic
    and as close to what the user wrote as the dependencies allow."""
    position = {name: i for i, name in enumerate(names)}
    indegree = dict.fromkeys(names, 0)
    for kids in children.values():
        for kid in set(kids):
            indegree[kid] += 1
    ready = [position[n] for n in names if indegree[n] == 0]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        name = names[heapq.heappop(ready)]
        out.append(name)
        for kid in dict.fromkeys(children[name]):
            indegree[kid] -= 1
            if indegree[kid] == 0:
                heapq.heappush(ready, position[kid])
    if len(out) != len(names):
        raise ValueError("graph has a cycle")
    return out
