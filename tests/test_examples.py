"""Every example validates, and its plan matches the golden file byte for byte."""

from __future__ import annotations

import json

import pytest

from hkube2argo import lint
from tests.golden import Example, examples, render_manifests, render_plan

EXAMPLES = examples()


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_plan_matches_golden(example: Example, in_repo_root) -> None:
    golden = example.golden_plan
    assert golden.is_file(), "no golden plan: run 'python -m tests.golden' on purpose"
    assert render_plan(example) == golden.read_text(encoding="utf-8"), \
        "plan changed: if intended, regenerate with 'python -m tests.golden' and review the diff"


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_plan_is_deterministic(example: Example, in_repo_root) -> None:
    assert render_plan(example) == render_plan(example)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_expected_results_name_result_nodes(example: Example, in_repo_root) -> None:
    """expected.json (HKube's /exec/results data) lists exactly the plan's result nodes."""
    plan = json.loads(render_plan(example))
    expected = json.loads(example.expected.read_text(encoding="utf-8"))
    named = list(dict.fromkeys(entry["nodeName"] for entry in expected))
    assert named == plan["results"]


def test_numbers_plan_shape(in_repo_root) -> None:
    plan = json.loads(render_plan(EXAMPLES[0]))
    assert [n["name"] for n in plan["nodes"]] == ["Range", "Multiply", "Reduce"]
    multiply = plan["nodes"][1]
    assert multiply["batch"] == {"operation": "indexed", "sources": [[0]]}
    assert multiply["parents"] == [{"node": "Range", "relations": ["waitBatch"]}]
    assert plan["results"] == ["Reduce"]
    assert {a["name"]: a["env"] for a in plan["algorithms"]} == {
        "multiply": "python", "range": "python", "reduce": "nodejs"}
    assert plan["options"]["ttl"] == 3600


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_manifests_match_golden(example: Example, in_repo_root) -> None:
    for name, text in render_manifests(example).items():
        golden = example.golden / name
        assert golden.is_file(), f"no golden {name}: run 'python -m tests.golden' on purpose"
        assert text == golden.read_text(encoding="utf-8"), \
            f"{name} changed: if intended, regenerate with 'python -m tests.golden'"


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_golden_manifests_pass_strict_lint(example: Example) -> None:
    import yaml

    for path in sorted(example.golden.glob("*.yaml")):
        docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        assert lint.lint(docs) == [], path
