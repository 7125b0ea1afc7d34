"""HKube's webhooks: ``progress`` gets the job status object, ``result`` the result
document, both by HTTP POST of JSON (hkube-reference section 6).

Run from Argo lifecycle hooks: once when the workflow starts running, and as the exit
handler. Events are filtered by ``progressVerbosityLevel`` as HKube's logger levels do
(an event goes out when the requested level >= the event's). A webhook that cannot be
delivered is retried a few times and logged; it never fails the pipeline.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from . import io, jobstatus, layout, shutdown
from .values import decode_raw

LEVELS = {"trace": 5, "debug": 4, "info": 3, "warn": 2, "error": 1, "critical": 0}
# Argo's workflow.status (and our "Running" hook) -> HKube's job status and event level
STATUS = {"Running": ("active", "info"), "Succeeded": ("completed", "info"),
          "Failed": ("failed", "error"), "Error": ("failed", "error"),
          "Stopped": ("stopped", "info")}
ATTEMPTS = 3


def post(url: str, body: dict[str, Any], attempts: int = ATTEMPTS) -> bool:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    for attempt in range(attempts):
        request = urllib.request.Request(url, data=data, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                if 200 <= response.status < 300:
                    return True
                problem = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            problem = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            problem = str(getattr(exc, "reason", exc))
        print(f"hkube2argo: webhook {url} attempt {attempt + 1}: {problem}", file=sys.stderr)
        if attempt + 1 < attempts:  # no wait after the last attempt: nothing follows it
            time.sleep(min(2 ** attempt, 5) * 0.5)
    return False


def _failure(failures: str, nodes: dict[str, str]) -> tuple[str | None, str]:
    """Argo's ``workflow.failures`` JSON -> the failing HKube node and its message."""
    try:
        items = json.loads(failures) if failures else []
    except json.JSONDecodeError:
        items = []
    for item in items:
        name = item.get("displayName") or item.get("name") or ""
        if name and not name.startswith(("pipeline", "part-")):
            task = name.split("(", 1)[0]
            node, text = nodes.get(task, task), item.get("message") or "failed"
            return jobstatus.said_by(text, node, set(nodes.values()))
    return None, "the pipeline failed"


def send(status: str, failures: str = "") -> int:
    config = decode_raw(_read(layout.local(layout.RAW_DIR, "webhooks")))
    job_status, level = STATUS.get(status, ("failed", "error"))
    if job_status == "failed" and shutdown.stopped(failures):
        job_status, level = STATUS["Stopped"]  # Argo's stop ends Failed (shutdown.py)
    wanted = LEVELS.get(config.get("verbosity", "info"), 3)
    now = int(time.time() * 1000)
    job = os.environ.get("H2A_JOB_ID", "local")
    base = {"jobId": job, "pipeline": config["pipeline"], "timestamp": now}
    node, error = _failure(failures, config.get("nodes", {})) if job_status == "failed" \
        else (None, None)
    if config.get("progress") and wanted >= LEVELS[level]:
        done = job_status in ("completed", "failed", "stopped")
        body = {**base, "status": job_status, "level": level,
                "data": {"progress": 100 if done else 0, "states": {},
                         "details": f"{100 if done else 0}% completed"}}
        if error:
            body.update(error=error, nodeName=node)
        post(config["progress"], body)
    if config.get("result") and status != "Running":
        body = {**base, "status": job_status}
        document = io.read_optional(layout.local(layout.RAW_DIR, "results.json"))
        if job_status == "completed" and document is not None:
            body = {**document, **base, "status": job_status}
        elif error:
            body.update(error=error, nodeName=node)
        post(config["result"], body)
    return 0  # a webhook never fails the pipeline


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()
