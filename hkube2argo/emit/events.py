"""``triggers.pipelines`` as an Argo Events EventSource and Sensor.

For pipeline P with ``triggers.pipelines: [A, B]``:

- the EventSource ``<P>-parents`` runs an informer on Workflows in P's namespace whose
  ``hkube2argo.io/pipeline`` label is one of A, B (every compiled run carries it) and
  publishes their UPDATE events whose new ``status.phase`` is Succeeded. One set-based
  selector (``operation: in``, values comma-separated: Argo Events >= 1.9.0 splits them)
  rather than one event per parent: one watch, one dependency, one trigger;
- the Sensor ``<P>-trigger`` keeps only the *transition*: ``body.status.phase`` is
  Succeeded and ``oldBody.status.phase`` is not. A finished Workflow keeps getting updates
  (labels, archiving, pod GC) that all show Succeeded; without the second filter each of
  them would start P again. Failed, errored and stopped runs never reach Succeeded, so they
  never trigger, as in HKube;
- its ``argoWorkflow`` trigger submits a Workflow that references P's WorkflowTemplate and
  sets the ``parent-job`` argument to the parent Workflow's name (``body.metadata.name``);
  P's prepare step then reads that job's results document and merges
  ``{parent: <its data>}`` into the flowInput, as HKube does. Any one parent succeeding
  triggers P (one dependency covers all parents, so no ``conditions`` are needed).

The EventSource must name the namespace it watches (empty would watch every namespace,
which the chart's namespaced Role does not allow), so the objects are emitted only when
the cluster config has a namespace.
"""

from __future__ import annotations

import json
from typing import Any

from .. import naming
from ..config import LABEL_DOMAIN, PIPELINE_LABEL, ClusterConfig
from ..plan import Plan, thaw
from .artifacts import NO_PARENT, PARENT_PARAMETER
from .templates import EmitError
from .workflow import API_VERSION, annotations, labels

EVENT = "parent-succeeded"  # the EventSource's event and the Sensor's dependency
TRIGGER = "submit-run"
SUCCEEDED = "^Succeeded$"  # Argo Events matches strings as unanchored regular expressions
PARENTS_ANNOTATION = f"{LABEL_DOMAIN}/parent-pipelines"  # HKube's names, as JSON
NAME_ANNOTATION = f"{LABEL_DOMAIN}/pipeline-name"
RUN_LABEL = f"{LABEL_DOMAIN}/run"
SUBMIT_RETRY = {"steps": 3, "duration": "2s", "factor": 2}  # the argo CLI call, not the run


def parents(plan: Plan) -> list[str]:
    """The parent pipelines' names, as written (HKube keeps them unique)."""
    return list((thaw(plan.triggers) or {}).get("pipelines") or [])


def event_source_name(workflow_template_name: str) -> str:
    return naming.dns_name(f"{workflow_template_name}-parents")


def sensor_name(workflow_template_name: str) -> str:
    return naming.dns_name(f"{workflow_template_name}-trigger")


def _metadata(name: str, plan: Plan, config: ClusterConfig) -> dict[str, Any]:
    """Labelled like the pipeline's runs, so ``-l hkube2argo.io/pipeline=P`` finds them."""
    names = {key: value for key, value in annotations(plan).items() if key == NAME_ANNOTATION}
    return {"name": name, "namespace": config.namespace, "labels": labels(plan),
            "annotations": {**names, PARENTS_ANNOTATION: json.dumps(parents(plan),
                                                                    ensure_ascii=False)}}


def event_source(plan: Plan, workflow_template_name: str,
                 config: ClusterConfig) -> dict[str, Any]:
    values = sorted({naming.label_value(name) for name in parents(plan)})
    watch = {
        "namespace": config.namespace,
        "group": "argoproj.io",
        "version": "v1alpha1",
        "resource": "workflows",
        "eventTypes": ["UPDATE"],
        "filter": {
            # Label values cannot hold commas, so the comma-joined list is unambiguous.
            "labels": [{"key": PIPELINE_LABEL, "operation": "in", "value": ",".join(values)}],
            # Only updates that show Succeeded cross the event bus; the Sensor keeps the
            # one where the phase changed (the event source sees only the new object).
            "fields": [{"key": "status.phase", "operation": "==", "value": SUCCEEDED}],
        },
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "EventSource",
        "metadata": _metadata(event_source_name(workflow_template_name), plan, config),
        "spec": {
            "eventBusName": config.event_bus,
            "template": {"serviceAccountName": config.event_source_service_account},
            "resource": {EVENT: watch},
        },
    }


def submitted_workflow(plan: Plan, workflow_template_name: str) -> dict[str, Any]:
    """What the Sensor submits: a run of the WorkflowTemplate; ``parent-job`` is filled in
    from the event."""
    return {
        "apiVersion": API_VERSION,
        "kind": "Workflow",
        "metadata": {"generateName": f"{workflow_template_name[:50].rstrip('-')}-",
                     "labels": {**labels(plan), RUN_LABEL: "trigger"},
                     "annotations": annotations(plan)},
        "spec": {
            "workflowTemplateRef": {"name": workflow_template_name},
            "arguments": {"parameters": [{"name": PARENT_PARAMETER, "value": NO_PARENT}]},
        },
    }


def sensor(plan: Plan, workflow_template_name: str, config: ClusterConfig) -> dict[str, Any]:
    dependency = {
        "name": EVENT,
        "eventSourceName": event_source_name(workflow_template_name),
        "eventName": EVENT,
        "filters": {"data": [
            {"path": "body.status.phase", "type": "string", "value": [SUCCEEDED]},
            {"path": "oldBody.status.phase", "type": "string", "comparator": "!=",
             "value": [SUCCEEDED]},
        ]},
    }
    trigger = {
        "template": {
            "name": TRIGGER,
            "argoWorkflow": {
                "operation": "submit",
                "source": {"resource": submitted_workflow(plan, workflow_template_name)},
                "parameters": [{
                    "src": {"dependencyName": EVENT, "dataKey": "body.metadata.name"},
                    "dest": "spec.arguments.parameters.0.value",
                }],
            },
        },
        "retryStrategy": dict(SUBMIT_RETRY),
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "Sensor",
        "metadata": _metadata(sensor_name(workflow_template_name), plan, config),
        "spec": {
            "eventBusName": config.event_bus,
            "template": {"serviceAccountName": config.sensor_service_account},
            "dependencies": [dependency],
            "triggers": [trigger],
        },
    }


def trigger_objects(plan: Plan, workflow_template_name: str,
                    config: ClusterConfig) -> list[dict[str, Any]]:
    """[EventSource, Sensor] for ``triggers.pipelines``; [] when the pipeline has none.
    Raises EmitError without a namespace (the EventSource must name the one it watches)."""
    if not parents(plan):
        return []
    if not config.namespace:
        raise EmitError("triggers.pipelines: the EventSource must name the namespace it "
                        "watches; compile with --namespace")
    return [event_source(plan, workflow_template_name, config),
            sensor(plan, workflow_template_name, config)]


def submitted_workflows(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Workflows the Sensors would submit (Argo Events' schema types them only as
    objects, so they are checked against Argo Workflows' schema separately)."""
    return [trigger["template"]["argoWorkflow"]["source"]["resource"]
            for obj in objects if obj.get("kind") == "Sensor"
            for trigger in obj["spec"]["triggers"]]
