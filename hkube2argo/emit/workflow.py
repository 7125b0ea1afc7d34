"""The WorkflowTemplate (the stored pipeline) and the Workflow (a raw run) around the DAG.

The Workflow carries the whole spec, as HKube's ``exec raw`` needs no stored pipeline;
runs of a stored pipeline reference the WorkflowTemplate instead. flowInput is the
default ``flow-input`` artifact argument, encoded so Argo substitutes nothing in it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .. import jobgraph, naming
from ..config import LABEL_DOMAIN, PIPELINE_LABEL, POD_GC, ClusterConfig
from ..plan import Plan, thaw
from ..runtime.values import encode_raw
from . import shapes as m
from .artifacts import NO_PARENT, PARENT_PARAMETER
from .dag import ENTRY, entry_template
from .templates import LEVELS, PROGRESS, WEBHOOKS, EmitError, TemplateSet, reports_progress

API_VERSION = "argoproj.io/v1alpha1"


@dataclass(frozen=True)
class Manifests:
    workflow_template: dict[str, Any]
    workflow: dict[str, Any]
    graph: jobgraph.JobGraph
    cron_workflow: dict[str, Any] | None = None  # triggers.cron (emit/cron.py)
    trigger_objects: tuple[dict[str, Any], ...] = ()  # triggers.pipelines (emit/events.py)
    # concurrentPipelines: the semaphore ConfigMap with this pipeline's key (emit/semaphore.py);
    # a Kubernetes object, not an Argo one, so not among documents() (which lint checks)
    semaphore: dict[str, Any] | None = None

    def documents(self) -> list[dict[str, Any]]:
        cron = [self.cron_workflow] if self.cron_workflow else []
        return [self.workflow_template, self.workflow, *cron, *self.trigger_objects]


def flow_input_argument(flow_input: Any) -> m.Artifact:
    return m.Artifact(name="flow-input", raw=m.RawArtifact(data=encode_raw(flow_input)))


def labels(plan: Plan) -> dict[str, str]:
    out = {PIPELINE_LABEL: naming.label_value(plan.name),
           f"{LABEL_DOMAIN}/experiment": naming.label_value(plan.experiment)}
    for tag in plan.tags:
        out[f"tag.{LABEL_DOMAIN}/{naming.label_value(tag)}"] = "true"
    return out


# Argo substitutes every ``{{`` in a Workflow's text (workflowMetadata too) and has no
# escape for it. A zero-width space after each ``{`` that is followed by ``{`` (or by the
# mark itself) leaves no ``{{`` anywhere and reads the same in the UI; ``restore`` removes
# exactly the marks ``inert`` inserted, so the original is never lost.
MARK = "\u200b"
_NEEDS_MARK = re.compile("\\{(?=[{" + MARK + "])")


def inert(text: str) -> str:
    """User text in metadata that Argo may copy into runs, with no template tag left."""
    return _NEEDS_MARK.sub("{" + MARK, text)


def restore(text: str) -> str:
    """The text ``inert`` was given."""
    return text.replace("{" + MARK, "{")



def annotations(plan: Plan) -> dict[str, str]:
    """What the Argo UI shows: title and description (v3.4.4+), and the HKube names."""
    out = {
        "workflows.argoproj.io/title": inert(plan.name),
        f"{LABEL_DOMAIN}/pipeline-name": inert(plan.name),
        f"{LABEL_DOMAIN}/priority": str(plan.priority),
    }
    if plan.description:
        out["workflows.argoproj.io/description"] = inert(plan.description)
    if plan.tags:
        out[f"{LABEL_DOMAIN}/tags"] = inert(json.dumps(list(plan.tags), ensure_ascii=False))
    return out


RUNNING = 'workflow.status == "Running"'
INFO = 3  # HKube's logger level of status changes; "failed" events are level 1 (error)


def hooks(plan: Plan) -> dict[str, m.LifecycleHook] | None:
    """Webhooks as lifecycle hooks: the exit handler always (result webhook, final status),
    a "running" hook when the progress webhook wants info-level events, and the progress
    reporter for debug-level ones (a hook the exit handler waits for: operator.go operate
    runs onExit only once every triggered workflow-level hook is fulfilled)."""
    given = thaw(plan.webhooks)
    if not given:
        return None
    out = {"exit": m.LifecycleHook(template=WEBHOOKS, arguments=m.Arguments(parameters=[
        m.Parameter(name="status", value="{{workflow.status}}"),
        m.Parameter(name="failures", value="{{workflow.failures}}")]))}
    if given.get("progress") and LEVELS[plan.options.verbosity] >= INFO:
        out["running"] = m.LifecycleHook(template=WEBHOOKS, expression=RUNNING,
                                         arguments=m.Arguments(parameters=[
                                             m.Parameter(name="status", value="Running")]))
    if reports_progress(plan):
        out[PROGRESS] = m.LifecycleHook(template=PROGRESS, expression=RUNNING)
    return out


def workflow_priority(plan: Plan) -> int:
    """Argo's ``spec.priority`` for a run of this pipeline: HKube's 1 is the most urgent,
    Argo runs higher numbers first. Argo reads it from the *Workflow object* itself, not
    from the WorkflowTemplate a run references: the controller's queue
    (``workflow/controller/controller.go`` getWfPriority, ``spec.priority`` of the
    unstructured object) and the semaphore queue (``workflow/sync/sync_manager.go``
    prepAcquire, ``wf.Spec.Priority``). So every run that only references the template
    (stored, cron, triggered) carries it too."""
    return 6 - plan.priority


def deadline(plan: Plan) -> int | None:
    """HKube's ttl (from submission) and activeTtl (from start): Argo has one clock, from
    the workflow's start, so the stricter of the two applies."""
    limits = [t for t in (plan.options.ttl, plan.options.active_ttl) if t]
    return min(limits) if limits else None


