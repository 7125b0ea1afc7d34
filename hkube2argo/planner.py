"""Builds the :class:`~hkube2argo.plan.Plan` from a descriptor that passed every check."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from .checks import NodeView
from .graph import adjacency, topological_order
from .models import Algorithm, Node, Pipeline
from .models.formats import memory_mi
from .plan import (
    AlgorithmSpec,
    BatchShape,
    Dependency,
    InputRef,
    Options,
    Parent,
    Plan,
    PlanNode,
    Resources,
    Retry,
    freeze,
)

DEFAULT_RETRY = Retry(policy="OnCrash", limit=3, explicit=False)


def algorithm_spec(algorithm: Algorithm, code_path: str | None) -> AlgorithmSpec:
    """The plan's view of an algorithm; ``code_path`` is already resolved by the loader."""
    wire = algorithm.wire()
    if code_path is not None:
        wire["codePath"] = code_path
    kind = algorithm.effective_type
    if kind in ("Code", "Git") and code_path is None and algorithm.algorithm_image:
        kind = "Image"  # HKube built it (its store keeps the image): it runs from that image
    return AlgorithmSpec(
        name=algorithm.name,
        type=kind,  # type: ignore[arg-type]
        image=algorithm.algorithm_image,
        env=algorithm.env,
        entry_point=algorithm.entry_point,
        code_path=code_path,
        resources=Resources(cpu=algorithm.cpu, mem=algorithm.mem, mem_mi=memory_mi(algorithm.mem),
                            gpu=algorithm.gpu),
        descriptor=freeze(wire),
    )


def _retry(node: Node) -> Retry:
    if node.retry is None:
        return DEFAULT_RETRY
    return Retry(policy=node.retry.policy, limit=node.retry.limit, explicit=True)


def _is_result(node: Node, children: Sequence[str]) -> bool:
    return not children or bool(node.include_in_results) or bool(node.include_in_result)


def _plan_node(node: Node, view: NodeView, parents: Sequence[Dependency],
               children: Sequence[str]) -> PlanNode:
    refs = tuple(InputRef(at, ref) for at, ref in view.parsed.refs)
    sources = tuple(at for at, ref in view.parsed.refs if ref.is_batch)
    batch = BatchShape(node.batch_operation or "indexed", sources) if sources else None
    wait_any = tuple(dict.fromkeys(ref.node for _, ref in view.parsed.refs
                                   if ref.kind == "waitAny" and ref.node is not None))
    return PlanNode(
        name=node.node_name,
        position=view.position,
        kind=node.kind,  # type: ignore[arg-type]  # checks allow only algorithm and output
        algorithm=node.algorithm_name,
        input=freeze(node.input),
        refs=refs,
        batch=batch,
        wait_any=wait_any,
        parents=tuple(Parent(d.source, d.relations) for d in parents),
        children=tuple(dict.fromkeys(children)),
        is_result=_is_result(node, children),
        retry=_retry(node),
        ttl=node.ttl or None,
        extra_data=freeze(node.extra_data),
        extra=freeze(node.extra_fields),
    )


def build_plan(pipeline: Pipeline, views: Sequence[NodeView], deps: Sequence[Dependency],
               algorithms: Mapping[str, AlgorithmSpec], source: str) -> Plan:
    names = [n.node_name for n in pipeline.nodes]
    position = {name: i for i, name in enumerate(names)}
    children = adjacency(names, deps)
    order = topological_order(names, children)
    parents: dict[str, list[Dependency]] = {name: [] for name in names}
    for dep in deps:
        parents[dep.target].append(dep)
    by_name = {n.node_name: (n, v) for n, v in zip(pipeline.nodes, views, strict=True)}
    nodes = tuple(_plan_node(*by_name[name], parents[name], children[name]) for name in order)
    results = tuple(n.node_name for n in pipeline.nodes if _is_result(n, children[n.node_name]))
    used = sorted({n.algorithm_name for n in pipeline.nodes if n.algorithm_name} & set(algorithms))
    opts = pipeline.options
    concurrency = opts.concurrent_pipelines
    triggers = pipeline.triggers.wire() if pipeline.triggers else {}
    return Plan(
        name=pipeline.name,
        experiment=pipeline.experiment_name,
        description=pipeline.description,
        priority=pipeline.priority,
        tags=tuple(pipeline.tags or ()),
        flow_input=freeze(pipeline.flow_input),
        options=Options(
            ttl=opts.ttl or None,
            active_ttl=opts.active_ttl,
            batch_tolerance=opts.batch_tolerance,
            concurrency=concurrency.amount if concurrency else None,
            reject_on_failure=concurrency.reject_on_failure if concurrency else True,
            verbosity=opts.progress_verbosity_level,
        ),
        webhooks=freeze(pipeline.webhooks.wire() if pipeline.webhooks else {}),
        triggers=freeze(triggers),
        nodes=nodes,
        dependencies=tuple(sorted(deps, key=lambda d: (position[d.source], position[d.target]))),
        results=results,
        algorithms=tuple(algorithms[name] for name in used),
        source=source,
    )


def resolve_code_path(code_path: str | None, descriptor_file: str) -> str | None:
    """``code.path`` is relative to the algorithm file, as hkubectl reads it."""
    if code_path is None:
        return None
    if os.path.isabs(code_path):
        return os.path.normpath(code_path)
    return os.path.normpath(os.path.join(os.path.dirname(descriptor_file), code_path))
