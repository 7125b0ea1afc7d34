"""The HKube pipeline descriptor (REST ``/store/pipelines`` and hkubectl file share it).

Field for field as HKube's swagger schema (hkube-reference section 1), with its
defaults. Pipelines, nodes and options are open objects: unknown keys are kept, as
HKube keeps them, and reach the algorithm. ``webhooks``, ``triggers`` and
``options.concurrentPipelines`` are closed, as in HKube.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from .base import HKubeModel, OpenHKubeModel
from .fields import AlgorithmName, ExperimentName, PipelineName, Tag, Url

NodeKind = Literal[
    "algorithm", "pipeline", "debug", "dataSource", "gateway", "output", "hyperparamsTuner"
]
RetryPolicy = Literal["Never", "Always", "OnError", "OnCrash"]
VerbosityLevel = Literal["trace", "debug", "info", "warn", "error", "critical"]


class Retry(HKubeModel):
    """``retry``: OnCrash retries pod crashes only, OnError algorithm errors only."""

    policy: RetryPolicy = "OnCrash"
    limit: int = Field(3, ge=1)


class Node(OpenHKubeModel):
    """One node of the pipeline DAG."""

    quiet_keys: ClassVar[frozenset[str]] = frozenset({"status", "parentNodeName"})

    node_name: str = Field(min_length=1)
    algorithm_name: AlgorithmName | None = None
    input: list[Any] = Field(default_factory=list,
                             description="Inputs; string leaves may be references "
                                         "(@, #@, *@, #[...]).")
    kind: NodeKind = "algorithm"
    spec: dict[str, Any] | None = None
    ttl: int | None = Field(None, ge=0, description="Seconds; 0 or absent = no limit.")
    retry: Retry | None = None
    batch_operation: Literal["indexed", "cartesian"] | None = None
    metrics: dict[str, Any] | None = None
    min_stateless_count: int = Field(0, ge=0)
    max_stateless_count: int | None = Field(None, ge=0)
    include_in_result: bool | None = Field(
        None, description="Swagger's spelling, ignored by HKube; hkube2argo honours it like "
                          "includeInResults.")
    include_in_results: bool | None = Field(
        None, description="Put this node's result in the pipeline result even if it has "
                          "children (the spelling HKube reads).")
    extra_data: Any = Field(None, description="Passed to the algorithm as args.info.extraData.")
    state_type: Literal["stateless", "stateful"] | None = None
    orig_name: str | None = None


class ConcurrentPipelines(HKubeModel):
    amount: int = Field(ge=1, le=10000)
    reject_on_failure: bool = True


class Options(OpenHKubeModel):
    """``options``; HKube fills ttl, batchTolerance and progressVerbosityLevel."""

    quiet_keys: ClassVar[frozenset[str]] = frozenset({"devMode", "devFolder"})

    ttl: int = Field(3600, ge=0, description="Pipeline lifetime in seconds; 0 disables.")
    active_ttl: int | None = Field(None, ge=1)
    batch_tolerance: int = Field(80, ge=0, le=100)
    concurrent_pipelines: ConcurrentPipelines | None = None
    progress_verbosity_level: VerbosityLevel = "info"
    debug_override: list[str] | None = None

    @field_validator("concurrent_pipelines", mode="before")
    @classmethod
    def _number_is_old_docs(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(
                f"must be an object such as {{amount: {value}, rejectOnFailure: true}}; "
                "a bare number (as in old HKube docs) is rejected by HKube too")
        return value

    @field_validator("debug_override")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("node names must be unique")
        return value


class Webhooks(HKubeModel):
    progress: Url | None = None
    result: Url | None = None


class CronTrigger(HKubeModel):
    pattern: str = Field(min_length=1, description="npm cron 1.8.2 pattern (optional seconds "
                                                   "field, months 0-11).")
    enabled: bool = False


class Triggers(HKubeModel):
    cron: CronTrigger | None = None
    pipelines: list[str] | None = None

    @field_validator("pipelines")
    @classmethod
    def _names(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        if any(not name for name in value):
            raise ValueError("pipeline names must not be empty")
        if len(set(value)) != len(value):
            raise ValueError("pipeline names must be unique")
        return value


class Edge(OpenHKubeModel):
    """A user edge: an ordering-only dependency (target waits for source, no data)."""

    source: str = Field(min_length=1)
    target: str = Field(min_length=1)


class Pipeline(OpenHKubeModel):
    """An HKube pipeline descriptor."""

    # Keys HKube's server adds on store/exec; accepted and ignored.
    quiet_keys: ClassVar[frozenset[str]] = frozenset({
        "modified", "auditTrail", "flowInputMetadata", "startTime", "types", "lastRunResult",
        "maxExceeded", "activeTime", "queueTimeSeconds", "jobId", "created", "readme",
    })

    name: PipelineName
    kind: Literal["batch", "stream"] = "batch"
    experiment_name: ExperimentName = "main"
    description: str | None = None
    nodes: list[Node] = Field(min_length=1)
    flow_input: dict[str, Any] | None = None
    webhooks: Webhooks | None = None
    options: Options = Field(default_factory=Options)
    priority: int = Field(3, ge=1, le=5, description="1 is the most urgent (as HKube's queue).")
    triggers: Triggers | None = None
    tags: list[Tag] | None = None
    root_job_id: str | None = None
    streaming: dict[str, Any] | None = None
    edges: list[Edge] | None = None
    version: str | None = None
