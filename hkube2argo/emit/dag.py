"""The DAG: one task per job-graph task, loops over counts, wait-any groups as looped
sub-DAGs. Only task names, counts, indices and keys appear in arguments.

Argo v4's full CRDs allow 200 tasks per DAG template, so a large pipeline is cut, in
dependency order, into parts of at most 200 tasks; the entry DAG runs the parts, and a
loop size produced in one part reaches another as the part's output parameter. A wait-any
group with more members is cut the same way (a part waits for the parts its members
wait for). With too many templates for one spec (200), groups of the same shape share
one template: members are then named m1, m2, ... and the group's task passes each
member's task key and settings as parameters.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

from ..jobgraph import Count, Group, JobGraph, Task
from . import shapes as m
from .templates import TemplateSet

ENTRY = "pipeline"
MAX_TASKS = 200  # per DAG template under Argo v4's full CRDs (argo-notes section 10)
MAX_PARAMETERS = 500  # inputs.parameters per template under the same CRDs
ITEM = "{{inputs.parameters.index}}"  # a group's batch index, inside the group

Resolve = Callable[[Count | None], str]


class DagTooLarge(ValueError):
    pass


def local_expr(count: Count | None) -> str:
    """A loop size as Argo text: a number, or a sibling task's output parameter."""
    assert count is not None
    if count.static is not None:
        return str(count.static)
    return f"{{{{tasks.{count.task}.outputs.parameters.{count.name}}}}}"


def _sequence(expr: str) -> m.Sequence:
    return m.Sequence(count=m.IntOrString(expr), start=m.IntOrString("1"))


def _params(**values: str) -> m.Arguments:
    return m.Arguments(parameters=[m.Parameter(name=k, value=v) for k, v in values.items()])


def _flow_input(source: str = "{{inputs.artifacts.flow-input}}") -> m.Artifact:
    return m.Artifact(name="flow-input", from_=source)


def _input(name: str) -> str:
    return f"{{{{inputs.parameters.{name}}}}}"


@dataclass
class Unit:
    """One entry of a DAG: a task, or a wait-any group's loop."""

    name: str
    depends: list[str]
    counts: list[Count]
    build: Callable[[Resolve, list[str]], m.DAGTask]
    extra: list[m.Template] = field(default_factory=list)
    takes_flow_input: bool = False


# Batch items (and wait-any groups) whose failures a tolerance judge counts. An item can
# end Failed (the algorithm failed) or Error (pod deleted, artifact download or upload
# failed: operator.go inferFailedReason). Argo's loop node takes the phase of its last
# failed or errored item (dag.go executeDAGTask) and a dependent of ``dependencies``
# accepts Failed only with continueOn.failed and Error only with continueOn.error
# (ancestry.go expandDependency): with ``failed`` alone one errored item would omit the
# judge and end the run in Error instead of applying batchTolerance.
TOLERATE = m.ContinueOn(failed=True, error=True)


def _task_unit(task: Task, templates: TemplateSet) -> Unit:
    looped = task.kind == "run" and task.loop is not None
    counts = [c for c in (task.loop if looped else None, task.total, *task.counts) if c]

    def build(resolve: Resolve, depends: list[str]) -> m.DAGTask:
        params = {"task": task.key}
        if task.kind == "run":
            if looped:  # a task that runs once takes the template's default index, 0
                params["index"] = "{{item}}"
            params.update(templates.task_arguments(task))
        if task.kind == "collect":
            params["total"] = resolve(task.total)
        if task.kind == "max":
            params["values"] = ",".join(resolve(c) for c in task.counts)
        arguments = _params(**params)
        if task.kind == "prepare":
            arguments.artifacts = [_flow_input()]
        return m.DAGTask(
            name=task.key, template=templates.for_task(task), arguments=arguments,
            dependencies=depends or None,
            with_sequence=_sequence(resolve(task.loop)) if looped else None,
            continue_on=TOLERATE if task.tolerate_failure else None)

    return Unit(task.key, list(task.depends), counts, build,
                takes_flow_input=task.kind == "prepare")


