"""HKube's task counts (succeeded, failed, active, skipped, total) of a job run on this
machine, read from its job folder: the compiled manifest, the runner's journal and the
container events the runner process records.

``exec status`` of the embedded backend shows them; ``runtime/jobstatus.py`` is the same
reading for a Workflow on Argo.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import yaml

from ..naming import RESERVED_MARK
from ..runner.journal import Journal
from ..runtime import jobstatus
from .records import EVENTS, TERMINAL, read_json


def counts(folder: Path, status: str) -> dict[str, int]:
    """HKube's task states of a job, from its manifest, journal and events: algorithm
    containers only (not the prepare, collect and results steps)."""
    job = read_json(folder / "job.json") or {}
    algorithm_tasks = {t for t in (job.get("nodes") or {}) if RESERVED_MARK not in t}
    journal = Journal(folder / "journal.jsonl")
    done = {p for p in journal.done if jobstatus.task_of_path(p) in algorithm_tasks}
    outputs = journal.task_outputs()
    started: set[str] = set()
    ended: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in (folder / EVENTS).read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError, KeyError):
                event = json.loads(line)
                if jobstatus.task_of_path(event["node"]) not in algorithm_tasks:
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
            count = jobstatus.instances(task, outputs)
            if count == 0:
                skipped += 1  # an empty batch: HKube shows the node as skipped
            total += 1 if count in (None, 0) else count
    succeeded = len(done)
    total = max(total, succeeded + failed + active + skipped)
    if status == "completed":
        total = succeeded + failed + skipped
    return {"succeeded": succeeded, "failed": failed, "active": active, "skipped": skipped,
            "total": total}
