"""hkube2argo graph: the DAG drawn from the plan, each HKube relation drawn its own way."""

from __future__ import annotations

import shutil

import pytest

from hkube2argo import picture
from hkube2argo.loading import Descriptor, Source
from hkube2argo.validate import plan_pipeline, validate_descriptor
from tests.conftest import EXAMPLES


def numbers():
    folder = EXAMPLES / "numbers"
    return plan_pipeline(folder / "numbers.yaml", [folder / "algorithms"])


def mixed():
    data = {"name": "mixed", "triggers": {"cron": {"pattern": "0 * * * *", "enabled": True},
                                          "pipelines": ["up\"stream"]},
            "nodes": [
                {"nodeName": "A", "algorithmName": "alg", "input": ["#[1...3]"]},
                {"nodeName": "B", "algorithmName": "alg", "input": ["*@A"]},
                {"nodeName": "C", "algorithmName": "alg", "input": ["@A", "@B"]},
                {"nodeName": "D", "algorithmName": "alg", "input": [1]}],
            "edges": [{"source": "C", "target": "D"}]}
    result = validate_descriptor(Descriptor(data, Source("m.yaml")))
    assert result.plan is not None
    return result.plan


def test_mermaid_numbers() -> None:
    text = picture.mermaid(numbers())
    assert text.startswith("flowchart LR\n")
    assert 'n1[["Multiply<br/>multiply · batch"]]' in text  # batch nodes: their own shape
    assert 'n0 == "#@" ==> n1' in text  # fan-out: a thick edge
    assert 'n1 -- "@" --> n2' in text  # fan-in
    assert "style n2 stroke-width:3px" in text  # result node


def test_every_relation_and_trigger_is_distinct() -> None:
    text = picture.mermaid(mixed())
    assert 'n0 -. "*@" .-> n1' in text
    assert "n2 -. order .-> n3" in text
    assert 'cron(["cron 0 * * * *"])' in text
    assert '{{"after pipeline up#quot;stream"}}' in text  # quotes escaped
    dot = picture.dot(mixed())
    assert "n0 -> n1 [label=\"*@\", style=dashed];" in dot
    assert "n2 -> n3 [label=\"order\", style=dotted];" in dot
    assert 'label="after up\\"stream"' in dot


def test_svg_needs_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(picture.NoGraphviz, match="apt-get install graphviz"):
        picture.svg(numbers())


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_svg_with_graphviz() -> None:
    svg = picture.svg(numbers())
    assert svg.lstrip().startswith("<?xml") and "Multiply" in svg
