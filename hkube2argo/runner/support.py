"""The manifest features the local runner implements; anything else is refused by name
before the run starts (so a local success never hides an Argo feature we skipped)."""

from __future__ import annotations

from typing import Any

from .executor import daemon_command
from .tags import Unsupported, check_retry_expression

SPEC = {"entrypoint", "arguments", "serviceAccountName", "artifactRepositoryRef",
        "activeDeadlineSeconds", "priority", "podPriorityClassName", "podMetadata",
        "synchronization", "templates", "workflowMetadata", "hooks", "podGC", "ttlStrategy"}
# Argo v4.0.5 pkg/apis/workflow/v1alpha1/workflow_types.go: PodGCStrategy values and TTLStrategy
POD_GC = {"", "OnPodCompletion", "OnPodSuccess", "OnWorkflowCompletion", "OnWorkflowSuccess"}
TTL = {"secondsAfterCompletion", "secondsAfterSuccess", "secondsAfterFailure"}
HOOKS = {"exit": None, "running": 'workflow.status == "Running"'}
TEMPLATE = {"name", "inputs", "outputs", "container", "dag", "retryStrategy",
            "activeDeadlineSeconds", "metadata", "nodeSelector", "podSpecPatch", "daemon"}
CONTAINER_ONLY = {"daemon"}  # Argo daemons a pod; a DAG is no pod
TASK = {"name", "template", "arguments", "dependencies", "withSequence", "continueOn", "when"}
CONTAINER = {"image", "imagePullPolicy", "command", "args", "env", "resources"}
RETRY = {"limit", "retryPolicy", "expression"}


def _unknown(where: str, given: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(given) - allowed)
    if extra:
        raise Unsupported(f"{where}: {', '.join(extra)} (not implemented by the local runner)")


def check(workflow: dict[str, Any]) -> None:
    spec = workflow["spec"]
    _unknown("spec", spec, SPEC)
    gc = spec.get("podGC") or {}
    _unknown("spec podGC", gc, {"strategy"})
    if gc.get("strategy", "") not in POD_GC:
        raise Unsupported(f"podGC strategy {gc.get('strategy')!r} (Argo knows "
                          f"{', '.join(sorted(POD_GC - {''}))})")
    ttl = spec.get("ttlStrategy") or {}
    _unknown("spec ttlStrategy", ttl, TTL)
    for key, value in ttl.items():
        if not isinstance(value, int) or value < 0:
            raise Unsupported(f"ttlStrategy.{key} {value!r}: a whole number of seconds")
    for name, hook in (spec.get("hooks") or {}).items():
        if hook.get("expression") != HOOKS.get(name, HOOKS["running"]):
            raise Unsupported(f"lifecycle hook {name!r} ({hook.get('expression')!r})")
        template = next((t for t in spec["templates"] if t["name"] == hook.get("template")), {})
        if name != "exit" and "container" in template:  # runs beside the pool, as a daemon
            try:
                daemon_command(template["container"])
            except Unsupported as exc:
                raise Unsupported(f"lifecycle hook {name!r}: {exc}") from None
    for template in spec["templates"]:
        where = f"template {template['name']}"
        _unknown(where, template, TEMPLATE if "container" in template
                 else TEMPLATE - CONTAINER_ONLY)
        if template.get("daemon"):
            try:
                daemon_command(template["container"])
            except Unsupported as exc:
                raise Unsupported(f"{where}: {exc}") from None
        if "container" in template:
            _unknown(f"{where} container", template["container"], CONTAINER)
            for var in template["container"].get("env", []):
                if "valueFrom" in var:
                    raise Unsupported(f"{where}: env {var['name']} from a Kubernetes source "
                                      "(valueFrom) exists only in a cluster")
        if "retryStrategy" in template:
            _unknown(f"{where} retryStrategy", template["retryStrategy"], RETRY)
            check_retry_expression(template["retryStrategy"].get("expression"))
        for task in (template.get("dag") or {}).get("tasks", []):
            _unknown(f"{where} task {task['name']}", task, TASK)
            if "withSequence" in task:
                _unknown(f"{where} task {task['name']} withSequence", task["withSequence"],
                         {"count", "start"})
