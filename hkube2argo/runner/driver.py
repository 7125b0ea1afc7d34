"""Argo's artifact driver, as the executor applies it to key-only S3 artifacts.

Inputs: ``raw`` data is written as a file; an ``s3.key`` is fetched as an object (a
tarball is unpacked into the path, anything else written as the file) and, when no such
object exists, as a prefix: every object under ``key/`` lands under the path with its
relative name. A missing optional input is skipped; a missing required one fails the task.
Outputs: a directory with ``archive: none`` is uploaded file by file under its key; an
optional output whose path does not exist is skipped.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path
from typing import Any

from .store import Store
from .tags import Unsupported


class ArtifactMissing(RuntimeError):
    pass


def _is_tarball(data: bytes) -> bool:
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            return False
    return len(data) > 262 and data[257:262] == b"ustar"


def _untar(data: bytes, dest: Path) -> int:
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(dest, filter="data")
        return sum(m.size for m in archive.getmembers() if m.isfile())


def load_input(artifact: dict[str, Any], dest: Path, store: Store) -> int:
    """Put one input artifact at ``dest``; returns the bytes read from storage."""
    if "raw" in artifact:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(artifact["raw"]["data"], encoding="utf-8")
        return 0
    if "s3" not in artifact:
        raise Unsupported(f"input artifact {artifact.get('name')!r} without s3 or raw")
    key = artifact["s3"]["key"]
    data = store.get(key)
    if data is not None:
        if _is_tarball(data) and "archive" not in artifact:
            _untar(data, dest)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        return len(data)
    prefix = key.rstrip("/") + "/"
    keys = store.list(prefix)
    if keys:
        total = 0
        for name in keys:
            blob = store.get(name)
            if blob is None:  # deleted meanwhile
                continue
            target = dest.joinpath(*name[len(prefix):].split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)
            total += len(blob)
        return total
    if artifact.get("optional"):
        return 0
    raise ArtifactMissing(f"failed to load artifact {artifact.get('name')!r}: no object or "
                          f"prefix {key!r}")


def save_output(artifact: dict[str, Any], source: Path, store: Store) -> dict[str, int]:
    """Upload one output artifact; returns the keys written with their sizes."""
    if "s3" not in artifact:
        raise Unsupported(f"output artifact {artifact.get('name')!r} without s3")
    if "none" not in (artifact.get("archive") or {}):
        raise Unsupported(f"output artifact {artifact.get('name')!r} with an archive")
    key = artifact["s3"]["key"]
    if not source.exists():
        if artifact.get("optional"):
            return {}
        raise ArtifactMissing(f"output artifact {artifact.get('name')!r}: {source} missing")
    if source.is_file():
        data = source.read_bytes()
        store.put(key, data)
        return {key: len(data)}
    written = {}
    base = key if key.endswith("/") else key + "/"
    for root, _, files in os.walk(source):
        for name in sorted(files):
            path = Path(root) / name
            data = path.read_bytes()
            target = base + path.relative_to(source).as_posix()
            store.put(target, data)
            written[target] = len(data)
    return written
