"""An algorithm's code as one deterministic ``.tar.gz`` and its content-addressed key.

HKube uploads a folder, zip or tar.gz; here every form is repacked the same way (sorted
entries, zero times and owners), so the same code always has the same bytes and key,
and Argo's artifact driver untars it into the pod as is.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

SKIP = {"__pycache__", ".git", "node_modules", ".DS_Store"}


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))


def _files(path: Path) -> list[tuple[str, bytes, int]]:
    if path.is_dir():
        out = []
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in SKIP)
            for name in sorted(files):
                if name in SKIP or name.endswith(".pyc"):
                    continue
                full = Path(root) / name
                rel = full.relative_to(path).as_posix()
                out.append((rel, full.read_bytes(), 0o755 if os.access(full, os.X_OK) else 0o644))
        return out
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return [(i.filename, archive.read(i), 0o644) for i in archive.infolist()
                    if not i.is_dir()]
    with tarfile.open(path) as archive:
        return [(m.name, archive.extractfile(m).read(), m.mode & 0o777)  # type: ignore[union-attr]
                for m in archive.getmembers() if m.isfile()]


def pack(path: str | Path) -> bytes:
    """The code at ``path`` (folder or archive) as deterministic tar.gz bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mode in sorted(_files(Path(path))):
            _add(tar, name, data, mode)
    return gzip.compress(raw.getvalue(), mtime=0)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def code_key(key_prefix: str, algorithm: str, data: bytes) -> str:
    return f"{key_prefix}/algorithms/{algorithm}/{digest(data)}.tar.gz"


def names(data: bytes) -> list[str]:
    """The file names inside packed code (``pack``'s output)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return [member.name for member in archive.getmembers() if member.isfile()]
