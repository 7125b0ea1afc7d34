"""Pipelines larger than one Argo DAG (200 tasks) are cut into parts; the parts carry loop
sizes between them as outputs. Checked on a real 1,000-node compile (strict lint) and, with
a small part size, by running the compiled parts locally."""

from __future__ import annotations

import json

import pytest

from hkube2argo import lint
from hkube2argo.compiler import compile_manifests
from hkube2argo.emit import dag
from hkube2argo.loading import Descriptor, Source
from hkube2argo.runner.run import Runner, StorageSpec
from hkube2argo.validate import load_algorithms, validate_descriptor
from tests.conftest import EXAMPLES


def chain(n: int) -> dict:
    nodes = [{"nodeName": "N0", "algorithmName": "split", "input": ["@flowInput.n"]}]
    nodes += [{"nodeName": f"N{i}", "algorithmName": "double", "input": [f"#@N{i - 1}"]}
              for i in range(1, n)]
    return {"name": f"chain-{n}", "nodes": nodes, "flowInput": {"n": 3}}


def plan_of(data: dict):
    catalog = load_algorithms([EXAMPLES / "algorithms"])
    result = validate_descriptor(Descriptor(data, Source("mem.yaml")), catalog)
    assert result.plan is not None, [str(d) for d in result.errors]
    return result.plan


def test_thousand_nodes_compile_into_valid_parts() -> None:
    manifests = compile_manifests(plan_of(chain(1000)))
    spec = manifests.workflow_template["spec"]
    entry = next(t for t in spec["templates"] if t["name"] == dag.ENTRY)
    parts = [t for t in spec["templates"] if t["name"].startswith("part-")]
    assert len(entry["dag"]["tasks"]) == len(parts) > 1
    assert all(len(t["dag"]["tasks"]) <= dag.MAX_TASKS for t in spec["templates"] if "dag" in t)
    assert len(spec["templates"]) <= 200
    assert lint.lint(manifests.documents()) == []
    # a loop size made in one part and used in another crosses as a part output
    later = parts[1]
    assert later["inputs"]["parameters"]
    assert parts[0]["outputs"]["parameters"][0]["valueFrom"]["parameter"].startswith("{{tasks.")


def test_parts_run_like_one_dag(tmp_path, monkeypatch: pytest.MonkeyPatch, in_repo_root) -> None:
    data = chain(6)
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(data))
    whole = Runner(tmp_path / "whole", workers=2).start(
        path, [EXAMPLES / "algorithms"], StorageSpec())
    monkeypatch.setattr(dag, "MAX_TASKS", 4)
    parted = Runner(tmp_path / "parted", workers=2).start(
        path, [EXAMPLES / "algorithms"], StorageSpec())
    workflow = (parted.folder / "workflow.yaml").read_text()
    assert "part-2" in workflow
    assert whole.status == parted.status == "completed"
    assert parted.document["data"] == whole.document["data"]
    assert [e["result"] for e in whole.document["data"]] == [0, 32, 64]


def test_a_pipeline_too_large_for_argo_is_refused_in_words(monkeypatch) -> None:
    from hkube2argo import compiler
    from hkube2argo.diagnostics import ValidationFailed

    monkeypatch.setattr(compiler, "OBJECT_LIMIT", 20 * 1024)  # as if 1 MiB were this
    compile_manifests(plan_of(chain(5)))  # small enough
    with pytest.raises(ValidationFailed) as caught:
        compile_manifests(plan_of(chain(100)))
    (error,) = caught.value.errors
    assert error.message.startswith("the compiled Workflow is ")
    assert "at most 20 KiB: split the pipeline" in error.message
