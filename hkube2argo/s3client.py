"""The ``minio`` client as every part of hkube2argo uses it (the Argo backend's object
store, the local runner's S3 storage): every request has a timeout and a bounded retry,
and every failure becomes one line.

The client's own defaults would wait 5 minutes per read and retry 5 times; a frozen
server then holds a caller for half an hour. Here a request times out after
``connect_timeout`` connecting and ``read_timeout`` between bytes, and urllib3 retries it
``retries`` times with backoff (idempotent requests, and 500/502/503/504 answers). An
optional ``deadline`` (a callable giving a ``time.monotonic()`` instant, or None) bounds
it all: no request waits past it, and no retry starts after it (the local runner passes
the pipeline's ttl).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

import urllib3

MISSING_CODES = ("NoSuchKey", "NoSuchObject")
REFUSED = ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch")

T = TypeVar("T")
Deadline = Callable[[], "float | None"]


class S3Failure(Exception):
    """One line: what could not be done, where, and why."""


class _Retry(urllib3.Retry):
    """urllib3's retry, given up once the deadline has passed."""

    deadline: Deadline | None = None

    def new(self, **kw: Any) -> _Retry:
        fresh = super().new(**kw)
        fresh.deadline = self.deadline
        return fresh

    def increment(self, *args: Any, **kwargs: Any) -> urllib3.Retry:
        limit = self.deadline() if self.deadline is not None else None
        if limit is not None and time.monotonic() >= limit:
            return urllib3.Retry.increment(self.new(total=0), *args, **kwargs)  # raises
        return super().increment(*args, **kwargs)


class _Pool(urllib3.PoolManager):
    """Requests whose timeouts never reach past the deadline."""

    def __init__(self, connect: float, read: float, deadline: Deadline | None,
                 **kw: Any):
        super().__init__(timeout=urllib3.Timeout(connect=connect, read=read), **kw)
        self.limits = (connect, read)
        self.deadline = deadline

    def urlopen(self, method: str, url: str, redirect: bool = True,
                **kw: Any) -> urllib3.BaseHTTPResponse:
        limit = self.deadline() if self.deadline is not None else None
        if limit is not None:
            left = max(limit - time.monotonic(), 0.01)
            connect, read = self.limits
            kw["timeout"] = urllib3.Timeout(connect=min(connect, left), read=min(read, left))
        return super().urlopen(method, url, redirect=redirect, **kw)


def client(endpoint: str, access_key: str, secret_key: str, *, secure: bool = False,
           region: str | None = None, connect_timeout: float = 5.0,
           read_timeout: float = 60.0, retries: int = 2, backoff: float = 0.2,
           deadline: Deadline | None = None) -> Any:
    """A ``minio.Minio`` with the timeouts, retries and deadline above."""
    from minio import Minio

    tls: dict[str, Any] = {}
    if secure:  # the CA bundle the minio client itself would use
        import certifi

        tls = {"cert_reqs": "CERT_REQUIRED",
               "ca_certs": os.environ.get("SSL_CERT_FILE") or certifi.where()}
    retry = _Retry(total=retries, backoff_factor=backoff,
                   status_forcelist=[500, 502, 503, 504])
    retry.deadline = deadline
    http = _Pool(connect_timeout, read_timeout, deadline, retries=retry, maxsize=10, **tls)
    return Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure,
                 region=region, http_client=http)


def read_object(s3: Any, bucket: str, key: str) -> bytes | None:
    """One object's bytes; None when there is no such key."""
    from minio.error import S3Error

    try:
        response = s3.get_object(bucket, key)
    except S3Error as exc:
        if exc.code in MISSING_CODES:
            return None
        raise
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


def call(action: Callable[[], T], *, where: str, bucket: str, what: str, hint: str,
         plain: str = "") -> T:
    """``action()``, its failures as :class:`S3Failure` naming ``where`` (the endpoint,
    e.g. "MinIO at http://host:9000") and ``what`` was tried; ``hint`` says where the
    endpoint is configured, ``plain`` how to use plain HTTP instead of TLS."""
    from minio.error import InvalidResponseError, S3Error, ServerError

    try:
        return action()
    except S3Error as exc:
        if exc.code == "NoSuchBucket":
            raise S3Failure(f"bucket '{bucket}' does not exist at {where} "
                            "(the chart creates it: minio.bucket)") from None
        if exc.code in REFUSED:
            raise S3Failure(f"{where} refused the credentials ({exc.code}) while trying to "
                            f"{what}: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") \
                from None
        raise S3Failure(f"{where}: cannot {what}: {exc.code}: {exc.message}") from None
    except (ServerError, InvalidResponseError) as exc:
        raise S3Failure(f"{where}: cannot {what}: {exc}") from None
    except urllib3.exceptions.MaxRetryError as exc:
        raise S3Failure(unreachable(where, exc.reason, hint, plain)) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise S3Failure(unreachable(where, exc, hint, plain)) from None


def unreachable(where: str, reason: Any, hint: str, plain: str = "") -> str:
    # NewConnectionError subclasses ConnectTimeoutError in urllib3: test it first
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return f"{where} is unreachable ({hint})"
    if isinstance(reason, urllib3.exceptions.TimeoutError):
        return f"{where} did not answer in time ({hint})"
    if isinstance(reason, urllib3.exceptions.SSLError):
        return f"TLS with {where} failed: {reason} (plain HTTP: {plain or hint})"
    return f"{where} is unreachable ({hint})"
