"""Local job records: list them, and prune old ones with their stored data.

Every local run keeps a folder ``<state>/jobs/<jobId>/`` (manifest, journal, task folders,
result) and its data under the storage's job prefix. Nothing else removes them, so a busy
machine grows without limit; ``hkube2argo jobs prune`` is the one place that does, and it
never touches a job that has not ended (it may be running, or waiting for ``--resume``).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..runtime import layout
from . import joblock

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+)([smhdw])")


def parse_duration(text: str) -> float:
    """``90s``, ``30m``, ``12h``, ``7d``, ``2w`` or sums such as ``1d12h``, in seconds."""
    compact = text.strip().lower()
    parts = _DURATION.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"{text!r} is not a duration: use a number and a unit (s, m, h, d, "
                         "w), such as 7d or 1d12h")
    return float(sum(int(n) * UNITS[u] for n, u in parts))


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    pipeline: str
    status: str  # completed | failed | stopped | unfinished (running, or to --resume)
    started: float  # seconds since the epoch
    folder: Path
    data: Path | None  # the job's objects when its storage is a local folder
    size: int  # bytes of the folder and of the local data

    def to_json(self) -> dict[str, Any]:
        return {"jobId": self.job_id, "pipeline": self.pipeline, "status": self.status,
                "startTime": int(self.started * 1000), "folder": str(self.folder),
                "bytes": self.size}


def _size(path: Path | None) -> int:
    if path is None or not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _data_folder(state: Path, job: dict[str, Any], job_id: str) -> Path | None:
    storage = job.get("storage") or {}
    config = job.get("config") or {}
    if storage.get("endpoint") or not config.get("bucket"):
        return None  # S3: the data stays where the bucket's own lifecycle rules keep it
    root = Path(storage["folder"]) if storage.get("folder") else state / "storage"
    bucket = storage.get("bucket") or config["bucket"]
    return root / bucket / layout.job_prefix(config.get("keyPrefix", ""), job_id).strip("/")


def list_jobs(state: Path) -> list[JobRecord]:
    """Every job under ``state``, oldest first."""
    jobs_dir = state / "jobs"
    if not jobs_dir.is_dir():
        return []
    out = []
    for folder in jobs_dir.iterdir():
        job = _read_json(folder / "job.json")
        if not folder.is_dir() or not job:
            continue
        result = _read_json(folder / "result.json")
        started = result.get("startTime")
        when = started / 1000 if isinstance(started, int | float) else folder.stat().st_mtime
        data = _data_folder(state, job, folder.name)
        out.append(JobRecord(folder.name, str(job.get("pipeline", "?")),
                             str(result.get("status", "unfinished")), when, folder, data,
                             _size(folder) + _size(data)))
    return sorted(out, key=lambda r: (r.started, r.job_id))


def select_prunable(jobs: list[JobRecord], keep: int | None, older_than: float | None,
                    now: float | None = None) -> list[JobRecord]:
    """Ended jobs beyond the newest ``keep`` and/or started more than ``older_than`` seconds
    ago (both given: a job must qualify for both). Unfinished jobs are never chosen."""
    if keep is None and older_than is None:
        raise ValueError("say what to prune: --keep N and/or --older-than DURATION")
    now = time.time() if now is None else now
    ended = [j for j in jobs if j.status != "unfinished"]
    chosen = set(j.job_id for j in ended)
    if keep is not None:
        chosen &= {j.job_id for j in ended[:max(len(ended) - keep, 0)]}
    if older_than is not None:
        chosen &= {j.job_id for j in ended if now - j.started > older_than}
    return [j for j in ended if j.job_id in chosen]


def remove(job: JobRecord) -> bool:
    """The job's folder and its local data, nothing outside them; False (and nothing
    removed) when a runner holds the job, as a ``--resume`` of an ended job does."""
    try:
        with joblock.hold(job.folder):
            if job.data is not None and job.data.is_dir():
                shutil.rmtree(job.data)
            for child in job.folder.iterdir():
                if child.name != joblock.LOCK_FILE:
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
    except joblock.JobBusy:
        return False
    shutil.rmtree(job.folder)  # the lock file last, once the lock is let go
    return True
