"""Whether the run was stopped (``exec stop``, ``argo stop``/``terminate``): HKube reports
such a job as ``stopped``, but Argo's ``{{workflow.status}}`` is never "Stopped".

Argo's stop only patches ``spec.shutdown`` (``workflow/util/util.go`` StopWorkflow,
patchShutdownStrategy; the action label it may add needs an SSO identity); the workflow then
ends Failed (or Error) and its exit handler still runs (``workflow/controller/operator.go``
operate: ``Stopped with strategy '<strategy>'``). So the exit handler asks its own
Workflow: ``spec.shutdown`` set means stopped. Read as the progress reporter reads it
(``progress.py``: the Kubernetes API with the pod's token, the chart grants ``get`` on
workflows; ``H2A_WORKFLOW_FILE`` under the local runner). When it cannot be read, the
failed nodes' messages tell: Argo words a pod it stopped "workflow shutdown with
strategy:  Stop" (``exec_control.go`` killDeadline/handleExecutionControlError) or, for a
pod it never started, "workflow shutdown with strategy: Stop" (``workflowpod.go``
createWorkflowPod).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

STRATEGIES = ("Stop", "Terminate")
WORDS = ("workflow shutdown with strategy", "Stopped with strategy")


def own_workflow(env: Mapping[str, str]) -> dict[str, Any] | None:
    from . import progress

    try:
        if env.get("H2A_WORKFLOW_FILE"):
            return progress.from_file(env["H2A_WORKFLOW_FILE"])()
        if env.get("KUBERNETES_SERVICE_HOST") and env.get("H2A_JOB_ID"):
            return progress.from_kubernetes(dict(env))()
    except (OSError, ValueError):
        return None
    return None


def stopped(failures: str, env: Mapping[str, str] = os.environ) -> bool:
    workflow = own_workflow(env)
    if isinstance(workflow, dict):
        return (workflow.get("spec") or {}).get("shutdown") in STRATEGIES
    return any(word in (failures or "") for word in WORDS)
