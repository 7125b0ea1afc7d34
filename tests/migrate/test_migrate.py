"""``hkube2argo migrate``: a whole HKube store into one Argo bundle and a report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hkube2argo import lint
from hkube2argo.cli import main
from tests.conftest import EXAMPLES

from .fake_hkube import FakeHKube
from .store import ALGORITHM_EXPECTED, ALGORITHMS, EXPECTED, PIPELINES, export


def migrate(*args: str | Path):
    return CliRunner().invoke(main, ["migrate", *map(str, args)])


@pytest.fixture(scope="module")
def from_api(tmp_path_factory: pytest.TempPathFactory):
    """The store served by a fake HKube API (with a token), migrated once."""
    out = tmp_path_factory.mktemp("bundle")
    with FakeHKube(PIPELINES, ALGORITHMS, token="s3cret") as fake:
        result = CliRunner().invoke(main, ["migrate", "--hkube-url", fake.url, "-o", str(out)],
                                    env={"HKUBE_TOKEN": "s3cret"})
        requests = list(fake.requests)
    return result, out, requests


def test_every_pipeline_and_algorithm_gets_its_verdict(from_api) -> None:
    result, out, requests = from_api
    assert result.exit_code == 1, result.output  # some are unsupported
    assert len(PIPELINES) >= 25 and len(ALGORITHMS) >= 10
    report = json.loads((out / "report.json").read_text())
    verdicts = {p["name"]: p for p in report["pipelines"]}
    assert set(verdicts) == set(EXPECTED)
    for name, (status, phrase) in EXPECTED.items():
        got = verdicts[name]
        assert got["status"] == status, (name, got)
        assert (phrase in " ".join(got["reasons"])) if phrase else got["reasons"] == [], \
            (name, got["reasons"])
    assert {a["name"]: a["status"] for a in report["algorithms"]} == ALGORITHM_EXPECTED
    assert report["totals"] == {s: sum(1 for v, _ in EXPECTED.values() if v == s)
                                for s in ("exact", "approximated", "unsupported")}
    # all 12 algorithms although the fake answers 10 to a list call without a limit
    assert any("limit=" in r for r in requests if "/store/algorithms" in r)
    assert "pipeline(s):" in result.stderr and "approximated" in result.stderr


def test_the_bundle_installs_with_kubectl_apply_k(from_api) -> None:
    _, out, _ = from_api
    kustomization = yaml.safe_load((out / "kustomization.yaml").read_text())
    assert kustomization["namespace"] == "pipelines"
    resources = kustomization["resources"]
    on_disk = sorted(str(p.relative_to(out)) for p in (out / "pipelines").rglob("*.yaml"))
    assert sorted(r for r in resources if r.startswith("pipelines/")) == on_disk
    assert not any(r.endswith(".workflow.yaml") for r in resources)  # runs are not installed
    documents = [d for r in resources for d in yaml.safe_load_all((out / r).read_text())]
    assert lint.lint([d for d in documents if d["kind"] != "ConfigMap"]) == []
    kinds = {d["kind"] for d in documents}
    # the Sensors listen to the chart's shared EventSource; one ConfigMap holds every key
    assert kinds == {"WorkflowTemplate", "CronWorkflow", "Sensor", "ConfigMap"}
    assert [d["kind"] for d in documents].count("ConfigMap") == 1
    exact = {n for n, (s, _) in EXPECTED.items() if s != "unsupported"}
    assert {d["metadata"]["name"] for d in documents
            if d["kind"] == "WorkflowTemplate"} == exact
    # every semaphore a template names has its key, with the stored amount
    semaphores = next(d for d in documents if d["kind"] == "ConfigMap")
    keys = {s["configMapKeyRef"]["key"] for d in documents if d["kind"] == "WorkflowTemplate"
            for s in (d["spec"].get("synchronization") or {}).get("semaphores", [])}
    assert set(semaphores["data"]) == keys
    assert semaphores["data"] == {"concurrent-queue": "3", "concurrent-reject": "2"}
    # the sub-minute cron runs once a minute instead
    cron = yaml.safe_load((out / "pipelines" / "cron-every-10s" /
                           "cron-every-10s.cronworkflow.yaml").read_text())
    assert cron["spec"]["schedules"] == ["* * * * *"]


def test_the_report_reads_for_people(from_api) -> None:
    _, out, _ = from_api
    text = (out / "report.md").read_text()
    totals = {s: sum(1 for v, _ in EXPECTED.values() if v == s)
              for s in ("exact", "approximated", "unsupported")}
    assert (f"**{len(EXPECTED)} pipeline(s): {totals['exact']} exact, "
            f"{totals['approximated']} approximated, {totals['unsupported']} unsupported.**"
            in text)
    assert "| uses-no-image | **unsupported** | no-image-alg |" in text
    assert "```mermaid" in text and "flowchart LR" in text
    lines = text.splitlines()
    ids = {ln.split('["')[1].rstrip('"]'): ln.split('["')[0].strip()
           for ln in lines if '["' in ln}
    assert f"  {ids['trigger-1']} --> {ids['trigger-2']}" in lines
    assert f"  {ids['deleted-parent']} --> {ids['orphan-child']}" in lines


def test_an_export_file_and_a_folder_give_the_api_s_report(from_api, tmp_path: Path) -> None:
    _, out, _ = from_api
    wanted = json.loads((out / "report.json").read_text())
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(export()))
    folder = tmp_path / "store"
    (folder / "pipelines").mkdir(parents=True)
    (folder / "algorithms").mkdir()
    for p in PIPELINES:
        (folder / "pipelines" / f"{p['name']}.yaml").write_text(yaml.safe_dump(p))
    for a in ALGORITHMS:
        (folder / "algorithms" / f"{a['name']}.json").write_text(json.dumps(a))
    for source in (exported, folder):
        target = tmp_path / f"bundle-{source.name}"
        assert migrate(source, "-o", target).exit_code == 1
        got = json.loads((target / "report.json").read_text())

        def same(report: dict) -> list:
            return [(p["name"], p["status"], len(p["reasons"])) for p in report["pipelines"]]

        assert same(got) == same(wanted)
        assert got["algorithms"] == wanted["algorithms"]
        assert (target / "kustomization.yaml").read_text() == \
            (out / "kustomization.yaml").read_text()


def test_the_bundle_is_made_anew_and_deterministic(tmp_path: Path) -> None:
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(export()))
    first, second = tmp_path / "one", tmp_path / "two"
    migrate(exported, "-o", first)
    migrate(exported, "-o", second)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)
    # a pipeline deleted from HKube disappears from the bundle on the next run
    smaller = export()
    smaller["pipelines"] = [p for p in smaller["pipelines"] if p["name"] != "simple"]
    exported.write_text(json.dumps(smaller))
    migrate(exported, "-o", first)
    assert not (first / "pipelines" / "simple").exists()
    # never over a folder that is not a bundle
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    refused = migrate(exported, "-o", stranger)
    assert refused.exit_code == 1 and "is not a bundle" in refused.stderr
    assert (stranger / "notes.txt").read_text() == "mine"


def test_a_code_store_migrates_and_its_bundle_runs_here(tmp_path: Path) -> None:
    """Code algorithms are packed into the bundle; running a pipeline with the bundle's
    algorithms gives its expected result, and its WorkflowTemplate is the one compile
    writes for the pipeline alone."""
    store = tmp_path / "store"
    shutil.copytree(EXAMPLES / "numbers" / "algorithms", store / "algorithms")
    (store / "pipelines").mkdir()
    shutil.copy(EXAMPLES / "numbers" / "numbers.yaml", store / "pipelines")
    out = tmp_path / "bundle"
    done = migrate(store, "-o", out)
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in (out / "algorithms" / "code").iterdir()) == [
        "multiply.tar.gz", "range.tar.gz", "reduce.tar.gz"]
    alone = CliRunner().invoke(main, ["compile", str(store / "pipelines" / "numbers.yaml"),
                                      "-a", str(store / "algorithms"), "--namespace",
                                      "pipelines", "-o", str(tmp_path / "alone")])
    assert alone.exit_code == 0, alone.output
    assert (out / "pipelines" / "numbers" / "numbers.workflowtemplate.yaml").read_text() == \
        (tmp_path / "alone" / "numbers.workflowtemplate.yaml").read_text()
    ran = CliRunner().invoke(main, ["run", str(store / "pipelines" / "numbers.yaml"), "-a",
                                    str(out / "algorithms"), "--state", str(tmp_path / "s")])
    assert ran.exit_code == 0, ran.output
    expected = json.loads((EXAMPLES / "numbers" / "expected.json").read_text())
    assert json.loads(ran.stdout)["data"] == expected


def test_an_unreachable_or_refusing_api_is_one_line(tmp_path: Path) -> None:
    with FakeHKube(PIPELINES, ALGORITHMS, token="s3cret") as fake:
        refused = CliRunner().invoke(main, ["migrate", "--hkube-url", fake.url, "-o",
                                            str(tmp_path / "b")], env={"HKUBE_TOKEN": "wrong"})
        url = fake.url
    assert refused.exit_code == 1
    assert refused.stderr.splitlines() == [
        f"hkube2argo migrate: HKube at {url} refused the request (401): give a valid token "
        "with --hkube-token (or HKUBE_TOKEN)"]
    gone = migrate("--hkube-url", url, "-o", tmp_path / "b")  # the server has stopped
    assert gone.exit_code == 1
    assert len(gone.stderr.splitlines()) == 1
    assert gone.stderr.startswith(f"hkube2argo migrate: cannot reach HKube at {url}: ")
    assert not (tmp_path / "b").exists()
    assert "give SOURCE" in migrate("-o", tmp_path / "b").output


def test_argo_s_own_validation_accepts_the_bundle(from_api, argocheck: Path) -> None:
    """What `kubectl apply -k` would install passes Argo's own checks (its full CRDs,
    workflow/validate with the templates the bundle holds, Argo Events)."""
    from hkube2argo.lint import argo

    _, out, _ = from_api
    resources = yaml.safe_load((out / "kustomization.yaml").read_text())["resources"]
    report = argo.check_files([out / r for r in resources], binary=argocheck)
    assert report.problems == [], "\n".join(map(str, report.problems))
    documents = sum(1 for r in resources for d in yaml.safe_load_all((out / r).read_text())
                    if d)
    assert len(report.objects) == documents  # every object was read (the ConfigMap passed)
