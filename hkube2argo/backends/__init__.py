"""Where pipelines run: Argo (``ARGO_SERVER`` set) or this machine (the embedded default)."""

from .base import Backend, BackendError, NotFound, Submitted, status_object

__all__ = ["Backend", "BackendError", "NotFound", "Submitted", "status_object"]
