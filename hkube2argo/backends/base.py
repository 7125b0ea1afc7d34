"""What the hkubectl-style commands need from wherever pipelines run.

Two backends implement it: ``argo`` (the Argo Server REST API plus MinIO, chosen when
``ARGO_SERVER`` is set) and ``embedded`` (the local runner and a local state folder).
Every method speaks HKube's shapes (jobId, ``/exec/status`` status object,
``/exec/results`` document), so the commands print the same thing either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ..runtime.jobstatus import PHASE_TO_STATUS, STOPPED, status_object

__all__ = ["PHASE_TO_STATUS", "STOPPED", "Backend", "BackendError", "NotFound", "Submitted",
           "status_object"]



class BackendError(Exception):
    """A problem the user meets (server unreachable, 401, unknown jobId...): one line,
    printed as is, non-zero exit. Never a traceback."""


class NotFound(BackendError):
    pass


@dataclass(frozen=True)
class Submitted:
    job_id: str


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
