"""From the plan to the job graph: the tasks that run, what each waits for, how big each
loop is, and the routes along which data flows (see ``docs/dataplane.md``).

Still no Argo words: the emitters turn this into DAG tasks and templates, the local
runner runs what they emit. Every batch node becomes a loop task; it gets a ``--collect``
task (HKube's batchTolerance, the summary for the results, re-indexing for ``#@``
readers) unless it is *lean*: read only whole (``@Node``) by nodes that run once, which
then judge its batchTolerance themselves, as does the results step. A node with several
batch sources gets a ``--zip`` task; nodes tied by wait-any (``*@``) run together, item
by item, in one looped group. A wait-any node that cannot join its parents' group (it also
waits for all of a parent, ``["*@A", "@A"]``, or joining would close a cycle) runs as its
own loop over its parents' batch indices once they are all done: the same runs, with the
same inputs, as HKube's (hkube-reference 4.2), only started later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from . import naming
from .plan import Plan, PlanNode

PREPARE = "prepare"  # task keys of our own steps: sanitised node keys never contain "--"
RESULTS = "results"
MARK = naming.RESERVED_MARK


class CompileError(ValueError):
    """The plan uses a shape this compiler cannot express yet; the message says which."""


@dataclass(frozen=True)
class Count:
    """Where a loop's size comes from: a number known now, or a task's output."""

    static: int | None = None
    task: str | None = None
    name: str | None = None


@dataclass
class Task:
    key: str
    kind: str  # prepare | run | zip | collect | results | max
    node: str | None = None
    algorithm: str | None = None
    depends: list[str] = field(default_factory=list)
    loop: Count | None = None  # run tasks of batch nodes
    total: Count | None = None  # collect: the loop's size
    counts: list[Count] = field(default_factory=list)  # max: the sizes to compare
    tolerate_failure: bool = False  # items of a batch: collect decides, not Argo
    outputs: list[str] = field(default_factory=list)  # count outputs this task writes
    group: str | None = None  # wait-any group it runs in
    inner: list[str] = field(default_factory=list)  # in a group: members it waits for
    when_within: Count | None = None  # group root: run item i only if i <= this
    spec: dict[str, Any] = field(default_factory=dict)


@dataclass
class Group:
    key: str
    members: list[str]
    roots: list[str]
    loop: Count
    depends: list[str] = field(default_factory=list)


@dataclass
class JobGraph:
    tasks: list[Task]
    groups: list[Group]
    pipeline_spec: dict[str, Any]  # what the prepare task unpacks

    def task(self, key: str) -> Task:
        return self._by_key[key]

    @cached_property
    def _by_key(self) -> dict[str, Task]:
        return {t.key: t for t in self.tasks}


class _Builder:
    def __init__(self, plan: Plan):
        self.plan = plan
        self.keys = naming.unique((n.name, naming.task_name(n.name)) for n in plan.nodes)
        self.nodes = {n.name: n for n in plan.nodes}
        self.tasks: dict[str, Task] = {}
        self.routes: dict[str, list[dict[str, Any]]] = {PREPARE: []}
        self.results_slots: list[dict[str, Any]] = []
        # (child, parent) -> how the child reads the parent (its first edge): looked up per
        # batch node and child, so a fan-in of n batch nodes costs n, not n * n, lookups
        self.relations: dict[tuple[str, str], tuple[str, ...]] = {}
        for n in plan.nodes:
            for p in n.parents:
                self.relations.setdefault((n.name, p.node), p.relations)
        self.lean = {n.name for n in plan.nodes if self._lean(n)}
        # (producer, path) -> the count its split writes: readers of the same array share it
        self.count_names: dict[tuple[str, tuple[Any, ...]], str] = {}
        # (producer, count) -> reader inboxes that get the size too (judging lean batches)
        self.size_to: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.size_seen: set[tuple[str, str, str, str]] = set()  # the same, to look up
        self.fused = self._fusion()

    # -- helpers --------------------------------------------------------------------------

    def key(self, node: str) -> str:
        return self.keys[node]

    def collect_key(self, node: str) -> str:
        return f"{self.key(node)}{MARK}collect"

    def zip_key(self, node: str) -> str:
        return f"{self.key(node)}{MARK}zip"

    def fans_out(self, node: str) -> bool:
        return self.nodes[node].fans_out

    def _lean(self, node: PlanNode) -> bool:
        """A batch node needs no collect step when every child reads it whole (``@Node``)
        and runs once: those children and the results step can judge its batchTolerance
        from the item envelopes they read anyway (a batch reader could not: its items are
        tolerated, and an empty batch would judge nothing)."""
        if node.batch is None or node.wait_any:
            return False
        for name in node.children:
            child = self.nodes[name]
            if self.relations[name, node.name] != ("waitNode",) or child.fans_out:
                return False
        return True

    def has_collect(self, node: str) -> bool:
        return self.fans_out(node) and node not in self.lean

    def done_key(self, node: str) -> str:
        """The task to wait for when a reader needs all of ``node``."""
        return self.collect_key(node) if self.has_collect(node) else self.key(node)

    def count_for(self, producer: str, path: list[Any], reader: str) -> tuple[str, bool]:
        """The count a split of ``path`` by ``producer`` writes, and whether this reader's
        route is the one to write it (one parameter per array, not per reader)."""
        known = self.count_names.get((producer, tuple(path)))
        if known:
            return known, False
        name = f"n-{reader}"
        self.count_names[producer, tuple(path)] = name
        return name, True

    def judge(self, node: str, slot: str, reader: str) -> dict[str, Any]:
        """What a reader of a lean batch node needs to judge its batchTolerance: where the
        items' envelopes are, and the batch's size (known now, or routed by whoever
        counted the batch)."""
        check: dict[str, Any] = {"nodeName": node, "slot": slot,
                                 "tolerance": self.plan.options.batch_tolerance}
        loop = self.tasks[self.key(node)].loop
        assert loop is not None
        if loop.static is not None:
            check["total"] = loop.static
        else:
            assert loop.task and loop.name
            size_slot = f"{self.key(node)}{MARK}size"
            dests = self.size_to.setdefault((loop.task, loop.name), [])
            if (seen := (loop.task, loop.name, reader, size_slot)) not in self.size_seen:
                self.size_seen.add(seen)
                dests.append({"task": reader, "slot": size_slot})
            check["size"] = size_slot
        return check

    def route(self, producer: str, **route: Any) -> None:
        self.routes.setdefault(producer, []).append({k: v for k, v in route.items()
                                                    if v is not None})

    def add(self, task: Task) -> Task:
        self.tasks[task.key] = task
        self.routes.setdefault(task.key, [])
        return task

    # -- per node -------------------------------------------------------------------------

    def node_tasks(self, node: PlanNode) -> None:
        key = self.key(node.name)
        task = self.add(Task(key=key, kind="run", node=node.name, algorithm=node.algorithm,
                             tolerate_failure=node.fans_out))
        sources = [ref for ref in node.refs if ref.ref.is_batch]
        multi = len(sources) > 1
        refs_spec: list[dict[str, Any]] = []
        checks: dict[str, dict[str, Any]] = {}
        for k, iref in enumerate(node.refs):
            slot = f"r{k}"
            refs_spec.append(self.reference(node, task, slot, iref, multi))
            parent = iref.ref.node
            if iref.ref.kind == "node" and parent in self.lean and parent not in checks:
                checks[parent] = self.judge(parent, slot, key)
        if multi:
            self.zip_task(node, task, refs_spec)
        if self.has_collect(node.name):
            collect = self.add(Task(key=self.collect_key(node.name), kind="collect",
                                    node=node.name, depends=[key], outputs=["count"]))
            self.route(key, task=collect.key, slot="status", place="status")
            collect.spec = {"mode": "collect", "task": collect.key, "nodeName": node.name,
                            "tolerance": self.plan.options.batch_tolerance}
        if node.is_result:
            slot = key
            place = "fanin" if node.fans_out else "shared"
            self.route(key, task=RESULTS, slot=slot, place=place)
            entry = {"nodeName": node.name, "algorithmName": node.algorithm,
                     "slot": slot, "fansOut": node.fans_out}
            if node.name in self.lean:
                entry["check"] = self.judge(node.name, slot, RESULTS)
            elif node.fans_out:
                self.route(self.collect_key(node.name), task=RESULTS,
                           slot=f"{slot}{MARK}summary", place="shared")
            self.results_slots.append(entry)
        for dep in node.parents:
            if dep.relations == ("waitAny",) and node.name in self.fused:
                continue  # the wait-any group orders these
            if "order" in dep.relations or "waitNode" in dep.relations \
                    or "waitAny" in dep.relations or not self.fans_out(dep.node):
                task.depends.append(self.done_key(dep.node))
        task.spec = self.run_spec(node, key, refs_spec)
        if checks:
            task.spec["checks"] = list(checks.values())

    def reference(self, node: PlanNode, task: Task, slot: str, iref: Any,
                  multi: bool) -> dict[str, Any]:
        """Where the value of one reference waits for the node, and who puts it there."""
        ref = iref.ref
        spec: dict[str, Any] = {"slot": slot, "at": list(iref.at), "kind": ref.kind}
        path = list(ref.path)
        target = self.zip_key(node.name) if multi else task.key
        if ref.kind == "rawBatch":
            spec["source"] = "item" if multi else "raw"
            spec["raw"] = [seg.to_json() for seg in ref.raw]
            if not multi:
                task.loop = Count(static=ref.raw_count())
            return spec
        if ref.kind == "flowInput":
            self.route(PREPARE, task=task.key, slot=slot, path=path, place="shared")
            spec["source"] = "shared"
            return spec
        if ref.kind == "flowInputBatch":
            self.split(PREPARE, task, target, slot, path, multi)
            spec["source"] = "item"
            return spec
        parent = ref.node
        assert parent is not None
        pkey = self.key(parent)
        if ref.kind == "waitAny":
            self.route(pkey, task=task.key, slot=slot, path=path, place="item")
            spec["source"] = "item"
            return spec
        if ref.kind == "node":
            place = "fanin" if self.fans_out(parent) else "shared"
            self.route(pkey, task=task.key, slot=slot, path=path, place=place)
            spec["source"] = place
            return spec
        # nodeBatch: #@Parent[.path]
        spec["source"] = "item"
        if not self.fans_out(parent):
            self.split(pkey, task, target, slot, path, multi)
            return spec
        # batch on batch: one task per successful upstream item, re-indexed by its collect
        staged = f"for-{task.key}-{slot}"
        self.route(pkey, task=self.collect_key(parent), slot=staged, path=path, place="fanin")
        self.route(self.collect_key(parent), task=target, slot=slot, **{"from": staged},
                   place="stage" if multi else "split")
        if not multi:
            task.loop = Count(task=self.collect_key(parent), name="count")
            task.depends.append(self.collect_key(parent))
        return spec

    def split(self, producer: str, task: Task, target: str, slot: str, path: list[Any],
              multi: bool) -> None:
        """An array's elements, one per item of the reader (or staged for its zip step)."""
        if multi:
            self.route(producer, task=target, slot=slot, path=path, place="stage")
            return
        count, writes = self.count_for(producer, path, task.key)
        self.route(producer, task=target, slot=slot, path=path, place="split",
                   count=count if writes else None)
        task.loop = Count(task=producer, name=count)

    # -- which wait-any nodes join their parents' loop ---------------------------------------

    @staticmethod
    def _pure(node: PlanNode) -> bool:
        """Every wait-any parent is read only item by item (no ``@`` on it as well)."""
        return bool(node.wait_any) and all(
            p.relations == ("waitAny",) for p in node.parents if "waitAny" in p.relations)

    def _fusion(self) -> set[str]:
        """The wait-any nodes that run inside their parents' looped group, item by item as
        soon as the parents' item is done. A node that also waits for all of a parent
        cannot (its items wait for the whole loop), nor one whose joining would make the
        group wait for itself through another node (``["*@A", "@D"]`` with D after all of
        A's group): those run as their own loop, after their parents (``_unfused_loop``)."""
        candidates = [n.name for n in self.plan.nodes if self._pure(n)]
        if _units_acyclic(self.plan, set(candidates)):
            return set(candidates)
        fused: set[str] = set()
        for name in candidates:  # topological order: each joins if it can
            if _units_acyclic(self.plan, fused | {name}):
                fused.add(name)
        return fused

    def unfused_loop(self, node: PlanNode) -> Count:
        """A wait-any node that runs after all of its wait-any parents: one item per batch
        index of any of them (an index some parent lacks is skipped by the wrapper)."""
        counts = [self.tasks[self.key(p)].loop for p in node.wait_any]
        return self.max_count(counts, self.key(node.name), f"{self.key(node.name)}{MARK}max")

    def max_count(self, counts: list[Count | None], reader: str, key: str) -> Count:
        """The largest of several loop sizes: known now, or a ``max`` task's output."""
        known = [c for c in counts if c is not None]
        assert len(known) == len(counts), "a loop size is resolved before its readers"
        distinct = list(dict.fromkeys(known))
        if len(distinct) == 1:
            return distinct[0]
        if all(c.static is not None for c in distinct):
            return Count(static=max(c.static or 0 for c in distinct))
        counter = self.add(Task(key=key, kind="max", outputs=["count"], counts=distinct))
        counter.depends = sorted({c.task for c in distinct if c.task})
        counter.spec = {"mode": "max", "task": counter.key}
        self.tasks[reader].depends.append(key)
        return Count(task=counter.key, name="count")

    def zip_task(self, node: PlanNode, task: Task, refs_spec: list[dict[str, Any]]) -> None:
        zkey = self.zip_key(node.name)
        zipper = self.add(Task(key=zkey, kind="zip", node=node.name, outputs=["count"]))
        sources = []
        for spec, iref in zip(refs_spec, node.refs, strict=True):
            if spec["kind"] not in ("flowInputBatch", "nodeBatch", "rawBatch"):
                continue
            source: dict[str, Any] = {"slot": spec["slot"]}
            if spec["kind"] == "rawBatch":
                source["raw"] = spec["raw"]
            elif spec["kind"] == "flowInputBatch":
                zipper.depends.append(PREPARE)
            else:
                zipper.depends.append(self.done_key(iref.ref.node))
            sources.append(source)
        assert node.batch is not None
        zipper.spec = {"mode": "zip", "task": zkey, "target": task.key,
                       "operation": node.batch.operation, "sources": sources}
        task.loop = Count(task=zkey, name="count")
        task.depends.append(zkey)

    def run_spec(self, node: PlanNode, key: str, refs: list[dict[str, Any]]) -> dict[str, Any]:
        algorithm = self.plan.algorithm(node.algorithm) if node.algorithm else None
        return {
            "mode": "run",
            "task": key,
            "pipeline": {"name": self.plan.name, "experimentName": self.plan.experiment,
                         "priority": self.plan.priority},
            "node": {
                "nodeName": node.name,
                "algorithmName": node.algorithm,
                "kind": node.kind,
                "input": _thaw(node.input),
                "refs": refs,
                "extraData": _thaw(node.extra_data),
                "extra": _thaw(node.extra),
                "retry": node.retry.to_json(),
                "ttl": node.ttl,
                "parents": [p.node for p in node.parents],
                "childs": list(node.children),
            },
            "algorithm": {
                "env": algorithm.env if algorithm else None,
                "entryPoint": algorithm.entry_point if algorithm else None,
                "type": algorithm.type if algorithm else None,
            },
        }

    # -- wait-any groups --------------------------------------------------------------------

    def group_members(self) -> list[list[str]]:
        """The wait-any groups' members: each fused node with its wait-any parents,
        transitively, in plan order."""
        links: dict[str, set[str]] = {n.name: set() for n in self.plan.nodes}
        for node in self.plan.nodes:
            if node.name not in self.fused:
                continue
            for parent in node.wait_any:
                links[node.name].add(parent)
                links[parent].add(node.name)
        order = {n.name: i for i, n in enumerate(self.plan.nodes)}
        seen: set[str] = set()
        out = []
        for node in self.plan.nodes:  # topological order: roots come first
            if node.name in seen or not links[node.name]:
                continue
            members: list[str] = []
            stack = [node.name]
            while stack:
                name = stack.pop()
                if name in seen:
                    continue
                seen.add(name)
                members.append(name)
                stack.extend(sorted(links[name] - seen))
            members.sort(key=order.__getitem__)
            out.append(members)
        return out

    def groups(self) -> list[Group]:
        """The wait-any groups, and the loops of wait-any nodes outside them, each resolved
        after the loops it is made of (a group's roots may be such nodes, and such a node
        may read a group)."""
        memberships = self.group_members()
        group_of = {m: i for i, members in enumerate(memberships) for m in members}
        unfused = [n.name for n in self.plan.nodes if n.wait_any and n.name not in self.fused]

        def unit(name: str) -> tuple[str, Any] | None:
            if name in group_of:
                return ("group", group_of[name])
            return ("node", name) if self.nodes[name].wait_any else None

        needs: dict[tuple[str, Any], set[tuple[str, Any]]] = {}
        for name in unfused:
            needs[("node", name)] = {u for p in self.nodes[name].wait_any
                                     if (u := unit(p)) is not None}
        for i, members in enumerate(memberships):
            needs[("group", i)] = {("node", m) for m in members
                                   if m not in self.fused and self.nodes[m].wait_any}
        built: dict[int, Group] = {}
        done: set[tuple[str, Any]] = set()
        pending = list(needs)
        while pending:
            ready = [u for u in pending if needs[u] <= done]
            assert ready, "wait-any loops depend on each other"
            for item in ready:
                kind, which = item
                if kind == "node":
                    task = self.tasks[self.key(which)]
                    task.loop = self.unfused_loop(self.nodes[which])
                else:
                    built[which] = self.group(memberships[which])
                done.add(item)
            pending = [u for u in pending if u not in done]
        return [built[i] for i in range(len(memberships))]

    def group(self, members: list[str]) -> Group:
        roots = [m for m in members if m not in self.fused]
        keys = [self.key(m) for m in members]
        gkey = f"{self.key(roots[0])}{MARK}each"
        if len(roots) == 1:
            loop = self.tasks[self.key(roots[0])].loop
            assert loop is not None
        else:
            counter = self.add(Task(key=f"{gkey}{MARK}size", kind="max", outputs=["count"],
                                    counts=[self.tasks[self.key(r)].loop for r in roots]))
            counter.depends = sorted({c.task for c in counter.counts if c and c.task})
            counter.spec = {"mode": "max", "task": counter.key}
            loop = Count(task=counter.key, name="count")
            for root in roots:
                self.tasks[self.key(root)].when_within = self.tasks[self.key(root)].loop
        for member, key in zip(members, keys, strict=True):
            task = self.tasks[key]
            task.group = gkey
            task.loop = loop
            if member in self.fused:  # a root's wait-any parents (if any) are outside
                task.inner = [self.key(p) for p in self.nodes[member].wait_any]
        for member in members:  # group members are never lean: each has its collect step
            self.tasks[self.collect_key(member)].depends = [gkey]
        return Group(key=gkey, members=keys, roots=[self.key(r) for r in roots], loop=loop)

    def group_depends(self, group: Group) -> None:
        """What the whole group waits for: its members' outside dependencies (known once
        every task has its dependencies, prepare included) and its size step."""
        depends = [d for key in group.members for d in self.tasks[key].depends
                   if d not in group.members]
        if len(group.roots) > 1:
            depends.append(f"{group.key}{MARK}size")
        group.depends = list(dict.fromkeys(depends))

    def attach_sizes(self) -> None:
        """Whoever counts a lean batch also tells its judges the size: the split route that
        writes the count, or the zip/collect step whose ``count`` it is."""
        for (producer, name), dests in self.size_to.items():
            owner = next((r for r in self.routes[producer] if r.get("count") == name), None)
            if owner is not None:
                owner["sizeTo"] = dests
            else:
                self.tasks[producer].spec["sizeTo"] = dests

    # -- whole pipeline ---------------------------------------------------------------------

    def build(self) -> JobGraph:
        prepare = self.add(Task(key=PREPARE, kind="prepare"))
        for node in self.plan.nodes:
            self.node_tasks(node)
        groups = self.groups()
        results = self.add(Task(key=RESULTS, kind="results", outputs=["results-key"],
                                depends=[self.done_key(n) for n in self.plan.results]))
        results.spec = {"mode": "results", "task": RESULTS, "pipeline": self.plan.name,
                        "nodes": self.results_slots}
        for task in self.tasks.values():
            if task.kind == "collect":
                owner = self.tasks[self.key(task.node or "")]
                # a root of a multi-root group runs only its own items (when_within)
                task.total = owner.when_within or owner.loop
            if task.key != PREPARE and not task.depends:
                task.depends.append(PREPARE)
            task.depends = list(dict.fromkeys(task.depends))
            if task.kind != "prepare":
                task.spec["routes"] = self.routes.get(task.key, [])
        for group in groups:
            self.group_depends(group)
        self.attach_sizes()
        prepare.outputs = sorted({r["count"] for r in self.routes[PREPARE] if r.get("count")})
        for task in self.tasks.values():
            if task.kind == "run":
                task.outputs = sorted({r["count"] for r in task.spec["routes"] if r.get("count")})
        tasks = list(self.tasks.values())
        _check_acyclic(tasks, groups)
        spec = {"tasks": {t.key: t.spec for t in tasks if t.kind != "prepare"},
                "flowInputRoutes": self.routes[PREPARE]}
        return JobGraph(tasks=tasks, groups=groups, pipeline_spec=spec)


