"""The local runner places input artifacts exactly as Argo's executor and the kubelet do
(``runner/driver.py``; docs/argo-fidelity.md items 1 and 2), and the code packs and the
wrapper work with what Argo places."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from hkube2argo import codepack
from hkube2argo.runner import driver
from hkube2argo.runner.store import LocalStore
from hkube2argo.runtime import io as rio
from tests.conftest import EXAMPLES


def _tgz(files: dict[str, bytes], gz: bool = True) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue()) if gz else raw.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "storage", "bucket")


def load(store: LocalStore, tmp_path: Path, key: str, **extra) -> Path:
    dest = tmp_path / "pod" / "tmp" / "h2a" / "art"
    driver.load_input({"name": "art", "path": "/tmp/h2a/art", "s3": {"key": key}, **extra},
                      dest, store)
    return dest


# --- item 1: a missing optional input ---------------------------------------------------


def test_missing_optional_input_with_a_key_is_an_empty_folder(store, tmp_path) -> None:
    dest = load(store, tmp_path, "jobs/none/results.json", optional=True)
    assert dest.is_dir() and list(dest.iterdir()) == []


def test_missing_required_input_fails_like_the_init_container(store, tmp_path) -> None:
    with pytest.raises(driver.ArtifactMissing, match="no object or prefix"):
        load(store, tmp_path, "jobs/none/results.json")


def test_optional_input_without_a_location_is_not_mounted(store, tmp_path) -> None:
    dest = tmp_path / "x"
    driver.load_input({"name": "a", "path": "/tmp/h2a/x", "optional": True}, dest, store)
    assert not dest.exists()


@pytest.mark.parametrize("make", [lambda p: p.mkdir(), lambda p: p.write_text(""),
                                  lambda p: None])
def test_read_optional_treats_folder_empty_file_and_nothing_as_absent(tmp_path, make) -> None:
    path = tmp_path / "results.json"
    make(path)
    assert rio.read_optional(str(path)) is None


# --- item 2: unpacking ------------------------------------------------------------------


def test_one_file_archive_becomes_the_artifact_path_itself(store, tmp_path) -> None:
    store.put("k", _tgz({"double.py": b"x = 1\n"}))
    dest = load(store, tmp_path, "k")
    assert dest.is_file() and dest.read_bytes() == b"x = 1\n"


def test_archive_of_one_folder_loses_that_folder(store, tmp_path) -> None:
    store.put("k", _tgz({"alg/main.py": b"1", "alg/lib/util.py": b"2"}))
    dest = load(store, tmp_path, "k")
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) \
        == ["lib/util.py", "main.py"]


def test_archive_of_several_entries_is_the_folder(store, tmp_path) -> None:
    store.put("k", _tgz({"a.py": b"1", "b.py": b"2"}))
    dest = load(store, tmp_path, "k")
    assert sorted(p.name for p in dest.iterdir()) == ["a.py", "b.py"]
    assert not dest.with_name("art.tmpdir").exists()


def test_only_a_gzipped_tar_is_detected(store, tmp_path) -> None:
    plain = _tgz({"a.py": b"1"}, gz=False)
    store.put("k", plain)
    assert load(store, tmp_path, "k").read_bytes() == plain  # isTarball needs gzip


def test_archive_none_keeps_a_tarball_as_a_file(store, tmp_path) -> None:
    data = _tgz({"a.py": b"1"})
    store.put("k", data)
    assert load(store, tmp_path, "k", archive={"none": {}}).read_bytes() == data


def test_explicit_zip_is_unpacked_by_the_same_rule(store, tmp_path) -> None:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        archive.writestr("only.txt", "z")
    store.put("k", raw.getvalue())
    dest = load(store, tmp_path, "k", archive={"zip": {}})
    assert dest.is_file() and dest.read_text() == "z"


def test_dot_slash_entry_is_refused_as_argo_refuses_it(store, tmp_path) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("./")
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    store.put("k", gzip.compress(raw.getvalue()))
    with pytest.raises(driver.ArtifactMissing, match="illegal file path"):
        load(store, tmp_path, "k")


def test_a_prefix_is_placed_as_a_folder_even_with_one_object(store, tmp_path) -> None:
    store.put("inbox/t/shared/r0.json", json.dumps({"status": "succeed"}).encode())
    dest = load(store, tmp_path, "inbox/t/shared", optional=True)
    assert (dest / "r0.json").is_file()


@pytest.mark.parametrize("files", [{"double.py": "def start(args): pass\n"},
                                   {"alg/main.py": "1", "alg/util.py": "2"}])
def test_packed_code_arrives_as_the_code_folder(store, tmp_path, files) -> None:
    source = tmp_path / "src"
    for name, text in files.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(text)
    store.put("code.tar.gz", codepack.pack(source))
    dest = load(store, tmp_path, "code.tar.gz")
    assert dest.is_dir()
    assert {p.relative_to(dest).as_posix(): p.read_text() for p in dest.rglob("*")
            if p.is_file()} == files


def test_example_single_file_algorithm_is_a_folder(store, tmp_path) -> None:
    store.put("c", codepack.pack(EXAMPLES / "algorithms" / "double"))
    assert (load(store, tmp_path, "c") / "double.py").is_file()


def test_codepack_unpack_matches_what_the_pod_sees(tmp_path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "double.py").write_text("x")
    codepack.unpack(codepack.pack(source), tmp_path / "unpacked")
    assert (tmp_path / "unpacked" / "double.py").read_text() == "x"


def test_repacking_a_pack_gives_the_same_pack(tmp_path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "range.py").write_text("x")
    packed = codepack.pack(source)
    (tmp_path / "range.tar.gz").write_bytes(packed)
    assert codepack.pack(tmp_path / "range.tar.gz") == packed
