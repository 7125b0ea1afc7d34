"""Object storage behind the artifact driver: a local folder, or any S3 endpoint through
the ``minio`` client (MinIO, moto, AWS)."""

from __future__ import annotations

import io
import os
import secrets
import threading
from pathlib import Path
from typing import Any, Protocol


class Store(Protocol):
    def get(self, key: str) -> bytes | None: ...
    def put(self, key: str, data: bytes) -> None: ...
    def list(self, prefix: str) -> list[str]: ...
    def describe(self) -> str: ...


class LocalStore:
    """Keys are paths under ``root/bucket``; a prefix is a folder."""

    def __init__(self, root: str | Path, bucket: str):
        self.base = Path(root) / bucket

    def _path(self, key: str) -> Path:
        parts = [p for p in key.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise ValueError(f"refusing key with '.' or '..' segments: {key!r}")
        return self.base.joinpath(*parts)

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # unique per writer: two runs (or two threads) may write one key at once, e.g. the
        # same algorithm's code; the last rename wins and no writer loses its temp file
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}."
                             f"{secrets.token_hex(4)}.part")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def list(self, prefix: str) -> list[str]:
        folder = self._path(prefix)
        if not folder.is_dir():
            return []
        base = self.base
        return sorted(p.relative_to(base).as_posix() for p in folder.rglob("*")
                      if p.is_file() and not p.name.endswith(".part"))

    def describe(self) -> str:
        return str(self.base)


MISSING_CODES = ("NoSuchKey", "NoSuchObject")


def read_object(client: Any, bucket: str, key: str) -> bytes | None:
    """One object's bytes through the minio client; None when there is no such key."""
    from minio.error import S3Error

    try:
        response = client.get_object(bucket, key)
    except S3Error as exc:
        if exc.code in MISSING_CODES:
            return None
        raise
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


class S3Store:
    """The same operations over S3 with the ``minio`` client."""

    def __init__(self, endpoint: str, bucket: str, access_key: str, secret_key: str,
                 secure: bool = False, region: str | None = None, create: bool = True):
        from minio import Minio

        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key,
                            secure=secure, region=region)
        self.bucket = bucket
        self.endpoint = endpoint
        if create and not self.client.bucket_exists(bucket):
            self.client.make_bucket(bucket)

    def get(self, key: str) -> bytes | None:
        return read_object(self.client, self.bucket, key)

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(self.bucket, key, io.BytesIO(data), len(data))

    def list(self, prefix: str) -> list[str]:
        prefix = prefix if prefix.endswith("/") else prefix + "/"
        return sorted(o.object_name for o in self.client.list_objects(
            self.bucket, prefix=prefix, recursive=True))

    def describe(self) -> str:
        return f"s3://{self.bucket} at {self.endpoint}"
