"""``triggers.pipelines`` as an Argo Events Sensor on the chart's shared EventSource.

One EventSource serves every pipeline: the chart's ``hkube2argo-workflows`` (event
``workflow-updates``, ``ClusterConfig.event_source`` / ``event_source_event``) runs one
informer on the Workflows labelled ``hkube2argo.io/pipeline`` in its namespace and publishes
their ADD and UPDATE events whose ``status.phase`` is Succeeded (its field filter). One
informer pod for all pipelines instead of one per triggered pipeline; Argo Events lets any
number of Sensors depend on one EventSource event, each with its own filters
(``pkg/sensors/dependencies/filter.go`` filterData runs per dependency).

For pipeline P with ``triggers.pipelines: [A, B]`` the Sensor ``<P>-trigger`` has two
dependencies on that event, both selecting the parents by the run's label
(``body.metadata.labels.hkube2argo\\.io/pipeline`` matches ``^A$`` or ``^B$``) and
``body.status.phase`` Succeeded:

- ``parent-succeeded`` keeps the *transition* of an UPDATE: ``oldBody.status.phase`` is not
  Succeeded. A finished Workflow keeps getting updates (labels, archiving, pod GC) that all
  show Succeeded; without this filter each would start P again. An ADD event has
  ``oldBody: null`` (``pkg/eventsources/sources/resource/start.go`` processOne), so the
  path is missing and filterData rejects it;
- ``parent-listed`` keeps ADD events of parents that finished within ``REPLAY_WINDOW``
  seconds. After an EventSource pod restarts, its informer lists every existing Workflow
  again as ADD (client-go's initial list): a parent that succeeded while the pod was down
  is seen only that way. The window (a data-filter template over ``status.finishedAt``)
  keeps old runs, and children stored long after their parents ran, from starting now.

Each dependency fires its own trigger (``conditions``), an ``argoWorkflow`` submit of a run
of P's WorkflowTemplate with ``parent-job`` = the parent Workflow's name and a
**deterministic name**: ``<P>-<first 10 hex of sha256(parent name)>``. A parent seen twice
(by its UPDATE, then again as an ADD after a restart) gives the same name, and the second
``argo submit`` fails with AlreadyExists: one child run per parent run. The child's prepare
step reads the parent job's results document and merges ``{parent: <its data>}`` into the
flowInput, as HKube does. Failed, errored and stopped runs never reach Succeeded, so they
never trigger, as in HKube.

Limits (docs/triggers.md): a child deleted while its parent still exists is started again by
an ADD replay within the window; a parent that succeeded more than ``REPLAY_WINDOW``
seconds before the EventSource came back is not seen.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from .. import naming
from ..config import LABEL_DOMAIN, PIPELINE_LABEL, ClusterConfig
from ..plan import Plan, thaw
from .artifacts import NO_PARENT, PARENT_PARAMETER
from .workflow import API_VERSION, annotations, labels, workflow_priority

UPDATED = "parent-succeeded"  # the dependency on the UPDATE transition
LISTED = "parent-listed"  # the dependency on ADD events (informer replays)
TRIGGERS = {UPDATED: "submit-run", LISTED: "submit-listed"}
SUCCEEDED = "^Succeeded$"  # Argo Events matches strings as unanchored regular expressions
REPLAY_WINDOW = 3600  # seconds: ADD events of parents that finished longer ago are ignored
HASH_CHARS = 10  # hex digits of sha256(parent Workflow name) in the child's name
PARENTS_ANNOTATION = f"{LABEL_DOMAIN}/parent-pipelines"  # HKube's names, as JSON
NAME_ANNOTATION = f"{LABEL_DOMAIN}/pipeline-name"
RUN_LABEL = f"{LABEL_DOMAIN}/run"
SUBMIT_RETRY = {"steps": 3, "duration": "2s", "factor": 2}  # the argo CLI call, not the run
# gjson path of the pipeline label in the event's body (dots in the key escaped)
LABEL_PATH = "body.metadata.labels." + PIPELINE_LABEL.replace(".", "\\.")
# sprig (Argo Events' data-filter templates): the parent's age in seconds, "recent" or "old".
# toDate ignores parse errors (zero time: very old), unixEpoch gives seconds as a string,
# sub converts both with cast.ToInt64.
RECENT = ("{{ if lt (sub (now | unixEpoch) (toDate \"2006-01-02T15:04:05Z07:00\" .Input"
          " | unixEpoch)) %d }}recent{{ else }}old{{ end }}")


def shared_watch(namespace: str) -> dict[str, Any]:
    """What the chart's shared EventSource watches (``charts/hkube2argo/templates/
    eventsource.yaml``; ``tests/chart`` checks that the chart renders exactly this).

    ADD and UPDATE events (ADD: the informer's list after a restart); the label selector
    ``hkube2argo.io/pipeline`` exists (every compiled run carries it; ``exists`` with an
    empty value needs Argo Events >= 1.9.0); the field filter keeps objects whose
    ``status.phase`` is Succeeded (``resource/start.go`` filterFields: gjson on the object,
    a missing path fails), so a running Workflow's many updates never cross the bus."""
    return {
        "namespace": namespace,
        "group": "argoproj.io",
        "version": "v1alpha1",
        "resource": "workflows",
        "eventTypes": ["ADD", "UPDATE"],
        "filter": {
            "labels": [{"key": PIPELINE_LABEL, "operation": "exists", "value": ""}],
            "fields": [{"key": "status.phase", "operation": "==", "value": SUCCEEDED}],
        },
    }


def parents(plan: Plan) -> list[str]:
    """The parent pipelines' names, as written (HKube keeps them unique)."""
    return list((thaw(plan.triggers) or {}).get("pipelines") or [])


def event_source_name(workflow_template_name: str) -> str:
    """The per-pipeline EventSource older releases emitted: deleted on store and delete."""
    return naming.dns_name(f"{workflow_template_name}-parents")


def sensor_name(workflow_template_name: str) -> str:
    return naming.dns_name(f"{workflow_template_name}-trigger")


def child_prefix(workflow_template_name: str) -> str:
    return workflow_template_name[:50].rstrip("-")


def child_name(workflow_template_name: str, parent_job: str) -> str:
    """The triggered run's name for one parent run (what the Sensor's template computes:
    sprig ``sha256sum`` is the hex digest of the string, ``trunc`` its first characters)."""
    digest = hashlib.sha256(parent_job.encode("utf-8")).hexdigest()[:HASH_CHARS]
    return f"{child_prefix(workflow_template_name)}-{digest}"


def _metadata(name: str, plan: Plan, config: ClusterConfig) -> dict[str, Any]:
    """Labelled like the pipeline's runs, so ``-l hkube2argo.io/pipeline=P`` finds them."""
    names = {key: value for key, value in annotations(plan).items() if key == NAME_ANNOTATION}
    meta: dict[str, Any] = {
        "name": name, "labels": labels(plan),
        "annotations": {**names, PARENTS_ANNOTATION: json.dumps(parents(plan),
                                                                ensure_ascii=False)}}
    if config.namespace:
        meta["namespace"] = config.namespace
    return meta


def submitted_workflow(plan: Plan, workflow_template_name: str) -> dict[str, Any]:
    """What the Sensor submits: a run of the WorkflowTemplate; its name and ``parent-job``
    are filled in from the event (the name here is a placeholder the trigger overwrites)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "Workflow",
        "metadata": {"name": f"{child_prefix(workflow_template_name)}-parent",
                     "labels": {**labels(plan), RUN_LABEL: "trigger"},
                     "annotations": annotations(plan)},
        "spec": {
            "workflowTemplateRef": {"name": workflow_template_name},
            # Argo's queues read priority from the Workflow object (workflow_priority)
            "priority": workflow_priority(plan),
            "arguments": {"parameters": [{"name": PARENT_PARAMETER, "value": NO_PARENT}]},
        },
    }


def _parent_filter(plan: Plan) -> dict[str, Any]:
    values = sorted({naming.label_value(name) for name in parents(plan)})
    return {"path": LABEL_PATH, "type": "string",
            "value": [f"^{re.escape(v)}$" for v in values]}


def dependencies(plan: Plan, config: ClusterConfig) -> list[dict[str, Any]]:
    phase = {"path": "body.status.phase", "type": "string", "value": [SUCCEEDED]}
    common = {"eventSourceName": config.event_source, "eventName": config.event_source_event}
    return [
        {"name": UPDATED, **common, "filters": {"data": [
            _parent_filter(plan), phase,
            {"path": "oldBody.status.phase", "type": "string", "comparator": "!=",
             "value": [SUCCEEDED]}]}},
        {"name": LISTED, **common, "filters": {"data": [
            {"path": "type", "type": "string", "value": ["^ADD$"]},
            _parent_filter(plan), phase,
            {"path": "body.status.finishedAt", "type": "string",
             "template": RECENT % REPLAY_WINDOW, "value": ["^recent$"]}]}},
    ]


def _trigger(plan: Plan, workflow_template_name: str, dependency: str) -> dict[str, Any]:
    name_template = (f"{child_prefix(workflow_template_name)}-"
                     f"{{{{ .Input.body.metadata.name | sha256sum | trunc {HASH_CHARS} }}}}")
    return {
        "template": {
            "name": TRIGGERS[dependency],
            "conditions": dependency,
            "argoWorkflow": {
                "operation": "submit",
                "source": {"resource": submitted_workflow(plan, workflow_template_name)},
                "parameters": [
                    {"src": {"dependencyName": dependency, "dataKey": "body.metadata.name"},
                     "dest": "spec.arguments.parameters.0.value"},
                    {"src": {"dependencyName": dependency, "dataTemplate": name_template},
                     "dest": "metadata.name"},
                ],
            },
        },
        "retryStrategy": dict(SUBMIT_RETRY),
    }


def sensor(plan: Plan, workflow_template_name: str, config: ClusterConfig) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "Sensor",
        "metadata": _metadata(sensor_name(workflow_template_name), plan, config),
        "spec": {
            "eventBusName": config.event_bus,
            "template": {"serviceAccountName": config.sensor_service_account},
            "dependencies": dependencies(plan, config),
            "triggers": [_trigger(plan, workflow_template_name, d) for d in (UPDATED, LISTED)],
        },
    }


def trigger_objects(plan: Plan, workflow_template_name: str,
                    config: ClusterConfig) -> list[dict[str, Any]]:
    """[Sensor] for ``triggers.pipelines``; [] when the pipeline has none."""
    if not parents(plan):
        return []
    return [sensor(plan, workflow_template_name, config)]


def submitted_workflows(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Workflows the Sensors would submit (Argo Events' schema types them only as
    objects, so they are checked against Argo Workflows' schema separately)."""
    return [trigger["template"]["argoWorkflow"]["source"]["resource"]
            for obj in objects if obj.get("kind") == "Sensor"
            for trigger in obj["spec"]["triggers"]]
