"""What the hkubectl-style commands need from wherever pipelines run.

Two backends implement it: ``argo`` (the Argo Server REST API plus MinIO, chosen when
``ARGO_SERVER`` is set) and ``embedded`` (the local runner and a local state folder).
Every method speaks HKube's shapes (jobId, ``/exec/status`` status object,
``/exec/results`` document), so the commands print the same thing either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

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


class BackendError(Exception):
    """A problem the user meets (server unreachable, 401, unknown jobId...): one line,
    printed as is, non-zero exit. Never a traceback."""


class NotFound(BackendError):
    pass


@dataclass(frozen=True)
class Submitted:
    job_id: str


def status_object(job_id: str, pipeline: str, status: str, *, succeeded: int = 0,
                  failed: int = 0, active: int = 0, skipped: int = 0, total: int = 0,
                  error: str | None = None, node: str | None = None,
                  timestamp: int | None = None, took: float | None = None) -> dict[str, Any]:
    """HKube's ``GET /exec/status/{jobId}`` object. Progress = finished / all tasks, two
    decimals; details as HKube words them ("40% completed, 2 succeed, 3 active")."""
    finished = succeeded + failed + skipped
    progress = round(100 * finished / total, 2) if total else (100.0 if status == "completed"
                                                              else 0.0)
    states = {k: v for k, v in (("succeed", succeeded), ("failed", failed),
                                ("active", active), ("skipped", skipped)) if v}
    details = f"{progress:g}% completed" + "".join(f", {v} {k}" for k, v in states.items())
    body: dict[str, Any] = {"jobId": job_id, "pipeline": pipeline, "status": status,
                            "level": "error" if status == "failed" else "info",
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


class Backend(Protocol):
    """The operations behind ``exec``, ``pipeline`` and ``algorithm`` commands."""

    name: str

    # exec
    def exec_raw(self, descriptor: dict[str, Any], source: str) -> Submitted: ...
    def exec_stored(self, name: str, flow_input: dict[str, Any] | None) -> Submitted: ...
    def status(self, job_id: str) -> dict[str, Any]: ...
    def result(self, job_id: str) -> dict[str, Any]: ...
    def stop(self, job_id: str, reason: str | None) -> dict[str, Any]: ...
    def get(self, job_id: str) -> dict[str, Any]: ...

    # stored pipelines
    def store_pipeline(self, descriptor: dict[str, Any], source: str) -> dict[str, Any]: ...
    def get_pipeline(self, name: str) -> dict[str, Any]: ...
    def list_pipelines(self) -> list[dict[str, Any]]: ...
    def delete_pipeline(self, name: str) -> dict[str, Any]: ...

    # algorithms
    def apply_algorithm(self, descriptor: dict[str, Any], source: str) -> dict[str, Any]: ...
    def get_algorithm(self, name: str) -> dict[str, Any]: ...
    def list_algorithms(self) -> list[dict[str, Any]]: ...
    def delete_algorithm(self, name: str) -> dict[str, Any]: ...
