"""``migrate --apply``: store the bundle's algorithms and pipelines through a backend (the
Argo Server when ``ARGO_SERVER`` is set), as ``algorithm apply`` and ``pipeline store``
would, once each. What the store already holds unchanged is left alone, so a second run
changes nothing and says so."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import codepack
from ..backends.base import Backend, NotFound
from ..backends.records import STORE_KEYS
from ..models import Pipeline
from ..validate import Catalog
from . import Migration

# what a store adds or rewrites around a descriptor: not part of what it means
VOLATILE = {*STORE_KEYS, "fileInfo", "codePath", "build", "buildId", "type"}


@dataclass
class Applied:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.created and not self.updated:
            return (f"nothing changed: the store already holds all {len(self.unchanged)} "
                    "of the bundle's algorithms and pipelines")
        return (f"applied: {len(self.created)} created, {len(self.updated)} updated, "
                f"{len(self.unchanged)} unchanged")


def _essence(stored: dict[str, Any], checksum: str | None) -> str:
    body = {k: v for k, v in stored.items() if k not in VOLATILE}
    return json.dumps({"descriptor": body, "code": checksum}, sort_keys=True, default=str)


def _existing(getter: Any, name: str) -> dict[str, Any] | None:
    try:
        found = getter(name)
    except NotFound:
        return None
    return found if isinstance(found, dict) else None


def apply(migration: Migration, bundle: Path, backend: Backend,
          say: Any = print) -> Applied:
    """Algorithms first (pipelines compile against them), then every pipeline that is not
    unsupported, each only when it differs from what is stored."""
    done = Applied()
    catalog: Catalog = migration.catalog
    for verdict in migration.report.algorithms:
        spec = catalog.specs.get(verdict.name)
        path = bundle / "algorithms" / f"{verdict.name}.json"
        if spec is None or not path.is_file():
            continue
        descriptor = json.loads(path.read_text(encoding="utf-8"))
        code = bundle / "algorithms" / descriptor["codePath"] \
            if descriptor.get("codePath") else None
        checksum = codepack.digest(codepack.pack(code)) if code else None
        old = _existing(backend.get_algorithm, spec.name)
        old_sum = ((old or {}).get("fileInfo") or {}).get("checksum") if code else None
        if old is not None and _essence(old, old_sum) == _essence(
                {**descriptor, "codePath": None}, checksum):
            done.unchanged.append(f"algorithm {spec.name}")
            say(f"algorithm {spec.name}: unchanged")
            continue
        backend.apply_algorithm(descriptor, str(path))
        (done.updated if old else done.created).append(f"algorithm {spec.name}")
        say(f"algorithm {spec.name}: {'updated' if old else 'created'}")
    sources = {d.data.get("name"): d.source.file for d in migration.store.pipelines
               if isinstance(d.data, dict)}
    for verdict in migration.report.pipelines:
        if verdict.status == "unsupported" or verdict.descriptor is None:
            continue
        wire = Pipeline.model_validate(verdict.descriptor).wire()
        old = _existing(backend.get_pipeline, verdict.name)
        if old is not None and _essence(old, None) == _essence(wire, None):
            done.unchanged.append(f"pipeline {verdict.name}")
            say(f"pipeline {verdict.name}: unchanged")
            continue
        backend.store_pipeline(verdict.descriptor, sources.get(verdict.name, verdict.name))
        (done.updated if old else done.created).append(f"pipeline {verdict.name}")
        say(f"pipeline {verdict.name}: {'updated' if old else 'created'}")
    return done
