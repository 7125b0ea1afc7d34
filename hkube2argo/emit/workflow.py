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

from hera.workflows import models as m

from .. import jobgraph, naming
from ..config import LABEL_DOMAIN, PIPELINE_LABEL, ClusterConfig
from ..plan import Plan, thaw
from ..runtime.values import encode_raw
from .artifacts import NO_PARENT, PARENT_PARAMETER
from .dag import ENTRY, entry_template
from .templates import LEVELS, WEBHOOKS, TemplateSet

API_VERSION = "argoproj.io/v1alpha1"


@dataclass(frozen=True)
class Manifests:
    workflow_template: dict[str, Any]
    workflow: dict[str, Any]
    graph: jobgraph.JobGraph
    cron_workflow: dict[str, Any] | None = None  # triggers.cron (emit/cron.py)
    trigger_objects: tuple[dict[str, Any], ...] = ()  # triggers.pipelines (emit/events.py)

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
    a "running" hook when the progress webhook wants info-level events."""
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
    return out


def deadline(plan: Plan) -> int | None:
    """HKube's ttl (from submission) and activeTtl (from start): Argo has one clock, from
    the workflow's start, so the stricter of the two applies."""
    limits = [t for t in (plan.options.ttl, plan.options.active_ttl) if t]
    return min(limits) if limits else None


def spec(plan: Plan, graph: jobgraph.JobGraph, config: ClusterConfig,
         code_keys: dict[str, str]) -> m.WorkflowSpec:
    templates = TemplateSet(plan, graph, config, code_keys)
    step_templates = templates.build()
    dag_templates = entry_template(graph, templates)
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
        priority=6 - plan.priority,  # HKube: 1 is the most urgent; Argo: higher runs first
        pod_priority_class_name=(f"{config.priority_class_prefix}{plan.priority}"
                                 if config.priority_class_prefix else None),
        pod_metadata=m.Metadata(labels={PIPELINE_LABEL: naming.label_value(plan.name)}),
        synchronization=sync,
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

    # Without a namespace the EventSource cannot name the one it watches: compile_file
    # refuses such a pipeline; other callers (the local runner) get no trigger objects.
    triggers = trigger_objects(plan, name, config) if config.namespace else []
    return Manifests(workflow_template, workflow, graph,
                     cron_workflow(plan, name, config, config.timezone), tuple(triggers))