# spec.templates maxItems in Argo v4's full CRDs (workflow_types.go WorkflowSpec.Templates;
# the API server refuses a longer list on create)
MAX_TEMPLATES = 200


def templates_within_limit(plan: Plan, graph: jobgraph.JobGraph, config: ClusterConfig,
                           code_keys: dict[str, str],
                           ) -> tuple[list[m.Template], list[m.Template]]:
    """The templates, as readable as ``MAX_TEMPLATES`` allows: each wait-any group its
    own template, else groups shared by shape, else algorithms sharing templates too."""
    counts = ""
    for shared, share_groups in ((False, False), (False, True), (True, True)):
        templates = TemplateSet(plan, graph, config, code_keys)
        steps = templates.build(shared=shared)
        dags = entry_template(graph, templates, share_groups)
        if len(steps) + len(dags) <= MAX_TEMPLATES:
            return steps, dags
        algorithms = len(templates.by_variant)
        groups = sum(1 for t in dags if t.name and t.name.startswith("group-"))
        counts = (f"{len(steps) + len(dags)} Argo templates ({algorithms} for its algorithms "
                  f"under their retry policies, ttl or none and batch shapes, {groups} for "
                  f"wait-any groups, {len(dags) - groups} for its DAG and its parts, "
                  f"{len(steps) - algorithms} for hkube2argo's own steps)")
    raise EmitError(
        f"the pipeline needs {counts}; Argo allows at most {MAX_TEMPLATES} in one Workflow "
        "(spec.templates in its CRD): use fewer distinct retry policies or wait-any group "
        "shapes, or split the pipeline into smaller ones (they can chain with "
        "triggers.pipelines)")


