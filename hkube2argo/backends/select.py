"""Which backend the commands talk to: Argo when ``ARGO_SERVER`` is set (the argo CLI's
own variable), else this machine."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ..config import DEFAULT, ClusterConfig
from .base import Backend, BackendError
from .embedded import EmbeddedBackend


def backend_from_env(state: str | Path, config: ClusterConfig | None = None,
                     environ: Mapping[str, str] = os.environ) -> Backend:
    """``ArgoBackend.from_env(config, environ)`` when ``ARGO_SERVER`` is set, else the
    embedded backend keeping its records in ``state``."""
    config = config or DEFAULT
    if environ.get("ARGO_SERVER"):
        try:
            from .argo import ArgoBackend
        except ModuleNotFoundError as exc:
            if exc.name in (f"{__package__}.argo", __package__):
                raise BackendError(
                    "ARGO_SERVER is set, but this hkube2argo has no Argo backend "
                    "(hkube2argo.backends.argo is missing); unset ARGO_SERVER to run on this "
                    "machine") from None
            raise BackendError(f"the Argo backend needs the Python package {exc.name!r}, "
                               "which is not installed (pip install hkube2argo again)") from None
        except ImportError as exc:
            raise BackendError(f"the Argo backend cannot be loaded: {exc}") from None
        return ArgoBackend.from_env(config, environ)  # type: ignore[no-any-return]
    return EmbeddedBackend(state, config)
