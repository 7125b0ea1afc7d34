"""Past 150 algorithm templates, algorithms share templates (Argo v4 allows 200 per spec):
each task names its code (or image) and its pod settings. Same results as one template per
algorithm; every manifest still strictly valid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hkube2argo import lint
from hkube2argo.compiler import compile_manifests
from hkube2argo.emit import templates
from hkube2argo.loading import Descriptor, Source
from hkube2argo.runner.run import Runner, StorageSpec
from hkube2argo.validate import load_algorithms, validate_descriptor
from tests.conftest import EXAMPLES


def many_algorithms(folder: Path, count: int) -> Path:
    """``count`` algorithms sharing one code folder; each sets an env variable."""
    code = folder / "code"
    code.mkdir(parents=True)
    (code / "main.py").write_text(
        "import os\n\ndef start(args):\n    return [os.environ['WHO'], args['input'][0]]\n")
    for i in range(count):
        (folder / f"a{i}.yaml").write_text(
            f"name: alg-{i}\nenv: python\ncode: {{path: code, entryPoint: main.py}}\n"
            f"mem: {64 + i}Mi\nalgorithmEnv: {{WHO: alg-{i}}}\n")
    return folder


def pipeline(count: int) -> dict:
    return {"name": f"many-{count}", "nodes": [
        {"nodeName": f"N{i}", "algorithmName": f"alg-{i}", "input": [i]} for i in range(count)]}


def test_three_hundred_algorithms_fit_argo(tmp_path: Path) -> None:
    catalog = load_algorithms([many_algorithms(tmp_path, 300)])
    plan = validate_descriptor(Descriptor(pipeline(300), Source("m.yaml")), catalog).plan
    manifests = compile_manifests(plan)
    spec = manifests.workflow_template["spec"]
    assert len(spec["templates"]) <= 200
    assert lint.lint(manifests.documents()) == []
    task = next(t for part in spec["templates"] if "dag" in part
                for t in part["dag"]["tasks"] if t["name"] == "N7")
    args = {p["name"]: p["value"] for p in task["arguments"]["parameters"]}
    patch = json.loads(args["patch"])
    assert patch["containers"][0]["env"] == [{"name": "WHO", "value": "alg-7"}]
    assert patch["containers"][0]["resources"]["requests"]["memory"] == "71Mi"
    assert args["code"].startswith("hkube2argo/algorithms/alg-7/")


def test_shared_templates_run_like_separate_ones(tmp_path: Path, monkeypatch) -> None:
    algorithms = many_algorithms(tmp_path / "algs", 3)
    path = tmp_path / "p.json"
    path.write_text(json.dumps(pipeline(3)))
    separate = Runner(tmp_path / "s1", workers=2).start(path, [algorithms], StorageSpec())
    monkeypatch.setattr(templates, "SHARED_THRESHOLD", 0)
    shared = Runner(tmp_path / "s2", workers=2).start(path, [algorithms], StorageSpec())
    assert "alg-shared-code" in (shared.folder / "workflow.yaml").read_text()
    assert separate.document["data"] == shared.document["data"]
    assert [e["result"] for e in shared.document["data"]] == [["alg-0", 0], ["alg-1", 1],
                                                              ["alg-2", 2]]


@pytest.mark.parametrize("example", ["numbers"])
def test_numbers_in_shared_mode(example: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(templates, "SHARED_THRESHOLD", 0)
    folder = EXAMPLES / example
    result = Runner(tmp_path, workers=2).start(folder / f"{example}.yaml",
                                               [folder / "algorithms"], StorageSpec())
    assert result.document["data"][0]["result"] == 20  # Python and Node.js shared templates
