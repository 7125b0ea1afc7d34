"""The Argo backend's object store: MinIO (or any S3 endpoint) through the ``minio`` client.

Results, algorithm code and the stored descriptors live in the chart's bucket, under the
compile's key prefix (``ClusterConfig.bucket``, ``ClusterConfig.key_prefix``):

==============================================  =========================================
``<prefix>/jobs/<jobId>/results.json``          a run's ``/exec/results`` document (written
                                                by the run's ``results`` step)
``<prefix>/jobs/<jobId>/pipeline.json``         the executed pipeline, when it is too big
                                                for the Workflow's annotation
``<prefix>/jobs/<jobId>/stop.json``             ``{reason, timestamp}`` of ``exec stop``
``<prefix>/store/pipelines/<name>.json``        a stored pipeline (HKube's defaults filled in)
``<prefix>/store/algorithms/<name>.json``       a stored algorithm (REST shape)
``<prefix>/algorithms/<name>/<sha>.tar.gz``     packed code, content-addressed (codepack)
==============================================  =========================================

Where the store is, from the environment (the names the chart's notes and the local
runner use):

- ``HKUBE2ARGO_S3_ENDPOINT``: ``host:port``, no scheme (e.g. ``localhost:9000`` after
  ``kubectl port-forward svc/<release>-minio 9000``);
- ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, or ``MINIO_ACCESS_KEY`` /
  ``MINIO_SECRET_KEY``: the chart's Secret ``hkube2argo-minio``, keys ``accesskey`` and
  ``secretkey`` (``ClusterConfig.minio_secret*``);
- ``HKUBE2ARGO_S3_SECURE``: ``true`` for an https endpoint; anything else is plain HTTP
  (the bundled MinIO runs without TLS, ``artifactRepository.insecure: true``);
- the bucket is ``ClusterConfig.bucket`` (the chart's ``minio.bucket``).

Every failure becomes one :class:`BackendError` line: endpoint unreachable, timeout,
credentials refused, bucket missing. Requests time out after 5 s connecting and 60 s
reading; urllib3 retries idempotent requests (GET, HEAD, PUT, DELETE of one object)
twice with backoff (``s3client``, shared with the local runner's S3 storage).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .. import s3client
from ..config import ClusterConfig
from .base import BackendError

ENDPOINT_ENV = "HKUBE2ARGO_S3_ENDPOINT"
SECURE_ENV = "HKUBE2ARGO_S3_SECURE"
ACCESS_ENVS = ("AWS_ACCESS_KEY_ID", "MINIO_ACCESS_KEY")
SECRET_ENVS = ("AWS_SECRET_ACCESS_KEY", "MINIO_SECRET_KEY")
MISSING = s3client.MISSING_CODES

T = TypeVar("T")


def _first(environ: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        if environ.get(name):
            return environ[name]
    return None


class ObjectStore:
    """Keys in one bucket; ``get`` of a missing key is None, every other problem a
    BackendError."""

    def __init__(self, endpoint: str, bucket: str, access_key: str, secret_key: str, *,
                 secure: bool = False, connect_timeout: float = 5.0,
                 read_timeout: float = 60.0, retries: int = 2, backoff: float = 0.2):
        if "://" in endpoint:
            raise BackendError(f"{ENDPOINT_ENV} is host:port without a scheme (got "
                               f"'{endpoint}'); set {SECURE_ENV}=true for https")
        self.endpoint = endpoint
        self.bucket = bucket
        self.secure = secure
        self.client = s3client.client(endpoint, access_key, secret_key, secure=secure,
                                      connect_timeout=connect_timeout,
                                      read_timeout=read_timeout, retries=retries,
                                      backoff=backoff)
        self._checked = False

    @classmethod
    def from_env(cls, config: ClusterConfig, environ: Mapping[str, str],
                 **options: Any) -> ObjectStore:
        endpoint = environ.get(ENDPOINT_ENV)
        access, secret = _first(environ, ACCESS_ENVS), _first(environ, SECRET_ENVS)
        if not endpoint:
            raise BackendError(f"MinIO is not configured: set {ENDPOINT_ENV}=host:port (and "
                               "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
        if not access or not secret:
            raise BackendError(f"MinIO at {endpoint} needs credentials: set "
                               "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or MINIO_ACCESS_KEY "
                               f"and MINIO_SECRET_KEY): keys {config.minio_access_key_key} and "
                               f"{config.minio_secret_key_key} of Secret {config.minio_secret}")
        secure = environ.get(SECURE_ENV, "").lower() == "true"
        return cls(endpoint, config.bucket, access, secret, secure=secure, **options)

    # --- describing problems ----------------------------------------------------------------

    @property
    def where(self) -> str:
        return f"MinIO at {'https' if self.secure else 'http'}://{self.endpoint}"

    def _call(self, what: str, action: Callable[[], T]) -> T:
        try:
            return s3client.call(action, where=self.where, bucket=self.bucket, what=what,
                                 hint=HINT, plain=f"unset {SECURE_ENV}")
        except s3client.S3Failure as exc:
            raise BackendError(str(exc)) from None

    def check(self) -> None:
        """Once per store: the bucket exists (a clear message instead of a NoSuchKey)."""
        if self._checked:
            return
        if not self._call(f"look up bucket '{self.bucket}'",
                          lambda: self.client.bucket_exists(self.bucket)):
            raise BackendError(f"bucket '{self.bucket}' does not exist at {self.where} "
                               "(the chart creates it: minio.bucket)")
        self._checked = True

    # --- operations -------------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        self.check()
        return self._call(f"read s3://{self.bucket}/{key}",
                          lambda: s3client.read_object(self.client, self.bucket, key))

    def get_json(self, key: str) -> Any:
        data = self.get(key)
        if data is None:
            return None
        try:
            return json.loads(data)
        except ValueError:
            raise BackendError(f"s3://{self.bucket}/{key} at {self.where} is not JSON") from None

    def exists(self, key: str) -> bool:
        from minio.error import S3Error

        self.check()

        def stat() -> bool:
            try:
                self.client.stat_object(self.bucket, key)
            except S3Error as exc:
                if exc.code in (*MISSING, "NoSuchObject", "ResourceNotFound"):
                    return False
                raise
            return True

        return self._call(f"look up s3://{self.bucket}/{key}", stat)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.check()
        self._call(f"write s3://{self.bucket}/{key}", lambda: self.client.put_object(
            self.bucket, key, io.BytesIO(data), len(data), content_type=content_type))

    def put_json(self, key: str, value: Any) -> None:
        self.put(key, json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8"),
                 "application/json")

    def delete(self, key: str) -> None:
        self.check()
        self._call(f"delete s3://{self.bucket}/{key}",
                   lambda: self.client.remove_object(self.bucket, key))

    def list(self, prefix: str) -> list[str]:
        """Keys under ``prefix/`` (recursive), sorted."""
        self.check()
        prefix = prefix if prefix.endswith("/") else prefix + "/"
        return self._call(f"list s3://{self.bucket}/{prefix}", lambda: sorted(
            o.object_name for o in self.client.list_objects(self.bucket, prefix=prefix,
                                                            recursive=True)
            if o.object_name))


HINT = f"{ENDPOINT_ENV}; with the chart: kubectl port-forward svc/<release>-minio 9000:9000"
