"""File plumbing of a task: reading its inbox, writing its outbox and counts, and saying
why it failed (log line and termination message)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from . import layout
from .values import dumps, item_index

TERMINATION_LOG = "/dev/termination-log"  # Kubernetes' default terminationMessagePath
TERMINATION_MAX = 4000  # the kubelet keeps 4096 bytes


def read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def write_json(path: str, value: Any) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"  # unique per writer process
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(dumps(value))
    os.replace(tmp, path)  # a half-written file never looks like a result


def read_optional(path: str) -> Any | None:
    """A file that may be absent: an envelope of a parent that was skipped or crashed, or
    an optional input artifact that was not found. Absent means no file, a directory, or
    an empty file. Argo (workflowpod.go ``addInputArtifactsVolumes``) still mounts an
    optional artifact that has a key, with ``subPath: <artifact name>`` of the
    ``input-artifacts`` emptyDir; its executor skips the download (executor.go
    ``loadArtifacts``: "Skipping optional input artifact that was not found"), and the
    kubelet creates the missing subPath as an empty directory (argo-workflows#1503,
    #5934). Argo v4.1's opt-in init-less pods leave nothing at the path instead."""
    try:
        if os.path.isdir(path) or os.path.getsize(path) == 0:
            return None
        return read_json(path)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def read_indexed(folder: str) -> dict[int, Any]:
    """Every ``NNNNNN.json`` in a folder, by index (a missing folder is empty)."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return {}
    out: dict[int, Any] = {}
    for name in names:
        index = item_index(name)
        if index is not None:
            out[index] = read_json(os.path.join(folder, name))
    return out


def inbox(*parts: str) -> str:
    """A path in this task's inbox: ``shared/...`` or ``item/...``."""
    return layout.local("in", *parts)


def outbox(key: str) -> str:
    """The local file that will be uploaded as ``<job prefix>/<key>``."""
    return layout.local(layout.OUT_DIR, *key.split("/"))


def write_count(name: str, value: int) -> None:
    """A small number the template exposes as an output parameter."""
    path = layout.local(layout.COUNTS_DIR, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="ascii") as handle:
        handle.write(str(value))


def write_text(name: str, value: str) -> None:
    path = layout.local(layout.COUNTS_DIR, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(value)


def report_failure(node_name: str, message: str) -> None:
    """Say which node failed and why: a line in the logs (the local runner reads it) and
    the container's termination message, which Argo shows as the node's message
    ("Error (exit code 3): <node> failed: <error>") and ``exec status`` reads back."""
    line = f"{node_name} failed: {message}"
    print(f"hkube2argo: {line}", file=sys.stderr)
    path = os.environ.get("H2A_TERMINATION_LOG") or TERMINATION_LOG
    if path == TERMINATION_LOG and not os.path.exists(path):
        return  # not in a pod: never create a file under /dev
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(line.encode("utf-8")[:TERMINATION_MAX].decode("utf-8", "ignore"))
    except OSError:
        pass  # not in a pod (or not writable): the log line is enough
