"""Argo's artifact driver, as its executor applies it to key-only S3 artifacts.

Every rule here is read from Argo Workflows' source (v4.0.5; v4.1.2 the same unless
said): ``workflow/executor/executor.go`` (``loadArtifacts``/``loadArtifact``,
``unarchiveArtifact``, ``isTarball``, ``untar``, ``unpack``), ``workflow/artifacts/s3/s3.go``
(``loadS3Artifact``, ``PutDirectory``) and ``workflow/controller/workflowpod.go``
(``addInputArtifactsVolumes``).

Inputs: ``raw`` data is written as a file; an ``s3.key`` is fetched as an object and,
when no such object exists, as a prefix (every object under ``key/`` lands under the path
with its relative name). A loaded file is then unarchived: ``archive: none`` keeps it as
is, ``tar``/``zip`` unpack it, no ``archive`` unpacks it only when it is a gzipped tar
(``isTarball``: a gzip stream whose first tar header reads; a plain tar or a zip stays a
file). Unpacking goes to a temporary folder; when that holds exactly one entry (file or
folder), that entry *becomes* the artifact path, else the folder does (``unpack``).
A missing required input fails the pod's init container (phase Error). A missing
optional input with a key is still mounted (``subPath: <name>`` of the
``input-artifacts`` emptyDir) and the kubelet creates the missing subPath as an empty
directory: the path is an empty folder (argo-workflows#1503, #5934, still so in v3.7).

Outputs: a directory with ``archive: none`` is uploaded file by file under its key, in
``filepath.Walk`` order (lexical), stopping at the first failure; an optional output
whose path does not exist is skipped.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import zipfile
from pathlib import Path
from typing import Any

from .store import Store, StoreLost
from .tags import Unsupported


class ArtifactMissing(RuntimeError):
    """A required input that does not exist, or an output that could not be saved: the
    pod's init or wait container fails, which Argo records as the node's Error phase."""


class ArtifactUploadFailed(ArtifactMissing):
    """Storage refused an upload (the wait container's ``SaveArtifacts`` error)."""


def is_tarball(data: bytes) -> bool:
    """executor.go ``isTarball``: a gzip stream whose first tar header can be read."""
    if data[:2] != b"\x1f\x8b":
        return False
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            return archive.next() is not None
    except (tarfile.TarError, OSError, EOFError):
        return False


def _inside(base: Path, name: str) -> Path:
    """executor.go ``untar``: ``filepath.Join(dest, filepath.Clean(name))`` must lie
    strictly under ``dest`` ("illegal file path": so an entry ``./`` is refused too)."""
    target = Path(os.path.normpath(os.path.join(base, os.path.normpath(name))))
    if not str(target).startswith(str(base) + os.sep):
        raise ArtifactMissing(f"illegal file path: {name}")
    return target


def _untar_into(data: bytes, tmp: Path) -> None:
    """Directories, regular files and symlinks (whose target must stay inside), as
    ``untar``'s decompressor writes them; other entry types are skipped."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive:
            target = _inside(tmp, member.name)
            if member.issym():
                link = member.linkname if os.path.isabs(member.linkname) \
                    else os.path.join(target.parent, member.linkname)
                if not os.path.normpath(link).startswith(str(tmp) + os.sep):
                    raise ArtifactMissing(f"illegal symlink target: {member.name} -> "
                                          f"{member.linkname}")
                target.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(member.linkname, target)
            elif member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isreg():
                target.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                assert source is not None
                with open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
                os.chmod(target, member.mode & 0o7777)


def _unzip_into(data: bytes, tmp: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            target = _inside(tmp, info.filename)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(info))


def unpack(data: bytes, dest: Path, kind: str) -> None:
    """executor.go ``unpack``: extract into ``<dest>.tmpdir``; when it holds exactly one
    entry, that entry is renamed to ``dest`` (a one-file archive becomes a file, an
    archive of one folder becomes that folder's contents), else the folder is."""
    tmp = dest.with_name(dest.name + ".tmpdir")
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        (_untar_into if kind == "tar" else _unzip_into)(data, tmp)
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ArtifactMissing(f"failed to unpack {dest.name}: {exc}") from None
    entries = os.listdir(tmp)
    if len(entries) == 1:
        os.rename(tmp / entries[0], dest)
        tmp.rmdir()
    else:
        os.rename(tmp, dest)


def _place(artifact: dict[str, Any], data: bytes, dest: Path) -> None:
    """executor.go ``unarchiveArtifact``: the archive strategy, or auto-detection of a
    gzipped tar only ("don't try to autodetect zip files")."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    archive = artifact.get("archive") or {}
    if "none" in archive:
        kind = None
    elif "tar" in archive:
        kind = "tar"
    elif "zip" in archive:
        kind = "zip"
    else:
        kind = "tar" if is_tarball(data) else None
    if kind is None:
        dest.write_bytes(data)
    else:
        unpack(data, dest, kind)


def load_input(artifact: dict[str, Any], dest: Path, store: Store) -> int:
    """Put one input artifact at ``dest``; returns the bytes read from storage."""
    if "raw" in artifact:
        _place(artifact, artifact["raw"]["data"].encode("utf-8"), dest)
        return 0
    if "s3" not in artifact:
        if artifact.get("optional"):  # no location: Argo neither loads nor mounts it
            return 0
        raise Unsupported(f"input artifact {artifact.get('name')!r} without s3 or raw")
    key = artifact["s3"]["key"]
    data = store.get(key)
    if data is not None:
        _place(artifact, data, dest)
        return len(data)
    prefix = key.rstrip("/") + "/"
    keys = store.list(prefix)
    if keys:  # a folder: isTarball fails on it, so it is renamed into place as is
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
        dest.mkdir(parents=True, exist_ok=True)  # the kubelet's missing subPath
        return 0
    raise ArtifactMissing(f"failed to load artifact {artifact.get('name')!r}: no object or "
                          f"prefix {key!r}")


def _walk(folder: Path) -> list[Path]:
    """Go's ``filepath.Walk`` order (entries of a folder sorted by name, a sub-folder
    walked where it sorts), regular files only: symlinks are skipped (s3.go
    ``generatePutTasks``)."""
    out: list[Path] = []
    for name in sorted(os.listdir(folder)):
        path = folder / name
        if path.is_symlink():
            continue
        if path.is_dir():
            out.extend(_walk(path))
        else:
            out.append(path)
    return out


def save_output(artifact: dict[str, Any], source: Path, store: Store) -> dict[str, int]:
    """Upload one output artifact; returns the keys written with their sizes. A storage
    error raises :class:`ArtifactUploadFailed` after the files before it were written
    (s3.go ``PutDirectory`` uploads one file at a time and stops at the first error)."""
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
        files = [(key, source)]
    else:
        base = key if key.endswith("/") else key + "/"
        files = [(base + path.relative_to(source).as_posix(), path) for path in _walk(source)]
    written = {}
    for target, path in files:
        data = path.read_bytes()
        try:
            store.put(target, data)
        except StoreLost:  # not this artifact's error: the run's storage is gone
            raise
        except Exception as exc:  # any client error: the wait container's error
            what = "file" if source.is_file() else "directory"  # saveS3Artifact's words
            raise ArtifactUploadFailed(f"failed to put {what}: {exc}") from None
        written[target] = len(data)
    return written
