"""The run's live state as an Argo Workflow object, kept in a file for daemon containers.

On Argo a daemon (the progress reporter) reads its own Workflow from the Kubernetes API;
here the runner writes the same shape to ``<job folder>/workflow-live.json`` and gives
the daemon its absolute path in ``H2A_WORKFLOW_FILE``: the one runner-specific
adaptation, so the daemon's code reads one shape on both. Only the fields daemons read
are kept: metadata (name, namespace, labels, annotations), the emitted spec, and a status
with one node per container instance (``Pod``: the latest attempt of a retried one), one
per task skipped by ``when``, by an empty loop, or omitted because a dependency failed
(``Skipped``), and the root DAG node (its id is the Workflow's name, as Argo's
Workflow.NodeID gives it; the progress reporter ends once it is final). Other DAG,
TaskGroup and Retry nodes are left out.

The file is replaced atomically (a reader never sees half of it), by a writer thread at
most every ``INTERVAL`` seconds (rendering every node on every change would be
quadratic in a large batch); :meth:`LiveState.flush` writes now.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ENV = "H2A_WORKFLOW_FILE"
FILE = "workflow-live.json"
INTERVAL = 0.2
FINAL = ("Succeeded", "Failed", "Error", "Skipped", "Omitted")


def now() -> str:
    """RFC 3339 in UTC with seconds, as Kubernetes serialises ``metav1.Time``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class LiveState:
    """``path`` None: nothing is kept or written (a workflow without daemons pays nothing).
    Node ids are the engine's paths (stable and unique within the run)."""

    def __init__(self, path: Path | None, workflow: dict[str, Any], job_id: str,
                 interval: float = INTERVAL):
        self.path = path
        self.name = job_id
        self.interval = interval
        meta = workflow.get("metadata") or {}
        head = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                "metadata": {"name": job_id, "namespace": "local",
                             "labels": meta.get("labels") or {},
                             "annotations": meta.get("annotations") or {}},
                "spec": workflow["spec"]}
        # the static part is serialised once; each write adds only the status
        self._head = json.dumps(head, ensure_ascii=False, default=str)[:-1]
        self.status: dict[str, Any] = {"phase": "Running", "startedAt": now(),
                                       "finishedAt": None, "nodes": {}}
        self._lock = threading.Lock()  # guards status
        self._write = threading.Lock()  # one writer at a time: never an older state last
        self._dirty = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    # -- nodes

    def pod(self, node_id: str, name: str, display: str, template: str,
            params: dict[str, str], phase: str = "Pending") -> None:
        """A container instance exists (queued for a worker: Pending)."""
        if self.path is None:
            return
        stamp = now()
        node = {"id": node_id, "name": name, "displayName": display, "type": "Pod",
                "templateName": template, "phase": phase, "startedAt": stamp,
                "finishedAt": stamp if phase in FINAL else None,
                "inputs": {"parameters": [{"name": k, "value": v} for k, v in params.items()]}}
        self._set(node_id, node)

    def skipped(self, node_id: str, name: str, display: str, template: str, phase: str,
                message: str) -> None:
        """A task that runs nothing: Skipped (``when``, empty loop) or Omitted."""
        if self.path is None:
            return
        stamp = now()
        self._set(node_id, {"id": node_id, "name": name, "displayName": display,
                            "type": "Skipped", "templateName": template, "phase": phase,
                            "startedAt": stamp, "finishedAt": stamp, "message": message})

    def root(self, phase: str) -> None:
        """The entry DAG ended: its node's final phase, written now."""
        if self.path is None:
            return
        self.update(self.name, phase)
        self.flush()

    def update(self, node_id: str, phase: str, message: str = "",
               restart: bool = False) -> None:
        """A node's new phase; ``restart``: a new attempt began (its times start again)."""
        if self.path is None:
            return
        with self._lock:
            node = self.status["nodes"].get(node_id)
            if node is None:
                return
            node["phase"] = phase
            if restart:
                node["startedAt"], node["finishedAt"] = now(), None
                node.pop("message", None)
            if phase in FINAL:
                node["finishedAt"] = now()
            if message:
                node["message"] = message
        self._dirty.set()

    def _set(self, node_id: str, node: dict[str, Any]) -> None:
        with self._lock:
            self.status["nodes"][node_id] = node
        self._dirty.set()

    # -- the file

    def start(self, entry: str) -> None:
        """Write the first state (it exists before any daemon starts), start the writer.
        ``entry``: the entrypoint template, the root node's."""
        if self.path is None:
            return
        name = self.name
        with self._lock:  # written by the flush below: the writer's throttle stays unused
            self.status["nodes"][name] = {
                "id": name, "name": name, "displayName": name, "type": "DAG",
                "templateName": entry, "phase": "Running", "startedAt": now(),
                "finishedAt": None}
        self.flush()
        self._thread = threading.Thread(target=self._loop, name="h2a-livestate", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            self._dirty.wait()
            if self._closing.is_set():
                return
            self._dirty.clear()
            with contextlib.suppress(OSError):  # a stale file is better than a dead writer
                self.flush()
            self._closing.wait(self.interval)  # the throttle; closing cuts it short

    def flush(self) -> None:
        """Write the current state now (tmp file + rename: atomic for readers)."""
        if self.path is None:
            return
        with self._write:
            with self._lock:
                status = json.dumps(self.status, ensure_ascii=False)
            text = f'{self._head}, "status": {status}}}'
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, self.path)

    def close(self, phase: str) -> None:
        """The run ended: its final phase, the writer stopped, the last state written."""
        if self.path is None:
            return
        with self._lock:
            self.status["phase"] = phase
            self.status["finishedAt"] = now()
        self._closing.set()
        self._dirty.set()
        if self._thread is not None:
            self._thread.join()
        with contextlib.suppress(OSError):  # the run's outcome never hangs on this file
            self.flush()