def _group_unit(group: Group, graph: JobGraph, templates: TemplateSet,
                shapes: dict[str, str] | None) -> Unit:
    """Each wait-any item as soon as its parents' item is done: the members run together,
    one loop iteration per batch index. ``shapes`` given: share the group's template
    with every group of the same shape (signature -> template name)."""
    members = [graph.task(key) for key in group.members]
    every = shapes is not None  # the same arguments for every member of a template
    values = {t.key: {"task": t.key, **templates.task_arguments(t, every)} for t in members}
    wanted = 1 + sum(len(v) + (t.when_within is not None) for t, v in
                     zip(members, values.values(), strict=True))
    compact = shapes is not None and len(members) <= MAX_TASKS and wanted <= MAX_PARAMETERS
    local = {t.key: f"m{i + 1}" if compact else t.key for i, t in enumerate(members)}
    passed: dict[str, str] = {}  # compact: the group's inputs that name its members
    sizes: list[tuple[str, Count]] = []
    size_of: dict[str, str] = {}
    tasks = []
    for task in members:
        name = local[task.key]
        arguments = {"task": values[task.key]["task"], "index": ITEM,
                     **{k: v for k, v in values[task.key].items() if k != "task"}}
        if compact:
            for arg in values[task.key]:
                passed[f"{arg}-{name}"] = values[task.key][arg]
                arguments[arg] = _input(f"{arg}-{name}")
        dag_task = m.DAGTask(
            name=name, template=templates.for_task(task), arguments=_params(**arguments),
            dependencies=[local[d] for d in task.inner] or None,
            continue_on=TOLERATE)
        if task.when_within is not None:
            param = size_of[name] = f"size-{name}"
            sizes.append((param, task.when_within))
            dag_task.when = f"{ITEM} <= {_input(param)}"
        tasks.append(dag_task)
    extra: list[m.Template] = []
    name = f"group-{group.key}"
    if len(tasks) > MAX_TASKS:
        tasks, extra = _group_parts(name, tasks, size_of)
    template = m.Template(
        name=name,
        inputs=m.Inputs(parameters=[m.Parameter(name="index"),
                                    *(m.Parameter(name=p) for p, _ in sizes),
                                    *(m.Parameter(name=p) for p in passed)]),
        dag=m.DAGTemplate(tasks=tasks))
    if compact:
        assert shapes is not None
        signature = template.model_dump_json(exclude={"name"})
        known = signature in shapes
        template.name = shapes.setdefault(signature, f"group-shape-{len(shapes) + 1}")
        extra = [] if known else [template]
    else:
        extra.insert(0, template)

    def build(resolve: Resolve, depends: list[str]) -> m.DAGTask:
        values = {p: resolve(c) for p, c in sizes}
        return m.DAGTask(
            name=group.key, template=template.name or "",
            arguments=_params(index="{{item}}", **values, **passed),
            dependencies=depends or None,
            with_sequence=_sequence(resolve(group.loop)), continue_on=TOLERATE)

    return Unit(group.key, list(group.depends), [group.loop, *(c for _, c in sizes)], build,
                extra=extra)


def _group_parts(name: str, tasks: list[m.DAGTask], size_of: dict[str, str],
                 ) -> tuple[list[m.DAGTask], list[m.Template]]:
    """A group too large for one DAG: its members (in dependency order) in parts of at
    most ``MAX_TASKS``; a part waits for the parts holding its members' parents."""
    chunks = [tasks[i:i + MAX_TASKS] for i in range(0, len(tasks), MAX_TASKS)]
    if len(chunks) > MAX_TASKS:
        raise DagTooLarge(f"a wait-any (*@) group has {len(tasks)} nodes; at most "
                          f"{MAX_TASKS * MAX_TASKS} are supported")
    part_of = {t.name: j for j, chunk in enumerate(chunks) for t in chunk}
    calls, templates = [], []
    for j, chunk in enumerate(chunks):
        waits = sorted({part_of[d] for t in chunk for d in t.dependencies or ()} - {j})
        for task in chunk:
            task.dependencies = [d for d in task.dependencies or () if part_of[d] == j] or None
        params = [size_of[t.name] for t in chunk if t.name in size_of]
        templates.append(m.Template(
            name=f"{name}-part-{j + 1}",
            inputs=m.Inputs(parameters=[m.Parameter(name=p) for p in ("index", *params)]),
            dag=m.DAGTemplate(tasks=chunk)))
        calls.append(m.DAGTask(
            name=f"part-{j + 1}", template=f"{name}-part-{j + 1}",
            arguments=_params(**{p: _input(p) for p in ("index", *params)}),
            dependencies=[f"part-{k + 1}" for k in waits] or None,
            continue_on=TOLERATE))
    return calls, templates


