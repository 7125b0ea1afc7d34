"""Reading an Argo Workflow object as HKube's job status: the phase as HKube's status,
task counts and progress, the failing node. Pure functions of the Workflow JSON.

Standard library only: the ``exec status`` command (through the Argo Server) and the
in-cluster progress reporter (through the Kubernetes API, ``progress.py``) share it.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from typing import Any

# Argo's workflow phase -> HKube's job status (hkube-reference 4.5)
PHASE_TO_STATUS = {
    "": "pending",
    "Pending": "pending",
    "Running": "active",
    "Succeeded": "completed",
    "Failed": "failed",
    "Error": "failed",
}
STOPPED = "stopped"  # a Failed/Error workflow that was stopped on request
MARK = "--"  # our own steps' suffix (naming.RESERVED_MARK): Multiply--collect
TASKS_ANNOTATION = "hkube2argo.io/tasks"  # task key -> HKube node name, set on submit
# Our own steps' templates: their pods are not HKube tasks
HELPER_TEMPLATES = {"prepare", "results", "zip", "collect", "max", "webhooks", "progress"}


def status_object(job_id: str, pipeline: str, status: str, *, succeeded: int = 0,
                  failed: int = 0, active: int = 0, skipped: int = 0, total: int = 0,
                  error: str | None = None, node: str | None = None,
                  timestamp: int | None = None, took: float | None = None,
                  level: str | None = None) -> dict[str, Any]:
    """HKube's ``GET /exec/status/{jobId}`` object. Progress = finished / all tasks, two
    decimals; details as HKube words them ("40% completed, 2 succeed, 3 active")."""
    finished = succeeded + failed + skipped
    progress = round(100 * finished / total, 2) if total else (100.0 if status == "completed"
                                                              else 0.0)
    # the tasks not started yet: waiting while the job runs, never to run once it stopped
    rest = max(total - finished - active, 0)
    pending = rest if status == "active" else 0
    stopped = rest + active if status == STOPPED else 0
    if status == STOPPED:
        active = 0
    states = {k: v for k, v in (("succeed", succeeded), ("failed", failed),
                                ("active", active), ("pending", pending),
                                ("skipped", skipped), ("stopped", stopped)) if v}
    details = f"{progress:g}% completed" + "".join(f", {v} {k}" for k, v in states.items())
    body: dict[str, Any] = {"jobId": job_id, "pipeline": pipeline, "status": status,
                            "level": level or ("error" if status == "failed" else "info"),
                            "data": {"progress": progress, "states": states,
                                     "details": details}}
    if timestamp is not None:
        body["timestamp"] = timestamp
    if error:
        body["error"] = error
    if node:
        body["nodeName"] = node
    if took is not None:
        body["netTimeTook"] = took
    return body


def all_nodes(workflow: dict[str, Any]) -> dict[str, Any]:
    """``status.nodes``; from the Kubernetes API a large Workflow has them gzipped in
    ``status.compressedNodes`` instead (the Argo Server always hydrates them)."""
    status_ = workflow.get("status") or {}
    if status_.get("nodes"):
        return status_["nodes"]
    packed = status_.get("compressedNodes")
    if packed:
        try:
            return json.loads(gzip.decompress(base64.b64decode(packed)).decode("utf-8"))
        except (ValueError, OSError):
            return {}  # zstd/brotli (Argo v4.1 options) or offloaded: nothing to count
    return {}


def state(workflow: dict[str, Any]) -> str:
    """HKube's status: the phase mapped; a failed run that was stopped is ``stopped``."""
    phase = (workflow.get("status") or {}).get("phase") or ""
    mapped = PHASE_TO_STATUS.get(phase, "pending")
    shutdown = (workflow.get("spec") or {}).get("shutdown")
    if mapped == "failed" and shutdown in ("Stop", "Terminate"):
        return STOPPED
    return mapped


def tasks_map(workflow: dict[str, Any]) -> dict[str, str] | None:
    text = ((workflow.get("metadata") or {}).get("annotations") or {}).get(TASKS_ANNOTATION)
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def task_key(node: dict[str, Any]) -> str:
    for parameter in (node.get("inputs") or {}).get("parameters") or []:
        if parameter.get("name") == "task" and parameter.get("value"):
            return str(parameter["value"])
    return str(node.get("displayName") or "").split("(", 1)[0]


def hkube_name(key: str, tasks: dict[str, str] | None) -> str:
    base = key.split(MARK, 1)[0]  # Multiply--collect -> Multiply
    return (tasks or {}).get(base, base)


def attempts(nodes: dict[str, Any]) -> tuple[set[str], dict[str, dict[str, Any]]]:
    """Pods superseded by a later retry, and each pod's Retry parent."""
    superseded: set[str] = set()
    parent: dict[str, dict[str, Any]] = {}
    for node in nodes.values():
        if node.get("type") == "Retry":
            children = node.get("children") or []
            superseded.update(children[:-1])
            for child in children:
                parent[child] = node
    return superseded, parent


def task_nodes(workflow: dict[str, Any], tasks: dict[str, str] | None) -> list[dict[str, Any]]:
    """One node per HKube task run: algorithm pods (last retry attempt) and skipped ones."""
    nodes = all_nodes(workflow)
    superseded, _ = attempts(nodes)
    out = []
    for node_id, node in nodes.items():
        if node.get("type") not in ("Pod", "Skipped") or node_id in superseded:
            continue
        if tasks is not None:
            if task_key(node) not in tasks:
                continue
        elif node.get("templateName") in HELPER_TEMPLATES:
            continue
        out.append(node)
    return out


