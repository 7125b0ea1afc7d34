"""Object storage behind the artifact driver: a local folder, or any S3 endpoint through
the ``minio`` client (MinIO, moto, AWS)."""

from __future__ import annotations

import io
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from .. import s3client

T = TypeVar("T")


class Store(Protocol):
    def get(self, key: str) -> bytes | None: ...
    def put(self, key: str, data: bytes) -> None: ...
    def list(self, prefix: str) -> list[str]: ...
    def describe(self) -> str: ...
    def until(self, deadline: float | None) -> None:
        """Calls made from now on end by ``deadline`` (``time.monotonic()``; None: only
        their own timeouts); a call cut by it raises :class:`StoreLost` (``expired``)."""


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

    def until(self, deadline: float | None) -> None:
        pass  # local files do not hang


class StoreLost(Exception):
    """The storage failed after its retries (or its deadline): one line. The run cannot go
    on without it; what was journalled stays, so the job can be resumed."""

    def __init__(self, message: str, expired: bool = False):
        super().__init__(message)
        self.expired = expired  # it failed because the run's deadline had passed


class S3Store:
    """The same operations over S3 (``s3client``: timeouts, bounded retries, one-line
    failures). The first failure loses the store: later calls fail at once, so a run
    whose storage is gone ends without waiting for every task's timeouts."""

    def __init__(self, endpoint: str, bucket: str, access_key: str, secret_key: str,
                 secure: bool = False, region: str | None = None, create: bool = True,
                 connect_timeout: float = 5.0, read_timeout: float = 30.0,
                 retries: int = 2):
        self.bucket = bucket
        self.endpoint = endpoint
        self.where = f"S3 at {'https' if secure else 'http'}://{endpoint}"
        self.deadline: float | None = None
        self.lost: str | None = None
        self.client = s3client.client(endpoint, access_key, secret_key, secure=secure,
                                      region=region, connect_timeout=connect_timeout,
                                      read_timeout=read_timeout, retries=retries,
                                      deadline=lambda: self.deadline)
        if create and not self._call(f"look up bucket '{bucket}'",
                                     lambda: self.client.bucket_exists(bucket)):
            self._call(f"create bucket '{bucket}'", lambda: self.client.make_bucket(bucket))

    def until(self, deadline: float | None) -> None:
        self.deadline = deadline

    def _call(self, what: str, action: Callable[[], T]) -> T:
        if self.lost is not None:
            raise StoreLost(self.lost)
        try:
            return s3client.call(action, where=self.where, bucket=self.bucket, what=what,
                                 hint="the run's --endpoint",
                                 plain="run without --secure")
        except s3client.S3Failure as exc:
            expired = self.deadline is not None and time.monotonic() >= self.deadline
            if not expired:
                self.lost = str(exc)
            raise StoreLost(str(exc), expired) from None

    def get(self, key: str) -> bytes | None:
        return self._call(f"read s3://{self.bucket}/{key}",
                          lambda: s3client.read_object(self.client, self.bucket, key))

    def put(self, key: str, data: bytes) -> None:
        self._call(f"write s3://{self.bucket}/{key}", lambda: self.client.put_object(
            self.bucket, key, io.BytesIO(data), len(data)))

    def list(self, prefix: str) -> list[str]:
        prefix = prefix if prefix.endswith("/") else prefix + "/"
        return self._call(f"list s3://{self.bucket}/{prefix}", lambda: sorted(
            o.object_name for o in self.client.list_objects(self.bucket, prefix=prefix,
                                                            recursive=True)
            if o.object_name))

    def describe(self) -> str:
        return f"s3://{self.bucket} at {self.endpoint}"
