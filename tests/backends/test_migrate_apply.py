"""``migrate --apply`` against the fake Argo Server and moto: the bundle is stored once;
a second run changes nothing and says so."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from hkube2argo.cli import main
from tests.migrate.store import ALGORITHMS, PIPELINES

from .conftest import EXAMPLES
from .fake_argo import FakeArgo

KEEP = ("simple", "cron-every-10s", "flowinput-at-run-time", "streaming", "uses-no-image")


def _store(tmp_path: Path) -> Path:
    """Code algorithms (numbers) beside image ones and a few stored pipelines of the
    migrate corpus: exact, approximated, unsupported."""
    store = tmp_path / "store"
    shutil.copytree(EXAMPLES / "numbers" / "algorithms", store / "algorithms")
    (store / "pipelines").mkdir()
    shutil.copy(EXAMPLES / "numbers" / "numbers.yaml", store / "pipelines")
    for pipeline in PIPELINES:
        if pipeline["name"] in KEEP:
            (store / "pipelines" / f"{pipeline['name']}.json").write_text(json.dumps(pipeline))
    for algorithm in ALGORITHMS:
        if algorithm["name"] in ("green-alg", "yellow-alg", "black-alg", "no-image-alg"):
            (store / "algorithms" / f"{algorithm['name']}.json").write_text(
                json.dumps(algorithm))
    return store


def test_apply_stores_the_bundle_once(fake: FakeArgo, env: dict[str, str], bucket: str,
                                      tmp_path: Path) -> None:
    store = _store(tmp_path)
    args = ["migrate", str(store), "-o", str(tmp_path / "bundle"), "--apply", "--bucket",
            bucket]
    first = CliRunner().invoke(main, args, env=env)
    assert first.exit_code == 1, first.output  # streaming and uses-no-image are unsupported
    lines = first.stderr.splitlines()
    for name in ("range", "multiply", "reduce", "green-alg", "yellow-alg", "black-alg"):
        assert f"algorithm {name}: created" in lines
    for name in ("numbers", "simple", "cron-every-10s", "flowinput-at-run-time"):
        assert f"pipeline {name}: created" in lines
    assert not any("streaming" in ln or "uses-no-image:" in ln for ln in lines
                   if ln.startswith("pipeline "))
    assert "applied: 10 created, 0 updated, 0 unchanged" in lines
    templates = set(fake.objects["workflow-templates"])
    assert templates == {"numbers", "simple", "cron-every-10s", "flowinput-at-run-time"}
    cron = fake.objects["cron-workflows"]["cron-every-10s"]
    assert cron["spec"]["schedules"] == ["* * * * *"]  # eased to Argo's once a minute

    again = CliRunner().invoke(main, args, env=env)
    assert again.exit_code == 1
    assert "nothing changed: the store already holds all 10 of the bundle's algorithms " \
           "and pipelines" in again.stderr.splitlines()

    changed = store / "pipelines" / "simple.json"
    changed.write_text(changed.read_text().replace('"priority": 3', '"priority": 2'))
    third = CliRunner().invoke(main, args, env=env)
    assert "pipeline simple: updated" in third.stderr.splitlines()
    assert "applied: 0 created, 1 updated, 9 unchanged" in third.stderr.splitlines()
