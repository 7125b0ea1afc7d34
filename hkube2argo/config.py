"""Cluster-facing defaults: the one place the compiler and the Helm chart agree on names.

The chart (``charts/hkube2argo/values.yaml``) carries the same values; a test fails when
they drift. Everything a cluster may name differently is a field here and a compile
option, so nothing cluster-specific is hard-coded in the emitters.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

LABEL_DOMAIN = "hkube2argo.io"
PIPELINE_LABEL = f"{LABEL_DOMAIN}/pipeline"  # on every compiled run; the EventSource selects it
DEFAULT_STATE = Path(".hkube2argo")  # local records: jobs, storage, stored pipelines
# Argo's pod GC strategies (spec.podGC.strategy), "Never" for none: the CLI offers them
POD_GC = ("OnPodSuccess", "OnPodCompletion", "OnWorkflowSuccess", "OnWorkflowCompletion",
          "Never")


@dataclass(frozen=True)
class ClusterConfig:
    namespace: str | None = None  # None: the namespace the manifest is submitted to
    bucket: str = "hkube2argo"
    key_prefix: str = "hkube2argo"  # every object key starts with it
    artifact_repository_configmap: str = "artifact-repositories"
    artifact_repository_key: str = "hkube2argo"
    workflow_service_account: str = "hkube2argo-workflow"
    sensor_service_account: str = "hkube2argo-sensor"
    event_source_service_account: str = "hkube2argo-events"
    build_service_account: str = "hkube2argo-builder"
    semaphore_configmap: str = "hkube2argo-semaphores"
    # runs the Workflow that sets a pipeline's key in it (backends/argo.py ensure_semaphore)
    semaphore_service_account: str = "hkube2argo-semaphores"
    event_bus: str = "default"
    # The shared EventSource (installed by the chart) that watches pipeline runs; Sensors
    # of triggered pipelines subscribe to its event.
    event_source: str = "hkube2argo-workflows"
    event_source_event: str = "workflow-updates"
    registry_secret: str = "hkube2argo-registry"  # docker config for algorithm builds
    # The daemonless builder of `algorithm apply --build` (emit/build.py); pinned. Google
    # archived kaniko in 2025: v1.23.2 is its last release (forks publish the same flags).
    kaniko_image: str = "gcr.io/kaniko-project/executor:v1.23.2"
    minio_secret: str = "hkube2argo-minio"
    minio_access_key_key: str = "accesskey"
    minio_secret_key_key: str = "secretkey"
    python_image: str = "ghcr.io/hkube2argo/runtime-python:0.1.0"
    nodejs_image: str = "ghcr.io/hkube2argo/runtime-nodejs:0.1.0"
    image_pull_policy: str = "IfNotPresent"
    limit_factor: float = 2.0  # limits = factor x requests, as HKube (0: no limits)
    priority_class_prefix: str = "hkube2argo-priority-"  # + 1..5; "" to not set one
    timezone: str = "UTC"  # IANA name the CronWorkflows' schedules are read in (not a chart value)
    # Argo's podGC strategy (emit/workflow.py cleanup): delete each pod once it succeeded;
    # failed pods stay for their logs. "Never": keep every pod (logs read from pods).
    pod_gc: str = "OnPodSuccess"
    # ttlStrategy.secondsAfterCompletion: Argo deletes a finished run this long after it
    # ended (exec status/result read the Workflow until then); 0: never.
    workflow_ttl: int = 7 * 24 * 3600
    # A node's ttl is enforced by the wrapper; its template's activeDeadlineSeconds is
    # ttl + this, a backstop for an algorithm that stops even the wrapper (not a chart value)
    ttl_grace: int = 60
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        factor = self.limit_factor
        if not isinstance(factor, int | float) or not 0 <= factor < float("inf"):
            raise ValueError(f"limit factor must be a finite number >= 0 (0: no limits), "
                             f"not {factor!r}")

    def with_overrides(self, **changes: Any) -> ClusterConfig:
        """A copy with the given fields changed; None values mean "keep the default"."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def runtime_image(self, env: str | None) -> str:
        return self.nodejs_image if env == "nodejs" else self.python_image


DEFAULT = ClusterConfig()

# The chart's values.yaml paths that must equal these fields (checked by a test).
CHART_VALUES: dict[str, str] = {
    "bucket": "minio.bucket",
    "key_prefix": "artifactRepository.keyPrefix",
    "artifact_repository_configmap": "artifactRepository.configMap",
    "artifact_repository_key": "artifactRepository.key",
    "workflow_service_account": "serviceAccounts.workflow.name",
    "sensor_service_account": "serviceAccounts.sensor.name",
    "event_source_service_account": "serviceAccounts.eventSource.name",
    "build_service_account": "serviceAccounts.build.name",
    "semaphore_configmap": "concurrency.configMap",
    "semaphore_service_account": "serviceAccounts.semaphores.name",
    "event_bus": "events.eventBus",
    "event_source": "events.eventSource.name",
    "event_source_event": "events.eventSource.eventName",
    "registry_secret": "registry.secretName",
    "minio_secret": "minio.secret.name",
    "minio_access_key_key": "minio.secret.accessKeyKey",
    "minio_secret_key_key": "minio.secret.secretKeyKey",
    "python_image": "runtime.images.python",
    "nodejs_image": "runtime.images.nodejs",
    "image_pull_policy": "runtime.imagePullPolicy",
    "priority_class_prefix": "priorityClasses.prefix",
}
