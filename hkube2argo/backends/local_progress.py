"""HKube's task counts (succeeded, failed, active, skipped, total) of a job run on this
machine, read from its job folder: the compiled manifest, the runner's journal and the
container events the runner process records.

``exec status`` of the embedded backend shows them; ``runtime/jobstatus.py`` is the same
reading for a Workflow on Argo.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from ..naming import RESERVED_MARK
from ..runner.journal import Journal
from .records import EVENTS, TERMINAL, read_json

_TASK_OUTPUT = re.compile(r"^\{\{tasks\.([^.]+)\.outputs\.parameters\.([^}]+)\}\}$")


def _task_of(path: str) -> str:
    """``pipeline/part-1/Multiply(3)`` -> ``Multiply``."""
    return path.rsplit("/", 1)[-1].split("(", 1)[0]


def _resolve(value: Any, outputs: dict[str, dict[str, str]]) -> str | None:
    text = str(value)
    match = _TASK_OUTPUT.match(text)
    if match:
        return outputs.get(match.group(1), {}).get(match.group(2))
    return None if "{{" in text else text


def _instances(task: dict[str, Any], outputs: dict[str, dict[str, str]]) -> int | None:
    """How many containers a DAG task of the manifest runs: 1, its loop's size, or None
    while the size is not known yet (the task that computes it has not finished)."""
    if "withSequence" in task:
        seq = task["withSequence"]
        if "count" in seq:
            count = _resolve(seq["count"], outputs)
            return int(count) if count is not None and count.isdigit() else None
        start, end = _resolve(seq.get("start", 0), outputs), _resolve(seq.get("end"), outputs)
        if start is None or end is None:
            return None
        try:
            return max(0, int(end) - int(start) + 1)
        except ValueError:
            return None
    if "withItems" in task:
        return len(task["withItems"] or [])
    if "withParam" in task:
        items = _resolve(task["withParam"], outputs)
        try:
            return len(json.loads(items)) if items is not None else None
        except (json.JSONDecodeError, TypeError):
            return None
    return 1


def counts(folder: Path, status: str) -> dict[str, int]:
    """HKube's task states of a job, from its manifest, journal and events: algorithm
    containers only (not the prepare, collect and results steps)."""
    job = read_json(folder / "job.json") or {}
    algorithm_tasks = {t for t in (job.get("nodes") or {}) if RESERVED_MARK not in t}
    journal = Journal(folder / "journal.jsonl")
    done = {p for p in journal.done if _task_of(p) in algorithm_tasks}
    outputs = {_task_of(p): o for p, o in journal.done.items() if "(" not in p.rsplit("/", 1)[-1]}
    started: set[str] = set()
    ended: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in (folder / EVENTS).read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError, KeyError):
                event = json.loads(line)
                if _task_of(event["node"]) not in algorithm_tasks:
                    continue
                if event["kind"] == "started":
                    started.add(event["node"])
                else:
                    ended[event["node"]] = event.get("phase", "")
    failed = sum(1 for p, phase in ended.items() if phase != "Succeeded" and p not in done)
    active = 0 if status in TERMINAL else len(started - done - set(ended))
    total = skipped = 0
    try:
        workflow = yaml.safe_load((folder / "workflow.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        workflow = {}
    for template in (workflow or {}).get("spec", {}).get("templates", []):
        for task in (template.get("dag") or {}).get("tasks", []):
            if task.get("name") not in algorithm_tasks:
                continue
            count = _instances(task, outputs)
            if count == 0:
                skipped += 1  # an empty batch: HKube shows the node as skipped
            total += 1 if count in (None, 0) else count
    succeeded = len(done)
    total = max(total, succeeded + failed + active + skipped)
    if status == "completed":
        total = succeeded + failed + skipped
    return {"succeeded": succeeded, "failed": failed, "active": active, "skipped": skipped,
            "total": total}
