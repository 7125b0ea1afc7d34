"""``triggers.cron`` as a CronWorkflow that runs the pipeline's WorkflowTemplate.

The CronWorkflow holds no copy of the pipeline: its ``workflowSpec`` is only a
``workflowTemplateRef``, so a stored pipeline has one definition however it is started.
HKube fires only when ``enabled`` is true (false by default): a disabled trigger is a
suspended CronWorkflow, which ``argo cron resume`` switches on as ``/cron/start`` does.

``options.concurrentPipelines`` (HKube counts the running jobs of the pipeline and
rejects, or with ``rejectOnFailure: false`` queues, a run beyond ``amount``) maps to
Argo's ``concurrencyPolicy`` only where Argo's policy means the same thing:

- amount 1, rejectOnFailure true: ``Forbid`` (a tick while the previous cron run is still
  running is skipped, as HKube rejects it);
- anything else: ``Allow``. The WorkflowTemplate's semaphore (``synchronization``) holds
  the runs beyond ``amount`` until a slot frees, which is HKube's queueing; Argo has no
  policy that skips only beyond N > 1 runs, so with rejectOnFailure true such runs wait
  instead of being rejected.

``Forbid`` sees only this CronWorkflow's own runs; runs started by hand or by triggers
count through the semaphore alone.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

from .. import naming
from ..config import LABEL_DOMAIN, ClusterConfig
from ..cron import to_argo
from ..plan import Plan, thaw
from .templates import EmitError
from .workflow import API_VERSION, annotations, labels, workflow_priority

NAME_MAX = 52  # Argo: child Workflows are <name>-<unix seconds>, within 63 characters
# A missed tick (controller restart, leader change) still runs within this many seconds;
# a longer outage skips it, as HKube's in-process cron library skips ticks it missed.
STARTING_DEADLINE_SECONDS = 60
SUCCESSFUL_HISTORY = 3  # Argo's default
FAILED_HISTORY = 5  # above Argo's default of 1: failed runs are the ones people inspect
PATTERN_ANNOTATION = f"{LABEL_DOMAIN}/cron-pattern"  # HKube's pattern, as written
RUN_LABEL = f"{LABEL_DOMAIN}/run"


def cron_name(workflow_template_name: str) -> str:
    """The template's name when it fits Argo's 52 characters, else shortened with a hash."""
    return naming.dns_name(workflow_template_name, limit=NAME_MAX)


def concurrency_policy(plan: Plan) -> str:
    """HKube's concurrentPipelines as Argo's policy (module docstring: why only this)."""
    if plan.options.concurrency == 1 and plan.options.reject_on_failure:
        return "Forbid"
    return "Allow"


def check_timezone(timezone: str) -> str:
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise EmitError(f"timezone '{timezone}' is not an IANA time zone name such as UTC "
                        "or Europe/Berlin") from None
    return timezone


def cron_workflow(plan: Plan, workflow_template_name: str, config: ClusterConfig,
                  timezone: str = "UTC") -> dict[str, Any] | None:
    """The CronWorkflow for ``triggers.cron``, or None when the pipeline has none."""
    cron = (thaw(plan.triggers) or {}).get("cron")
    if not cron:
        return None
    pattern = cron["pattern"]
    meta: dict[str, Any] = {
        "name": cron_name(workflow_template_name),
        "labels": labels(plan),
        "annotations": {**annotations(plan), PATTERN_ANNOTATION: pattern},
    }
    if config.namespace:
        meta["namespace"] = config.namespace
    spec = {
        "schedules": [to_argo(pattern)],
        "timezone": check_timezone(timezone),
        "suspend": not cron.get("enabled", False),
        "concurrencyPolicy": concurrency_policy(plan),
        "startingDeadlineSeconds": STARTING_DEADLINE_SECONDS,
        "successfulJobsHistoryLimit": SUCCESSFUL_HISTORY,
        "failedJobsHistoryLimit": FAILED_HISTORY,
        "workflowMetadata": {"labels": {**labels(plan), RUN_LABEL: "cron"},
                             "annotations": annotations(plan)},
        # priority on the run itself: Argo's queues read it from the Workflow object
        # (workflow_priority), not from the template it references
        "workflowSpec": {"workflowTemplateRef": {"name": workflow_template_name},
                         "priority": workflow_priority(plan)},
    }
    return {"apiVersion": API_VERSION, "kind": "CronWorkflow", "metadata": meta, "spec": spec}
