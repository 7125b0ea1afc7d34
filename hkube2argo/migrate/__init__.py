"""``hkube2argo migrate``: a whole HKube installation (its stored pipelines and
algorithms) into one Argo bundle with a compatibility report.

Stages, as everywhere: read the store (``sources``), judge and compile each pipeline
against the whole algorithm store (``verdicts``; only the algorithms a pipeline uses can
fail it), then write the bundle and the report (``bundle``, ``report``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import ClusterConfig
from ..validate import Catalog, catalog_of, used_algorithms
from .bundle import write
from .report import Report
from .sources import SourceError, Store, read_source
from .verdicts import judge_algorithm, judge_pipeline

__all__ = ["Migration", "SourceError", "migrate", "read_source"]


@dataclass(frozen=True)
class Migration:
    report: Report
    catalog: Catalog
    store: Store


def judge(store: Store, config: ClusterConfig,
          progress: Callable[[int, int, str], None] | None = None) -> Migration:
    """Every pipeline compiled against the whole algorithm store, every algorithm judged."""
    catalog = catalog_of(store.algorithms)
    names = [p.data.get("name") for p in store.pipelines if isinstance(p.data, dict)]
    known = {n for n in names if isinstance(n, str)}
    verdicts = []
    for i, desc in enumerate(store.pipelines):
        verdict = judge_pipeline(desc, catalog, config, known)
        verdicts.append(verdict)
        if progress is not None:
            progress(i + 1, len(store.pipelines), verdict.name)
    users: dict[str, list[str]] = {}
    for desc, verdict in zip(store.pipelines, verdicts, strict=True):
        for algorithm in used_algorithms(desc.data):
            users.setdefault(algorithm, []).append(verdict.name)
    algorithms = [judge_algorithm(d, catalog, lambda n: tuple(sorted(users.get(n, []))))
                  for d in store.algorithms]
    report = Report(store.name, tuple(sorted(verdicts, key=lambda v: v.name)),
                    tuple(sorted(algorithms, key=lambda a: a.name)),
                    tuple(store.diagnostics))
    return Migration(report, catalog, store)


def amounts(migration: Migration) -> dict[str, int]:
    """The semaphore ConfigMap's entries: the key each compiled pipeline's semaphore names,
    with its concurrentPipelines amount (Argo fails a run whose key is missing)."""
    by_name = {d.data.get("name"): d.data for d in migration.store.pipelines
               if isinstance(d.data, dict)}
    out = {}
    for verdict in migration.report.pipelines:
        if verdict.output is None:
            continue
        spec = verdict.output.manifests.workflow_template.get("spec") or {}
        limit = ((by_name.get(verdict.name) or {}).get("options") or {}).get(
            "concurrentPipelines") or {}
        for semaphore in (spec.get("synchronization") or {}).get("semaphores") or []:
            key = (semaphore.get("configMapKeyRef") or {}).get("key")
            if key and isinstance(limit, dict) and isinstance(limit.get("amount"), int):
                out[key] = limit["amount"]
    return out


def migrate(source: str, out: Path, config: ClusterConfig, token: str | None = None,
            progress: Callable[[int, int, str], None] | None = None) -> Migration:
    """Read, judge, write: the bundle and its report in ``out``."""
    migration = judge(read_source(source, token), config, progress)
    write(migration.report, migration.catalog, out, config, amounts(migration))
    return migration
