"""``options.concurrentPipelines``: the pipeline's key in the semaphore ConfigMap.

The compiled runs name ``configMapKeyRef: {name: hkube2argo-semaphores, key: <pipeline>}``
(``emit/workflow.py``). Argo reads the limit from that key when a run first asks for the
lock; a missing key (or a ConfigMap without it, or a value that is not a positive whole
number) fails the run at once, before any step: ``workflow/controller/controller.go``
createSynchronizationManager (``Sync configuration key '<key>' not found in ConfigMap``),
``workflow/sync/semaphore.go`` newInternalSemaphore (``failed to initialize semaphore
<ns>/ConfigMap/<name>/<key> with limit``), ``workflow/controller/operator.go`` operate
(``Failed to acquire the synchronization lock. <that error>``, phase Failed).

So the key must exist before a run is created:

- ``compile`` writes it as a ConfigMap document (``<name>.semaphore.yaml``) holding only
  that key, for ``kubectl apply --server-side --field-manager=hkube2argo-<name>``: each
  pipeline's field manager owns its own key, and other keys are left alone. (Client-side
  ``kubectl apply`` of two pipelines' documents in turn would delete the first key: its
  last-applied annotation is per object, not per key.)
- ``pipeline store`` and ``exec raw`` on the Argo backend submit :func:`patch_workflow`, an
  Argo resource template that merge-patches the key, and wait for it. The Argo Server has no
  ConfigMap API and the CLI never reads kubeconfig, so the cluster does it with the chart's
  ``hkube2argo-semaphores`` service account, whose Role allows get/patch on that one
  ConfigMap only.
"""

from __future__ import annotations

from typing import Any

from .. import naming
from ..config import LABEL_DOMAIN, ClusterConfig
from ..plan import Plan
from .workflow import API_VERSION

SEMAPHORE_LABEL = f"{LABEL_DOMAIN}/semaphore"  # on the patch Workflows: the key they set
APPLY_ANNOTATION = f"{LABEL_DOMAIN}/apply-with"


def key(plan: Plan) -> str:
    """The ConfigMap key a pipeline's runs name (its label value: a valid key)."""
    return naming.label_value(plan.name)


def limit(plan: Plan) -> str | None:
    """The value Argo parses with strconv.Atoi, or None without concurrentPipelines."""
    return str(plan.options.concurrency) if plan.options.concurrency else None


def configmap_entry(plan: Plan, config: ClusterConfig,
                    file_name: str | None = None) -> dict[str, Any] | None:
    """The semaphore ConfigMap with only this pipeline's key, or None."""
    value = limit(plan)
    if value is None:
        return None
    manager = f"hkube2argo-{naming.dns_name(plan.name, limit=50)}"
    meta: dict[str, Any] = {
        "name": config.semaphore_configmap,
        "annotations": {APPLY_ANNOTATION: (
            f"kubectl apply --server-side --field-manager={manager} -f "
            f"{file_name or '<this file>'} (one key per pipeline: other keys stay)")}}
    if config.namespace:
        meta["namespace"] = config.namespace
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
            "data": {key(plan): value}}


def patch_workflow(plan: Plan, config: ClusterConfig, namespace: str) -> dict[str, Any]:
    """A one-step Workflow that merge-patches the key into the ConfigMap (Argo's executor
    runs ``kubectl patch --type merge --patch-file M -f M``, ``workflow/executor/
    resource.go`` getKubectlArguments). Kept one hour, pods deleted on success."""
    value = limit(plan)
    assert value is not None
    manifest = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": config.semaphore_configmap, "namespace": namespace},
                "data": {key(plan): value}}
    from ..serialize import dump

    return {
        "apiVersion": API_VERSION,
        "kind": "Workflow",
        "metadata": {"generateName": "hkube2argo-semaphore-", "namespace": namespace,
                     "labels": {SEMAPHORE_LABEL: key(plan)}},
        "spec": {
            "entrypoint": "patch",
            "serviceAccountName": config.semaphore_service_account,
            "podGC": {"strategy": "OnPodSuccess"},
            "ttlStrategy": {"secondsAfterCompletion": 3600},
            "templates": [{"name": "patch", "resource": {
                "action": "patch", "mergeStrategy": "merge", "manifest": dump(manifest)}}],
        },
    }
