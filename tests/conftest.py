"""Shared test fixtures: where the repository's examples and corpora are."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CORPUS = Path(__file__).resolve().parent / "corpus"


@pytest.fixture
def in_repo_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from the repository root, where relative example paths (and the plan's
    code paths) are what the golden files expect."""
    monkeypatch.chdir(ROOT)
    return ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_port() -> Iterator[int]:
    """An S3 endpoint on 127.0.0.1: moto's server, started once for the test session
    (tests reach it with the real ``minio`` client, each in its own bucket)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
                break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("moto_server did not start")
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def argocheck() -> Path:
    """The argocheck binary (tools/argocheck: Argo's own validation). With go on PATH it is
    (re)built when missing or older than its sources: seconds once Go's caches are warm, and the
    modules must be in the module cache already (no network in tests). Without go, the binary
    hkube2argo would find is used, else the test skips."""
    import os
    import shutil

    from hkube2argo.lint import argo

    if os.environ.get(argo.ENV):
        return argo.find()
    go = shutil.which("go")
    source = argo.SOURCE
    if go and (source / "go.mod").is_file():
        inputs = [*source.rglob("*.go"), source / "go.mod", source / "go.sum"]
        newest = max(p.stat().st_mtime for p in inputs)
        if not argo.BUILT.is_file() or argo.BUILT.stat().st_mtime < newest:
            # tests never use the network: the modules come from .ci/run's download
            env = {**os.environ, "GOPROXY": "off"}
            proc = subprocess.run([go, "build", "-o", "bin/argocheck", "."], cwd=source,
                                  env=env, capture_output=True, text=True, timeout=3600,
                                  check=False)
            if proc.returncode != 0 and "module lookup disabled" in proc.stderr:
                pytest.skip("the Go modules of tools/argocheck are not downloaded (tests do "
                            f"not use the network): run (cd {source} && go mod download)")
            if proc.returncode != 0:
                pytest.fail(f"go build in {source} failed:\n{proc.stderr[-3000:]}")
        return argo.BUILT
    try:
        return argo.find()
    except argo.ArgoCheckUnavailable as exc:
        pytest.skip(f"go is not on PATH and no argocheck binary is built: {exc}")