def _units(graph: JobGraph, templates: TemplateSet,
           shapes: dict[str, str] | None = None) -> list[Unit]:
    """The entries in dependency order (ties in job-graph order)."""
    units: list[Unit] = []
    seen: set[str] = set()
    groups = {g.key: g for g in graph.groups}
    for task in graph.tasks:
        if task.group is None:
            units.append(_task_unit(task, templates))
        elif task.group not in seen:
            seen.add(task.group)
            units.append(_group_unit(groups[task.group], graph, templates, shapes))
    unit_of = {t.key: (t.group or t.key) for t in graph.tasks}
    unit_of.update({g: g for g in groups})  # collect steps wait for the group itself
    for unit in units:
        unit.depends = list(dict.fromkeys(unit_of[d] for d in unit.depends
                                          if unit_of[d] != unit.name))
    position = {u.name: i for i, u in enumerate(units)}
    waiting = {u.name: len(u.depends) for u in units}
    children: dict[str, list[str]] = {u.name: [] for u in units}
    for unit in units:
        for dep in unit.depends:
            children[dep].append(unit.name)
    ready = [position[u.name] for u in units if not u.depends]
    heapq.heapify(ready)
    ordered = []
    while ready:
        unit = units[heapq.heappop(ready)]
        ordered.append(unit)
        for child in children[unit.name]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, position[child])
    return ordered


def _unit_of_count(count: Count, owner: dict[str, str]) -> str | None:
    return owner.get(count.task) if count.task else None


def entry_template(graph: JobGraph, templates: TemplateSet,
                   share_groups: bool = False) -> list[m.Template]:
    """The pipeline's DAG, its wait-any group templates and, for large pipelines, parts.
    ``share_groups``: one template per group shape rather than per group."""
    units = _units(graph, templates, {} if share_groups else None)
    extra = [t for u in units for t in u.extra]
    owner = {t.key: (t.group or t.key) for t in graph.tasks}
    if len(units) <= MAX_TASKS:
        tasks = [u.build(local_expr, u.depends) for u in units]
        entry = m.Template(name=ENTRY, inputs=m.Inputs(artifacts=[m.Artifact(name="flow-input")]),
                           dag=m.DAGTemplate(tasks=tasks))
        return [entry, *extra]
    parts = [units[i:i + MAX_TASKS] for i in range(0, len(units), MAX_TASKS)]
    if len(parts) > MAX_TASKS:
        raise DagTooLarge(f"the pipeline needs {len(units)} Argo tasks; at most "
                          f"{MAX_TASKS * MAX_TASKS} are supported")
    part_of = {u.name: j for j, part in enumerate(parts) for u in part}
    name_of = [f"part-{j + 1}" for j in range(len(parts))]

    def carried(count: Count) -> str:
        return f"c-{count.task}-{count.name}"

    imports: list[dict[str, Count]] = [{} for _ in parts]
    exports: list[dict[str, Count]] = [{} for _ in parts]
    for j, part in enumerate(parts):
        for unit in part:
            for count in unit.counts:
                producer = _unit_of_count(count, owner)
                if producer is not None and part_of[producer] != j:
                    imports[j][carried(count)] = count
                    exports[part_of[producer]][carried(count)] = count
    part_templates = []
    main_tasks = []
    for j, part in enumerate(parts):
        inside = {u.name for u in part}

        def resolve(count: Count | None, inside: set[str] = inside) -> str:
            assert count is not None
            producer = _unit_of_count(count, owner)
            if producer is None or producer in inside:
                return local_expr(count)
            return f"{{{{inputs.parameters.{carried(count)}}}}}"

        tasks = [u.build(resolve, [d for d in u.depends if d in inside]) for u in part]
        flow = any(u.takes_flow_input for u in part)
        part_templates.append(m.Template(
            name=name_of[j],
            inputs=m.Inputs(parameters=[m.Parameter(name=n) for n in sorted(imports[j])] or None,
                            artifacts=[m.Artifact(name="flow-input")] if flow else None),
            outputs=m.Outputs(parameters=[m.Parameter(name=n, value_from=m.ValueFrom(
                parameter=local_expr(c))) for n, c in sorted(exports[j].items())]) or None
            if exports[j] else None,
            dag=m.DAGTemplate(tasks=tasks)))
        deps = sorted({part_of[d] for u in part for d in u.depends if part_of[d] != j})
        args = _params(**{n: f"{{{{tasks.{name_of[part_of[_unit_of_count(c, owner)]]}"
                              f".outputs.parameters.{n}}}}}"
                          for n, c in sorted(imports[j].items())})
        if flow:
            args.artifacts = [_flow_input()]
        main_tasks.append(m.DAGTask(name=name_of[j], template=name_of[j], arguments=args,
                                    dependencies=[name_of[d] for d in deps] or None))
    entry = m.Template(name=ENTRY, inputs=m.Inputs(artifacts=[m.Artifact(name="flow-input")]),
                       dag=m.DAGTemplate(tasks=main_tasks))
    return [entry, *part_templates, *extra]
