"""The job graph's economies: which batch nodes need a collect step, and which loops share
one count parameter. Both decide the manifest's size for batch-heavy pipelines, and both
must keep HKube's batchTolerance judged by someone."""

from __future__ import annotations

from typing import Any

import pytest

from hkube2argo import jobgraph
from tests.test_nesting import plan_of


def graph_of(nodes: list[dict[str, Any]], **extra: Any) -> jobgraph.JobGraph:
    return jobgraph.build(plan_of({"name": "g", "nodes": nodes,
                                   "flowInput": {"items": [1, 2, 3], "other": [4]}, **extra}))


def node(name: str, algorithm: str, *inputs: Any, **extra: Any) -> dict[str, Any]:
    return {"nodeName": name, "algorithmName": algorithm, "input": list(inputs), **extra}


def keys(graph: jobgraph.JobGraph) -> set[str]:
    return {t.key for t in graph.tasks}


BATCH = node("B", "double", "#@flowInput.items")


def test_batch_read_whole_by_a_plain_node_has_no_collect_and_the_reader_judges_it() -> None:
    graph = graph_of([BATCH, node("S", "sum", "@B")])
    assert "B--collect" not in keys(graph)
    reader = graph.task("S")
    assert reader.depends == ["B"]
    assert reader.spec["checks"] == [{"nodeName": "B", "slot": "r0", "tolerance": 80,
                                      "size": "B--size"}]
    # whoever counts B's items tells the reader the size as well
    split = next(r for r in graph.pipeline_spec["flowInputRoutes"] if r.get("count"))
    assert split["sizeTo"] == [{"task": "S", "slot": "B--size"}]


def test_a_leaf_batch_is_judged_by_the_results_step() -> None:
    graph = graph_of([node("B", "double", "#[1,2,3]")])
    assert "B--collect" not in keys(graph)
    (entry,) = graph.task("results").spec["nodes"]
    assert entry["check"] == {"nodeName": "B", "slot": "B", "tolerance": 80, "total": 3}
    assert graph.task("results").depends == ["B"]


@pytest.mark.parametrize(("child", "edges"), [
    pytest.param(node("C", "double", "#@B"), [], id="batch-reader"),
    pytest.param(node("C", "pair", "@B", "#@flowInput.other"), [], id="reader-fans-out"),
    pytest.param(node("C", "double", "*@B"), [], id="wait-any"),
    pytest.param(node("C", "first", "@flowInput.other"), [{"source": "B", "target": "C"}],
                 id="order-edge"),
])
def test_a_batch_keeps_its_collect_when_a_reader_could_not_judge_it(child, edges) -> None:
    graph = graph_of([BATCH, child], edges=edges)
    assert "B--collect" in keys(graph)
    assert "checks" not in graph.task("C").spec


def test_loops_over_the_same_array_share_one_count() -> None:
    graph = graph_of([node("A", "double", "#@flowInput.items"),
                      node("B", "double", "#@flowInput.items"),
                      node("C", "double", "#@flowInput.other"),
                      node("S", "sum", "@A", "@B", "@C")])
    prepare = graph.task("prepare")
    assert prepare.outputs == ["n-A", "n-C"]
    assert graph.task("A").loop == graph.task("B").loop == jobgraph.Count(task="prepare",
                                                                          name="n-A")
    # the reader judges all three batches; B's size rides on A's count
    split_a = next(r for r in graph.pipeline_spec["flowInputRoutes"] if r.get("count") == "n-A")
    assert split_a["sizeTo"] == [{"task": "S", "slot": "A--size"},
                                 {"task": "S", "slot": "B--size"}]


def test_nodes_named_like_our_own_steps_keep_their_own_tasks(tmp_path) -> None:
    # a node called "results" once merged with the results step and vanished
    import json

    from hkube2argo.runner.run import Runner, StorageSpec
    from tests.conftest import EXAMPLES

    data = {"name": "clash", "flowInput": {"x": 2}, "nodes": [
        {"nodeName": "prepare", "algorithmName": "double", "input": ["@flowInput.x"]},
        {"nodeName": "progress", "algorithmName": "double", "input": ["@prepare"]},
        {"nodeName": "results", "algorithmName": "double", "input": ["@progress"]}]}
    graph = jobgraph.build(plan_of(data))
    run_keys = [t.key for t in graph.tasks if t.kind == "run"]
    assert len(set(run_keys)) == 3
    assert not {"prepare", "results", "progress"} & set(run_keys)
    path = tmp_path / "clash.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = Runner(tmp_path / "state", workers=2).start(path, [EXAMPLES / "algorithms"],
                                                         StorageSpec())
    assert result.status == "completed"
    assert result.document["data"] == [{"nodeName": "results", "algorithmName": "double",
                                        "result": 16}]


# --- wait-any nodes outside their parents' group (issue 12 A) ---------------------------


def test_a_wait_any_node_that_also_waits_whole_runs_after_every_wait_any_parent() -> None:
    graph = graph_of([node("A", "double", "#[1,2]"), node("B", "double", "#[3,4,5]"),
                      node("C", "double", "*@A", "@A", "*@B")])
    c = graph.task("C")
    assert c.group is None
    assert set(c.depends) == {"A--collect", "B--collect"}  # B too: C reads B's items
    assert c.loop == jobgraph.Count(static=3)  # every batch index of A or B


def test_a_wait_any_chain_through_a_whole_reader_is_grouped_from_that_reader() -> None:
    # B waits for all of A (one run per A item), C runs item by item with B's items
    graph = graph_of([node("A", "double", "#@flowInput.items"),
                      node("B", "double", "@A", "*@A"), node("C", "double", "*@B")])
    (group,) = graph.groups
    assert group.members == ["B", "C"] and group.roots == ["B"]
    assert "A--collect" in group.depends
    assert graph.task("C").inner == ["B"] and graph.task("B").inner == []


def test_joining_a_group_that_would_wait_for_itself_runs_the_node_after_it() -> None:
    graph = graph_of([node("A", "double", "#[1,2]"), node("B", "double", "*@A"),
                      node("D", "double", "@B"), node("E", "double", "*@A", "@D")])
    (group,) = graph.groups
    assert group.members == ["A", "B"]
    e = graph.task("E")
    assert e.group is None and set(e.depends) == {"A--collect", "D"}


class _Counted(tuple):
    """A node's parents that count how many of them are looked at."""

    seen = 0

    def __iter__(self):
        for item in tuple.__iter__(self):
            _Counted.seen += 1
            yield item


def test_a_fan_in_reads_each_parent_edge_a_bounded_number_of_times() -> None:
    """Judging n lean batch nodes read by one fan-in looked the fan-in's n parents up once
    per batch node (n * n / 2 edges read): now each edge is read a few times."""
    n = 300
    nodes = [node(f"B{i}", "double", "#@flowInput.items") for i in range(n)]
    nodes.append(node("All", "echo", *(f"@B{i}" for i in range(n))))
    plan = plan_of({"name": "g", "nodes": nodes, "flowInput": {"items": [1, 2, 3]}})
    for planned in plan.nodes:
        object.__setattr__(planned, "parents", _Counted(planned.parents))
    _Counted.seen = 0
    graph = jobgraph.build(plan)
    assert len(graph.tasks) > n
    assert _Counted.seen < 10 * n, _Counted.seen
