"""An algorithm's code as one deterministic ``.tar.gz`` and its content-addressed key.

HKube uploads a folder, zip or tar.gz; here every form is repacked the same way (sorted
entries, zero times and owners), so the same code always has the same bytes and key.

Every entry sits under one top-level folder, ``code/``. Argo's executor untars an input
artifact into a temporary folder and, when that holds exactly one entry, renames *that
entry* to the artifact path (``workflow/executor/executor.go``, ``unpack``: ``if
len(files) == 1``; the same in v4.0.5 and v4.1.2). Without the wrapper a one-file
algorithm would arrive as a file where its code folder should be, and code whose files
all sit in one folder would lose that folder. With it the artifact path is always the
code folder, with the files exactly as written (the kaniko build's ``code`` input too).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

SKIP = {"__pycache__", ".git", "node_modules", ".DS_Store"}
TOP = "code"  # the one top-level entry of every pack (see above)


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
        files = [(m.name.removeprefix("./"), archive.extractfile(m).read(),  # type: ignore[union-attr]
                  m.mode & 0o777) for m in archive.getmembers() if m.isfile()]
    top = f"{TOP}/"
    if files and all(name.startswith(top) for name, _, _ in files):
        # a pack of ours (a migrate bundle's code): its files, not a code/ folder in code/
        files = [(name[len(top):], data, mode) for name, data, mode in files]
    return files


def pack(path: str | Path) -> bytes:
    """The code at ``path`` (folder or archive) as deterministic tar.gz bytes, every file
    under ``code/``."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mode in sorted(_files(Path(path))):
            _add(tar, f"{TOP}/{name.removeprefix('./')}", data, mode)
    return gzip.compress(raw.getvalue(), mtime=0)


def unpack(data: bytes, target: Path) -> None:
    """Packed code into the folder ``target``, as Argo's executor places it: extracted
    beside it, then the one top-level entry renamed to ``target`` (atomic: a half-unpacked
    folder is never seen; when ``target`` appeared meanwhile, the other copy stands)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            if hasattr(tarfile, "data_filter"):
                archive.extractall(tmp, filter="data")
            else:  # pragma: no cover - Python < 3.11.4
                archive.extractall(tmp)  # our own deterministic pack
        entries = os.listdir(tmp)
        source = tmp / entries[0] if len(entries) == 1 else tmp
        with contextlib.suppress(OSError):  # another unpack of the same code won
            os.rename(source, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def code_key(key_prefix: str, algorithm: str, data: bytes) -> str:
    return f"{key_prefix}/algorithms/{algorithm}/{digest(data)}.tar.gz"


def names(data: bytes) -> list[str]:
    """The file names inside packed code (``pack``'s output), relative to the code
    folder."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return [member.name.removeprefix(f"{TOP}/") for member in archive.getmembers()
                if member.isfile()]