def pod_gc(config: ClusterConfig) -> m.PodGC | None:
    """Argo deletes pods by this strategy (``workflow/controller/pod/cleanup.go``
    determinePodCleanupAction): without one, every batch item's Completed pod stays until
    the Workflow is deleted. OnPodSuccess keeps failed pods, whose logs people read."""
    if config.pod_gc not in POD_GC:
        raise EmitError(f"pod GC strategy '{config.pod_gc}' is not one of "
                        f"{', '.join(POD_GC)}")
    return None if config.pod_gc == "Never" else m.PodGC(strategy=config.pod_gc)


def ttl_strategy(config: ClusterConfig) -> m.TTLStrategy | None:
    """Argo's GC controller deletes a finished Workflow ``secondsAfterCompletion`` after
    its ``finishedAt`` (``workflow/gccontroller/gc_controller.go`` ttl, expiresIn)."""
    if config.workflow_ttl < 0:
        raise EmitError(f"workflow TTL {config.workflow_ttl} must be 0 (keep) or more seconds")
    return m.TTLStrategy(seconds_after_completion=config.workflow_ttl) \
        if config.workflow_ttl else None


def spec(plan: Plan, graph: jobgraph.JobGraph, config: ClusterConfig,
         code_keys: dict[str, str]) -> m.WorkflowSpec:
    step_templates, dag_templates = templates_within_limit(plan, graph, config, code_keys)
    sync = None
    if plan.options.concurrency:
        ref = m.ConfigMapKeySelector(name=config.semaphore_configmap,
                                     key=naming.label_value(plan.name))
        sync = m.Synchronization(semaphores=[m.SemaphoreRef(config_map_key_ref=ref)])
    return m.WorkflowSpec(
        entrypoint=ENTRY,
        arguments=m.Arguments(
            parameters=[m.Parameter(name=PARENT_PARAMETER, value=NO_PARENT,
                                    description="jobId of the pipeline run that triggered "
                                                "this one (triggers.pipelines)")],
            artifacts=[flow_input_argument(thaw(plan.flow_input))]),
        service_account_name=config.workflow_service_account,
        artifact_repository_ref=m.ArtifactRepositoryRef(
            config_map=config.artifact_repository_configmap, key=config.artifact_repository_key),
        active_deadline_seconds=deadline(plan),
        priority=workflow_priority(plan),
        pod_priority_class_name=(f"{config.priority_class_prefix}{plan.priority}"
                                 if config.priority_class_prefix else None),
        pod_metadata=m.Metadata(labels={PIPELINE_LABEL: naming.label_value(plan.name)}),
        synchronization=sync,
        pod_gc=pod_gc(config),
        ttl_strategy=ttl_strategy(config),
        hooks=hooks(plan),
        templates=[*dag_templates, *step_templates],
    )


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def compile_plan(plan: Plan, config: ClusterConfig, code_keys: dict[str, str]) -> Manifests:
    graph = jobgraph.build(plan)
    body = _dump(spec(plan, graph, config, code_keys))
    name = naming.dns_name(plan.name)
    meta = {"labels": labels(plan), "annotations": annotations(plan)}
    if config.namespace:
        meta["namespace"] = config.namespace
    template_spec = {**body, "workflowMetadata": {"labels": labels(plan),
                                                  "annotations": annotations(plan)}}
    workflow_template = {"apiVersion": API_VERSION, "kind": "WorkflowTemplate",
                         "metadata": {"name": name, **meta}, "spec": template_spec}
    run_labels = {**meta["labels"], f"{LABEL_DOMAIN}/run": "raw"}
    workflow = {"apiVersion": API_VERSION, "kind": "Workflow",
                "metadata": {"generateName": f"{name[:50].rstrip('-')}-", **meta,
                             "labels": run_labels},
                "spec": body}
    from .cron import cron_workflow  # these two build on labels() and annotations() above
    from .events import trigger_objects

    triggers = trigger_objects(plan, name, config)
    from .semaphore import configmap_entry

    return Manifests(workflow_template, workflow, graph,
                     cron_workflow(plan, name, config, config.timezone), tuple(triggers),
                     configmap_entry(plan, config, f"{name}.semaphore.yaml"))
