"""Fixtures of the Argo backend's contract tests: the fake Argo Server (``fake_argo``) and
an S3 endpoint (moto's server on 127.0.0.1) reached with the real ``minio`` client."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import minio
import pytest
import yaml

from hkube2argo.backends.argo import ArgoBackend
from hkube2argo.config import ClusterConfig

from .fake_argo import TOKEN, FakeArgo, serve

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
ACCESS, SECRET = "h2a-access", "h2a-secret"
NAMESPACE = "pipelines"
_buckets = itertools.count(1)






def s3_client(port: int) -> minio.Minio:
    return minio.Minio(f"127.0.0.1:{port}", access_key=ACCESS, secret_key=SECRET, secure=False)


@pytest.fixture
def bucket(s3_port: int) -> str:
    """A fresh bucket per test, so tests never see each other's objects."""
    name = f"h2a-contract-{next(_buckets)}"
    s3_client(s3_port).make_bucket(name)
    return name


@pytest.fixture
def fake() -> Iterator[FakeArgo]:
    server = FakeArgo(namespace=NAMESPACE)
    with serve(server):
        yield server
    assert server.violations == [], server.violations


@pytest.fixture
def env(fake: FakeArgo, s3_port: int) -> dict[str, str]:
    """What a user on the chart exports (NOTES.txt), pointed at the fakes."""
    return {
        "ARGO_SERVER": f"127.0.0.1:{fake.port}",
        "ARGO_SECURE": "false",
        "ARGO_HTTP1": "true",
        "ARGO_TOKEN": TOKEN,
        "ARGO_NAMESPACE": NAMESPACE,
        "HKUBE2ARGO_S3_ENDPOINT": f"127.0.0.1:{s3_port}",
        "AWS_ACCESS_KEY_ID": ACCESS,
        "AWS_SECRET_ACCESS_KEY": SECRET,
    }


@pytest.fixture
def make_backend(env: dict[str, str], bucket: str) -> Callable[..., ArgoBackend]:
    def make(config: ClusterConfig | None = None, timeout: float = 5.0,
             **changes: str | None) -> ArgoBackend:
        environ = {**env, **changes}
        environ = {k: v for k, v in environ.items() if v is not None}
        return ArgoBackend.from_env(config or ClusterConfig(bucket=bucket), environ,
                                    timeout=timeout, backoff=0.01)

    return make


@pytest.fixture
def backend(make_backend: Callable[..., ArgoBackend]) -> ArgoBackend:
    return make_backend()


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def apply_all(backend: ArgoBackend, folder: Path, names: list[str]) -> None:
    for name in names:
        path = folder / f"{name}.yaml"
        backend.apply_algorithm(load(path), str(path))


@pytest.fixture
def numbers(backend: ArgoBackend) -> dict[str, Any]:
    """The numbers algorithms applied; the pipeline descriptor."""
    apply_all(backend, EXAMPLES / "numbers" / "algorithms", ["range", "multiply", "reduce"])
    return load(EXAMPLES / "numbers" / "numbers.yaml")
