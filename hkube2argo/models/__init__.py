"""Pydantic models of HKube's descriptors."""

from .algorithm import Algorithm, EnvSource, Mount
from .pipeline import (
    ConcurrentPipelines,
    CronTrigger,
    Edge,
    Node,
    Options,
    Pipeline,
    Retry,
    Triggers,
    Webhooks,
)

__all__ = [
    "Algorithm", "ConcurrentPipelines", "CronTrigger", "Edge", "EnvSource", "Mount", "Node",
    "Options", "Pipeline", "Retry", "Triggers", "Webhooks",
]