def count(workflow: dict[str, Any], tasks: dict[str, str] | None = None) -> dict[str, int]:
    counts = {"succeeded": 0, "failed": 0, "active": 0, "skipped": 0}
    seen = set()
    tasks = tasks_map(workflow) if tasks is None else tasks
    for node in task_nodes(workflow, tasks):
        seen.add(task_key(node))
        phase = node.get("phase") or "Pending"
        if node.get("type") == "Skipped" or phase in ("Skipped", "Omitted"):
            counts["skipped"] += 1
        elif phase == "Succeeded":
            counts["succeeded"] += 1
        elif phase in ("Failed", "Error"):
            counts["failed"] += 1
        else:
            counts["active"] += 1
    unseen = len(set(tasks or {}) - seen)  # not started: one task each
    return {**counts, "total": sum(counts.values()) + unseen}


def failure(workflow: dict[str, Any],
            tasks: dict[str, str] | None = None) -> tuple[str | None, str]:
    """The failing HKube node and its error: the first failed pod to end, a plain task's
    before a batch item's (items are tolerated; their collect step fails the run)."""
    status_ = workflow.get("status") or {}
    nodes = all_nodes(workflow)
    tasks = tasks_map(workflow) if tasks is None else tasks
    superseded, parent = attempts(nodes)
    failed = [(i, n) for i, n in nodes.items()
              if n.get("type") == "Pod" and n.get("phase") in ("Failed", "Error")
              and i not in superseded]

    def display(node_id: str, node: dict[str, Any]) -> str:
        return str((parent.get(node_id) or node).get("displayName") or "")

    plain = [(i, n) for i, n in failed if "(" not in display(i, n)]
    causes = sorted(plain or failed, key=lambda p: str(p[1].get("finishedAt") or ""))
    message = status_.get("message") or "the pipeline failed"
    if not causes:
        return None, message
    node = causes[0][1]
    return said_by(node.get("message") or message, hkube_name(task_key(node), tasks),
                   set((tasks or {}).values()))


def said_by(message: str, node: str, known: set[str]) -> tuple[str, str]:
    """A failed node's message: the wrapper's termination message when it left one, as
    Argo words it ("main: Error (exit code 3): <node> failed: <error>"), else Argo's own."""
    return blamed(_EXIT_PREFIX.sub("", message, count=1), node, known) or (node, message)


# Argo v4 (operator.go inferFailedReason): "main: Error (exit code 3): <message>"; older
# releases leave out the container's name
_EXIT_PREFIX = re.compile(r"^(?:[A-Za-z0-9][-A-Za-z0-9_.]*: )?[A-Za-z]+ \(exit code -?\d+\): ")


def blamed(said: str, node: str, known: set[str]) -> tuple[str, str] | None:
    """``<node> failed: <error>``, as the wrapper says it (log line, termination message):
    the node it blames (a reader judging a batch's tolerance blames the batch node) and
    the error; None when ``said`` is not in that form. Matched against the known node
    names, since a name may itself contain " failed: "."""
    names = sorted((n for n in known | {node} if said.startswith(f"{n} failed: ")),
                   key=len, reverse=True)
    if not names:
        return None
    return names[0], said[len(names[0]) + len(" failed: "):]


def task_of_path(path: str) -> str:
    """The DAG task of a local runner's node path: ``pipeline/part-1/Multiply(3)`` ->
    ``Multiply``."""
    return path.rsplit("/", 1)[-1].split("(", 1)[0]


_TASK_OUTPUT = re.compile(r"^\{\{tasks\.([^.]+)\.outputs\.parameters\.([^}]+)\}\}$")


def _resolved(value: Any, outputs: dict[str, dict[str, str]]) -> str | None:
    text = str(value)
    match = _TASK_OUTPUT.match(text)
    if match:
        return outputs.get(match.group(1), {}).get(match.group(2))
    return None if "{{" in text else text


def instances(task: dict[str, Any], outputs: dict[str, dict[str, str]]) -> int | None:
    """How many containers a DAG task of the manifest runs: 1, its loop's size, or None
    while the size is not known yet (the task whose output parameter gives it has not
    finished). ``outputs``: task name -> its output parameters."""
    if "withSequence" in task:
        seq = task["withSequence"]
        if "count" in seq:
            count = _resolved(seq["count"], outputs)
            return int(count) if count is not None and count.isdigit() else None
        start, end = _resolved(seq.get("start", 0), outputs), _resolved(seq.get("end"), outputs)
        if start is None or end is None:
            return None
        try:
            return max(0, int(end) - int(start) + 1)
        except ValueError:
            return None
    if "withItems" in task:
        return len(task["withItems"] or [])
    if "withParam" in task:
        items = _resolved(task["withParam"], outputs)
        try:
            return len(json.loads(items)) if items is not None else None
        except (ValueError, TypeError):
            return None
    return 1


def planned(workflow: dict[str, Any], outputs: dict[str, dict[str, str]],
            tasks: set[str]) -> dict[str, int | None]:
    """Containers each of ``tasks`` (DAG task names) runs, as far as known: summed over the
    templates (parts) a task name appears in."""
    out: dict[str, int | None] = {}
    for template in (workflow.get("spec") or {}).get("templates", []):
        for task in (template.get("dag") or {}).get("tasks", []):
            name = task.get("name")
            if name in tasks:
                count = instances(task, outputs)
                before = out.get(name, 0)
                out[name] = None if count is None or before is None else before + count
    return out

