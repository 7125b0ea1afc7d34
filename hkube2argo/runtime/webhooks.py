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
import re
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


_GO_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
               "\\": "\\", '"': '"', "'": "'"}


def go_unquote(text: str) -> str:
    """A Go string literal (``strconv.Quote``'s output) back to its text: the escapes of
    JSON plus ``\\a \\v \\xHH \\UHHHHHHHH`` and octal, which JSON lacks."""
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError("not a quoted string")
    body, out, i = text[1:-1], bytearray(), 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out += char.encode("utf-8")
            i += 1
            continue
        kind = body[i + 1]
        if kind in _GO_ESCAPES:
            out += _GO_ESCAPES[kind].encode("utf-8")
            i += 2
        elif kind in "uU":
            width = 4 if kind == "u" else 8
            out += chr(int(body[i + 2:i + 2 + width], 16)).encode("utf-8")
            i += 2 + width
        elif kind == "x":
            out.append(int(body[i + 2:i + 4], 16))
            i += 4
        else:  # octal \NNN
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
    return out.decode("utf-8", "replace")


def failures_list(text: str) -> list[dict[str, Any]]:
    """Argo's ``{{workflow.failures}}``: ``strconv.Quote`` of the JSON list (operator.go;
    Argo's docs: decode twice), ``"null"`` when nothing failed. The unquoted JSON list
    is taken as well."""
    value: Any = text.strip()
    try:
        if value.startswith('"'):
            value = go_unquote(value)
        value = json.loads(value) if value else None
    except (ValueError, IndexError):
        return []
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


_ATTEMPT = re.compile(r"^(.*)\((\d+)\)$")  # a Retry node's attempt: "<name>(N)"


def pick_failure(items: list[dict[str, Any]], tolerated: set[str]) -> dict[str, Any] | None:
    """The failed pod that failed the run, whatever the list's order (a Go map's): pods
    only (a Retry node's message is "No more retries left", a loop or DAG node's none),
    the last attempt of a Retry node that failed (earlier attempts of one that then
    succeeded are no failure), a task whose failures are not tolerated (a collect step,
    a plain node) before a batch item's; then the earliest ``finishedAt``, then name."""
    failed = [i for i in items if i.get("phase") in ("Failed", "Error")]
    names = {str(i.get("displayName") or "") for i in failed}
    attempts: dict[str, int] = {}
    for name in names:
        match = _ATTEMPT.match(name)
        if match:
            attempts[match.group(1)] = max(attempts.get(match.group(1), -1),
                                           int(match.group(2)))

    def parent_of(name: str) -> str:
        """Its Retry node for an attempt, else itself."""
        match = _ATTEMPT.match(name)
        return match.group(1) if match and match.group(1) in attempts else name

    pods = []
    for item in failed:
        name = str(item.get("displayName") or "")
        if name in attempts or any(n.startswith(name + "(") for n in names if n != name):
            continue  # a Retry node, or a loop node whose items are listed
        match = _ATTEMPT.match(name)
        if match and match.group(1) in attempts and (
                match.group(1) not in names or int(match.group(2)) != attempts[match.group(1)]):
            continue  # an attempt that was retried, or whose Retry node succeeded
        pods.append(item)

    def rank(item: dict[str, Any]) -> tuple[bool, str, str]:
        name = str(item.get("displayName") or "")
        base = parent_of(name)
        item_like = "(" in base or base.split("(", 1)[0] in tolerated
        return item_like, str(item.get("finishedAt") or "\uffff"), name

    return min(pods, key=rank, default=None)


def _failure(failures: str, nodes: dict[str, str],
             tolerated: set[str] = frozenset()) -> tuple[str | None, str]:  # type: ignore[assignment]
    """Argo's ``workflow.failures`` -> the failing HKube node and its message."""
    candidates = [i for i in failures_list(failures)
                  if str(i.get("displayName") or "").split("(", 1)[0] in nodes]
    item = pick_failure(candidates, set(tolerated))
    if item is None:
        return None, "the pipeline failed"
    task = str(item.get("displayName") or "").split("(", 1)[0]
    node, text = nodes.get(task, task), item.get("message") or "failed"
    return jobstatus.said_by(text, node, set(nodes.values()))


def send(status: str, failures: str = "") -> int:
    config = decode_raw(_read(layout.local(layout.RAW_DIR, "webhooks")))
    job_status, level = STATUS.get(status, ("failed", "error"))
    if job_status == "failed" and shutdown.stopped(failures):
        job_status, level = STATUS["Stopped"]  # Argo's stop ends Failed (shutdown.py)
    wanted = LEVELS.get(config.get("verbosity", "info"), 3)
    now = int(time.time() * 1000)
    job = os.environ.get("H2A_JOB_ID", "local")
    base = {"jobId": job, "pipeline": config["pipeline"], "timestamp": now}
    node, error = _failure(failures, config.get("nodes", {}), set(config.get("tolerated", ()))) \
        if job_status == "failed" else (None, None)
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
