"""The DAG: one task per job-graph task, loops over counts, wait-any groups as looped
sub-DAGs. Only task names, counts, indices and keys appear in arguments."""

from __future__ import annotations

from hera.workflows import models as m

from ..jobgraph import Count, Group, JobGraph, Task
from .templates import TemplateSet

ENTRY = "pipeline"
MAX_TASKS = 200  # per DAG template under Argo v4's full CRDs (argo-notes section 10)


class DagTooLarge(ValueError):
    pass


def count_expr(count: Count | None) -> str:
    """A loop size as Argo text: a number, or another task's output parameter."""
    assert count is not None
    if count.static is not None:
        return str(count.static)
    return f"{{{{tasks.{count.task}.outputs.parameters.{count.name}}}}}"


def _sequence(count: Count | None) -> m.Sequence:
    return m.Sequence(count=m.IntOrString(count_expr(count)), start=m.IntOrString("1"))


def _params(**values: str) -> m.Arguments:
    return m.Arguments(parameters=[m.Parameter(name=k, value=v) for k, v in values.items()])


def _task(task: Task, templates: TemplateSet, depends: list[str], index: str | None) -> m.DAGTask:
    params = {"task": task.key}
    looped = task.kind == "run" and task.loop is not None and task.group is None
    if task.kind == "run":
        # a loop's item, a group's index, or 0 for a plain node (no {{item}} outside loops)
        params["index"] = index if (looped or task.group is not None) and index else "0"
    if task.kind == "collect":
        params["total"] = count_expr(task.total)
    if task.kind == "max":
        params["values"] = ",".join(count_expr(c) for c in task.counts)
    arguments = _params(**params)
    if task.kind == "prepare":
        arguments.artifacts = [m.Artifact(name="flow-input",
                                          from_="{{inputs.artifacts.flow-input}}")]
    return m.DAGTask(
        name=task.key,
        template=templates.for_task(task),
        arguments=arguments,
        dependencies=depends or None,
        with_sequence=_sequence(task.loop) if looped else None,
        continue_on=m.ContinueOn(failed=True) if task.tolerate_failure else None,
    )


def group_template(group: Group, graph: JobGraph,
                   templates: TemplateSet) -> tuple[m.Template, list[tuple[str, str]]]:
    """Each wait-any item as soon as its parents' item is done: the members run together,
    one loop iteration per batch index."""
    tasks = []
    size_params = []
    for key in group.members:
        task = graph.task(key)
        dag_task = _task(task, templates, task.inner, "{{inputs.parameters.index}}")
        if task.when_within is not None:
            param = f"size-{key}"
            size_params.append((param, count_expr(task.when_within)))
            dag_task.when = f"{{{{inputs.parameters.index}}}} <= {{{{inputs.parameters.{param}}}}}"
        tasks.append(dag_task)
    return m.Template(
        name=f"group-{group.key}",
        inputs=m.Inputs(parameters=[m.Parameter(name="index"),
                                    *(m.Parameter(name=p) for p, _ in size_params)]),
        dag=m.DAGTemplate(tasks=tasks),
    ), size_params


def entry_template(graph: JobGraph, templates: TemplateSet) -> list[m.Template]:
    """The pipeline's DAG, and one template per wait-any group."""
    tasks: list[m.DAGTask] = []
    extra: list[m.Template] = []
    groups = {g.key: g for g in graph.groups}
    emitted: set[str] = set()
    for task in graph.tasks:
        if task.group is None:
            tasks.append(_task(task, templates, task.depends, "{{item}}"))
            continue
        if task.group in emitted:
            continue
        emitted.add(task.group)
        group = groups[task.group]
        template, sizes = group_template(group, graph, templates)
        extra.append(template)
        tasks.append(m.DAGTask(
            name=group.key, template=template.name,
            arguments=_params(index="{{item}}", **dict(sizes)),
            dependencies=group.depends or None, with_sequence=_sequence(group.loop),
            continue_on=m.ContinueOn(failed=True)))
    if len(tasks) > MAX_TASKS:
        raise DagTooLarge(f"the pipeline needs {len(tasks)} Argo tasks in one DAG; Argo v4 "
                          f"allows {MAX_TASKS}; splitting large pipelines into nested DAGs is "
                          "not implemented yet")
    entry = m.Template(name=ENTRY, inputs=m.Inputs(artifacts=[m.Artifact(name="flow-input")]),
                       dag=m.DAGTemplate(tasks=tasks))
    return [entry, *extra]
