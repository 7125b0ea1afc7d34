"""Runs against an S3 endpoint (moto's server): the data lands under the same keys as on
Argo, readable with the real ``minio`` client; a bad endpoint is a clear one-line error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import minio
import pytest

from hkube2argo.runner.run import RunError, StorageSpec
from tests.conftest import free_port

from .conftest import (
    EXAMPLES,
    NUMBERS_ALGORITHMS,
    SHARED_ALGORITHMS,
    describe,
    expected_data,
    run_pipeline,
)

BUCKET = "h2a-test"
ACCESS, SECRET = "h2a-access", "h2a-secret"






@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)


def client(port: int) -> minio.Minio:
    return minio.Minio(f"127.0.0.1:{port}", access_key=ACCESS, secret_key=SECRET, secure=False)


def keys(port: int, prefix: str) -> list[str]:
    return sorted(o.object_name for o in client(port).list_objects(BUCKET, prefix=prefix,
                                                                    recursive=True))


CASES = [
    ("numbers", EXAMPLES / "numbers" / "numbers.yaml", NUMBERS_ALGORITHMS),
    ("batch-on-batch", EXAMPLES / "batch-on-batch" / "pipeline.yaml", SHARED_ALGORITHMS),
    ("wait-any-two", EXAMPLES / "wait-any-two" / "pipeline.yaml", SHARED_ALGORITHMS),
    ("raw-batch", EXAMPLES / "raw-batch" / "pipeline.yaml", SHARED_ALGORITHMS),
]


@pytest.mark.parametrize(("name", "pipeline", "algorithms"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.usefixtures("s3_env")
def test_example_on_s3(tmp_path: Path, s3_port: int, name: str, pipeline: Path,
                       algorithms: Path) -> None:
    storage = StorageSpec(bucket=BUCKET, endpoint=f"127.0.0.1:{s3_port}")
    result = run_pipeline(tmp_path, pipeline, [algorithms], storage=storage)
    assert result.status == "completed", describe(result)
    assert result.document["data"] == expected_data(pipeline)

    prefix = f"hkube2argo/jobs/{result.job_id}/"
    stored = keys(s3_port, prefix)
    assert f"{prefix}results.json" in stored
    assert f"{prefix}flowInput.json" in stored
    assert any(k.startswith(f"{prefix}inbox/") for k in stored), stored
    response = client(s3_port).get_object(BUCKET, f"{prefix}results.json")
    try:
        assert json.loads(response.read())["data"] == expected_data(pipeline)
    finally:
        response.close()
        response.release_conn()

    code = keys(s3_port, "hkube2argo/algorithms/")
    for algorithm in sorted({p.stem for p in algorithms.glob("*.yaml")}
                            & set(pipeline.read_text(encoding="utf-8").split())):
        assert any(k.startswith(f"hkube2argo/algorithms/{algorithm}/")
                   and k.endswith(".tar.gz") for k in code), (algorithm, code)
    # nothing was written to the local storage folder
    assert not (tmp_path / "storage").exists()


def test_unreachable_endpoint(tmp_path: Path, s3_env: None) -> None:
    """A clear RunError from the library, one line and a non-zero exit from the CLI (both
    run at once: the S3 client retries for a few seconds before giving up)."""
    numbers = EXAMPLES / "numbers" / "numbers.yaml"
    cli = subprocess.Popen(
        [sys.executable, "-m", "hkube2argo", "run", str(numbers), "-a", str(NUMBERS_ALGORITHMS),
         "--storage", f"s3://{BUCKET}", "--endpoint", f"127.0.0.1:{free_port()}",
         "--state", str(tmp_path / "cli"), "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        storage = StorageSpec(bucket=BUCKET, endpoint=f"127.0.0.1:{free_port()}")
        with pytest.raises(RunError) as info:
            run_pipeline(tmp_path / "lib", numbers, [NUMBERS_ALGORITHMS], storage=storage)
        message = str(info.value)
        assert "127.0.0.1" in message
        assert "\n" not in message and "Traceback" not in message
        stdout, stderr = cli.communicate(timeout=60)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    assert cli.returncode != 0
    assert stdout == ""
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert stderr.startswith("hkube2argo run: ")