def _thaw(value: Any) -> Any:
    from .plan import thaw

    return thaw(value)


def _units_acyclic(plan: Plan, fused: set[str]) -> bool:
    """Whether running each node of ``fused`` inside its wait-any parents' group leaves the
    job graph acyclic. A group runs as one unit, and whoever needs all of a member waits for
    the whole group: a member with any other dependency inside its own group, or a path
    that leaves the group and comes back, would make the group wait for itself."""
    owner = {n.name: n.name for n in plan.nodes}

    def find(name: str) -> str:
        while owner[name] != name:
            owner[name] = owner[owner[name]]
            name = owner[name]
        return name

    for name in sorted(fused):
        for parent in plan.node(name).wait_any:
            owner[find(parent)] = find(name)
    edges: dict[str, set[str]] = {}
    for node in plan.nodes:
        unit = find(node.name)
        edges.setdefault(unit, set())
        for dep in node.parents:
            if node.name in fused and dep.relations == ("waitAny",):
                continue
            other = find(dep.node)
            if other == unit:
                return False
            edges[unit].add(other)
    return _closes_cycle(edges) is None


def _closes_cycle(edges: dict[str, set[str]]) -> str | None:
    """A unit that closes a cycle in ``edges`` (unit -> the units it waits for), found by
    an iterative depth-first walk in a deterministic order; None when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in edges:
        if state.get(start):
            continue
        stack = [(start, iter(sorted(edges[start])))]
        state[start] = 1
        while stack:
            unit, deps = stack[-1]
            nxt = next(deps, None)
            if nxt is None:
                state[unit] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return nxt
            elif not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(sorted(edges.get(nxt, ())))))
    return None


def _check_acyclic(tasks: Iterable[Task], groups: list[Group]) -> None:
    """Fusing wait-any nodes into one loop can close a cycle HKube would not have (a group
    member waiting for a node that waits for the whole group): refuse it clearly."""
    group_of = {m: g.key for g in groups for m in g.members}
    edges: dict[str, set[str]] = {}
    for task in tasks:
        unit = group_of.get(task.key, task.key)
        edges.setdefault(unit, set())
        for dep in task.depends:
            dep_unit = group_of.get(dep, dep)
            if dep_unit != unit:
                edges[unit].add(dep_unit)
    closing = _closes_cycle(edges)
    if closing is not None:
        raise CompileError(
            f"the wait-any (*@) group {group_of.get(closing, closing)} would wait for itself "
            "through another node; hkube2argo cannot run this shape yet")


def build(plan: Plan) -> JobGraph:
    return _Builder(plan).build()
