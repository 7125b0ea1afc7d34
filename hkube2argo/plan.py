"""The plan: a frozen, fully resolved, language-neutral description of one pipeline.

Everything later stages need and nothing Argo-specific: nodes in a deterministic
topological order, every input reference parsed, the dependencies with their HKube
relation, each node's batch shape, the result nodes, resources, retry and deadlines.
Every validation error is raised before a plan exists, so emitters and the runner can
trust it. ``to_json`` gives the stable JSON form (``PLAN_VERSION`` marks its shape).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import Any, Literal

from .diagnostics import Loc
from .grammar import Ref, Relation

PLAN_VERSION = 1
JSON = Any


def freeze(value: JSON) -> JSON:
    """Deep read-only copy of a JSON value (objects become mapping proxies, arrays tuples)."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: JSON) -> JSON:
    """Plain JSON back from :func:`freeze`."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class InputRef:
    """A reference at location ``at`` inside the node's ``input``."""

    at: Loc
    ref: Ref

    def to_json(self) -> dict[str, Any]:
        return {"at": list(self.at), **self.ref.to_json()}


@dataclass(frozen=True)
class BatchShape:
    """How a batch node fans out: over its batch sources, zipped or as a product.

    ``sources`` are locations of batch leaves in ``input``, in HKube's traversal order
    (the first source varies slowest in a cartesian product)."""

    operation: Literal["indexed", "cartesian"]
    sources: tuple[Loc, ...]

    def to_json(self) -> dict[str, Any]:
        return {"operation": self.operation, "sources": [list(s) for s in self.sources]}


@dataclass(frozen=True)
class Retry:
    policy: Literal["Never", "Always", "OnError", "OnCrash"]
    limit: int
    explicit: bool  # False: HKube's effective default (OnCrash, 3) without a retry object

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "limit": self.limit, "explicit": self.explicit}


@dataclass(frozen=True)
class Parent:
    node: str
    relations: tuple[Relation, ...]

    def to_json(self) -> dict[str, Any]:
        return {"node": self.node, "relations": list(self.relations)}


@dataclass(frozen=True)
class PlanNode:
    name: str
    position: int  # index in the descriptor's nodes list
    kind: Literal["algorithm", "output"]
    algorithm: str | None
    input: JSON  # as written (frozen); references stay in place, resolved via ``refs``
    refs: tuple[InputRef, ...]
    batch: BatchShape | None
    wait_any: tuple[str, ...]  # wait-any parents, zipped by batch index
    parents: tuple[Parent, ...]
    children: tuple[str, ...]
    is_result: bool
    retry: Retry
    ttl: int | None  # seconds; None = no limit
    extra_data: JSON
    extra: JSON  # unknown descriptor keys, kept (HKube passes them on)

    @property
    def fans_out(self) -> bool:
        """True when the node runs once per item (a batch or a wait-any node)."""
        return self.batch is not None or bool(self.wait_any)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "position": self.position,
            "kind": self.kind,
            "algorithm": self.algorithm,
            "input": thaw(self.input),
            "refs": [r.to_json() for r in self.refs],
            "batch": self.batch.to_json() if self.batch else None,
            "waitAny": list(self.wait_any),
            "parents": [p.to_json() for p in self.parents],
            "children": list(self.children),
            "isResult": self.is_result,
            "retry": self.retry.to_json(),
            "ttl": self.ttl,
            "extraData": thaw(self.extra_data),
            "extra": thaw(self.extra),
        }


@dataclass(frozen=True)
class Resources:
    cpu: float
    mem: str
    mem_mi: float
    gpu: float | None

    def to_json(self) -> dict[str, Any]:
        return {"cpu": self.cpu, "mem": self.mem, "memMi": self.mem_mi, "gpu": self.gpu}


@dataclass(frozen=True)
class AlgorithmSpec:
    """What a node needs to know of its algorithm; ``descriptor`` keeps every HKube field
    (env, selectors, volumes, ...) for the emitters, normalised to the REST shape."""

    name: str
    type: Literal["Image", "Code", "Git"]
    image: str | None
    env: str | None
    entry_point: str | None
    code_path: str | None
    resources: Resources
    descriptor: JSON

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "image": self.image,
            "env": self.env,
            "entryPoint": self.entry_point,
            "codePath": self.code_path,
            "resources": self.resources.to_json(),
            "descriptor": thaw(self.descriptor),
        }


@dataclass(frozen=True)
class Dependency:
    source: str
    target: str
    relations: tuple[Relation, ...]

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "relations": list(self.relations)}


@dataclass(frozen=True)
class Options:
    ttl: int | None  # seconds; None when 0 (disabled)
    active_ttl: int | None
    batch_tolerance: int
    concurrency: int | None
    reject_on_failure: bool
    verbosity: str

    def to_json(self) -> dict[str, Any]:
        return {
            "ttl": self.ttl,
            "activeTtl": self.active_ttl,
            "batchTolerance": self.batch_tolerance,
            "concurrency": self.concurrency,
            "rejectOnFailure": self.reject_on_failure,
            "progressVerbosityLevel": self.verbosity,
        }


@dataclass(frozen=True)
class Plan:
    name: str
    experiment: str
    description: str | None
    priority: int  # HKube's: 1 is the most urgent
    tags: tuple[str, ...]
    flow_input: JSON  # None when the descriptor has none
    options: Options
    webhooks: JSON  # {"progress": url, "result": url}, keys only when given
    triggers: JSON  # {"cron": {pattern, enabled}, "pipelines": [...]}, keys only when given
    nodes: tuple[PlanNode, ...]  # topological order
    dependencies: tuple[Dependency, ...]
    results: tuple[str, ...]  # result nodes, descriptor order
    algorithms: tuple[AlgorithmSpec, ...]  # those the nodes use, sorted by name
    source: str  # the descriptor file, for messages

    @cached_property
    def _by_name(self) -> tuple[dict[str, PlanNode], dict[str, AlgorithmSpec]]:
        """Lookups by name (the emitters ask per node: linear scans made compiles
        quadratic). Built on first use; the plan itself stays frozen."""
        return {n.name: n for n in self.nodes}, {a.name: a for a in self.algorithms}

    def node(self, name: str) -> PlanNode:
        return self._by_name[0][name]

    def algorithm(self, name: str) -> AlgorithmSpec | None:
        return self._by_name[1].get(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "planVersion": PLAN_VERSION,
            "name": self.name,
            "experimentName": self.experiment,
            "description": self.description,
            "priority": self.priority,
            "tags": list(self.tags),
            "flowInput": thaw(self.flow_input),
            "options": self.options.to_json(),
            "webhooks": thaw(self.webhooks),
            "triggers": thaw(self.triggers),
            "nodes": [n.to_json() for n in self.nodes],
            "dependencies": [d.to_json() for d in self.dependencies],
            "results": list(self.results),
            "algorithms": [a.to_json() for a in self.algorithms],
        }
