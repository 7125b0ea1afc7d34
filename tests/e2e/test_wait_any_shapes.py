"""Wait-any (``*@``) shapes HKube runs that once crashed the compiler or were refused as
"cannot run this shape yet" (issue 12 A), run end to end.

What HKube does, from its DAG (``DAG.hkube lib/dag/dag.js``, hkube-reference 4.2): when
an item i of a parent finishes, a child whose edge from it is only wait-any runs item i
(``_checkChildNode`` -> ``_analyzeResults(target, i)``) once its other wait-any parents'
item i and all of its ``@`` parents are done; a child whose edge is wait-any *and* ``@``
(``["*@A", "@A"]``) waits until all of its parents are done, then runs once per batch
index found in its wait-any parents (``_analyzeResults(target, null)`` groups the items by
``batchIndex``), each run with the whole results and its items. A wait-any node's runs
reuse the parent item's ``batchIndex``, so it is a batch node for its own children.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hkube2argo.compiler import compile_manifests
from hkube2argo.validate import plan_pipeline

from .conftest import ALGORITHMS, RunFn, describe, entries


def pipeline(tmp_path: Path, name: str, nodes: dict[str, list[Any]]) -> Path:
    data = {"name": name, "nodes": [{"nodeName": n, "algorithmName": "echo", "input": i}
                                    for n, i in nodes.items()]}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def results(entries_: list[dict[str, Any]]) -> list[tuple[int, Any]]:
    return [(e["batchIndex"], e["result"]) for e in entries_]


A1, A2 = ["1"], ["2"]  # echo of the items of "#[1,2]"
B1, B2 = ["10"], ["20"]  # and of "#[10,20]"

SHAPES: dict[str, tuple[dict[str, list[Any]], str, list[tuple[int, Any]]]] = {
    # B runs item by item inside A's loop; C waits for all of B, then one run per B item
    "chain-then-whole": (
        {"A": ["#[1,2]"], "B": ["*@A"], "C": ["*@B", "@B"]},
        "C", [(1, [[A1], [[A1], [A2]]]), (2, [[A2], [[A1], [A2]]])]),
    # B waits for all of A, one run per A item; C runs item by item after B's
    "whole-then-chain": (
        {"A": ["#[1,2]"], "B": ["@A", "*@A"], "C": ["*@B"]},
        "C", [(1, [[[A1, A2], A1]]), (2, [[[A1, A2], A2]])]),
    # several parents read whole and item by item: deterministic in HKube
    "two-parents-whole-and-items": (
        {"A": ["#[1,2]"], "B": ["#[10,20]"], "C": ["*@A", "@A", "*@B", "@B"]},
        "C", [(1, [A1, [A1, A2], B1, [B1, B2]]), (2, [A2, [A1, A2], B2, [B1, B2]])]),
    # one parent item by item only, another also whole: after all of A, zipped by index
    "mixed-parents": (
        {"A": ["#[1,2]"], "B": ["#[10,20]"], "C": ["*@A", "@A", "*@B"]},
        "C", [(1, [A1, [A1, A2], B1]), (2, [A2, [A1, A2], B2])]),
    # E would join A's group, but also waits for D, which waits for all of that group:
    # E runs after D, one run per A item
    "wait-any-after-the-group": (
        {"A": ["#[1,2]"], "B": ["*@A"], "D": ["@B"], "E": ["*@A", "@D"]},
        "E", [(1, [A1, [[[A1], [A2]]]]), (2, [A2, [[[A1], [A2]]]])]),
    # a wait-any node on a wait-any node that waits for its parent whole
    "whole-chain-of-three": (
        {"A": ["#[1,2]"], "B": ["*@A", "@A"], "C": ["*@B", "@B"]},
        "C", [(1, [[A1, [A1, A2]], [[A1, [A1, A2]], [A2, [A1, A2]]]]),
              (2, [[A2, [A1, A2]], [[A1, [A1, A2]], [A2, [A1, A2]]]])]),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_wait_any_shape_runs_as_hkube(shape: str, run: RunFn, tmp_path: Path) -> None:
    nodes, leaf, expected = SHAPES[shape]
    path = pipeline(tmp_path, shape, nodes)
    compile_manifests(plan_pipeline(path, [ALGORITHMS]))  # compiles, lint-clean
    result = run(path)
    assert result.status == "completed", describe(result)
    assert results(entries(result, leaf)) == expected
