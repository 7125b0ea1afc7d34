"""HKube's input grammar and batch shape, row by row from hkube-reference 3.3, 3.4, 3.5, 3.8.

Only what is decided statically is checked here: how each string leaf parses (reference
kind, node, path, relation), which nodes are batch nodes and where their batch sources
sit inside ``input`` (in HKube's traversal order), the batch operation, the items of raw
``#[...]`` literals, and the plan-level facts of section 4 that need no run (results,
wait-any, edges, order). What a task receives at run time belongs to the runner's tests.

Each case names its table row in its id (``t33-``, ``t34-``, ``t35-``, ``t38-``, ``s4-``).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from hkube2argo.grammar import GrammarError, Ref, parse_input, parse_leaf
from hkube2argo.loading import Descriptor, Source
from hkube2argo.plan import Parent, Plan, PlanNode, thaw
from hkube2argo.validate import Validated, validate_descriptor

Loc = tuple[str | int, ...]
RELATION = {"node": "waitNode", "nodeBatch": "waitBatch", "waitAny": "waitAny"}

# ---------------------------------------------------------------------------------------
# helpers


def node(name: str, input: list[Any] | None = None, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"nodeName": name, "algorithmName": "alg"}
    if input is not None:
        out["input"] = input
    out.update(fields)
    return out


def validate(nodes: list[dict[str, Any]], *, check_flow_input: bool = True,
             **top: Any) -> Validated:
    data = {"name": "grammar", "nodes": nodes, **top}
    return validate_descriptor(Descriptor(data, Source("mem.yaml")),
                               check_flow_input=check_flow_input)


def plan_of(nodes: list[dict[str, Any]], **kw: Any) -> Plan:
    result = validate(nodes, **kw)
    assert result.plan is not None, [str(d) for d in result.errors]
    assert not result.errors
    return result.plan


def errors_of(nodes: list[dict[str, Any]], **kw: Any) -> list[str]:
    result = validate(nodes, **kw)
    assert result.plan is None, "expected the descriptor to be rejected"
    for diag in result.errors:
        assert diag.file == "mem.yaml"
        str(diag)
    return [str(d) for d in result.errors]


def ref_rows(plan_node: PlanNode) -> list[tuple[Loc, str, str | None, tuple[str, ...]]]:
    return [(r.at, r.ref.kind, r.ref.node, r.ref.path) for r in plan_node.refs]


def raw_items(ref: Ref) -> list[int | str]:
    return list(ref.raw_items())


def typed(values: list[Any]) -> list[tuple[type, Any]]:
    """Values with their types, so that "1" and 1 are told apart."""
    return [(type(v), v) for v in values]


def static_items(plan_node: PlanNode) -> list[tuple[int | str, ...]]:
    """The batch items of a node whose batch sources are all raw literals, per HKube's
    batch-parser: indexed zips (shorter sources give None), cartesian is the product with
    the first source varying slowest."""
    assert plan_node.batch is not None
    by_loc = {r.at: r.ref for r in plan_node.refs}
    columns = [raw_items(by_loc[loc]) for loc in plan_node.batch.sources]
    if plan_node.batch.operation == "cartesian":
        return list(itertools.product(*columns))
    return list(itertools.zip_longest(*columns))


# Flow inputs of the two tables.
FLOW_33 = {"x": {"y": 5}, "arr": [10, 20, 30], "s": "str", "e": [], "o": {"a": 1}}
FLOW_38 = {"files": {"links": ["l1", "l2", "l3", "l4", "l5"]}, "x": 1, "y": 2, "z": 3,
           "flowlist": [1, 2, 3, 4]}

A_PLAIN = node("A", [])
A_BATCH = node("A", ["#@flowInput.arr"])
YELLOW = node("yellow", [])
YELLOW_BATCH = node("yellow", ["#@flowInput.files.links"])
GREEN_BATCH = node("green", ["#@flowInput.files.links"])


# ---------------------------------------------------------------------------------------
# single leaves (3.1, 3.3, 3.8: isBatch / isNode / isReference)

LEAVES = [
    # id, leaf, kind, node, path
    ("t33-flowInput-path", "@flowInput.x.y", "flowInput", None, ("x", "y")),
    ("t33-flowInput-whole", "@flowInput", "flowInput", None, ()),
    ("t33-flowInput-array-index", "@flowInput.arr.1", "flowInput", None, ("arr", "1")),
    ("t33-flowInput-batch", "#@flowInput.arr", "flowInputBatch", None, ("arr",)),
    ("t33-flowInput-batch-empty", "#@flowInput.e", "flowInputBatch", None, ("e",)),
    ("t33-flowInput-batch-whole", "#@flowInput", "flowInputBatch", None, ()),
    ("t33-flowInput-batch-index", "#@flowInput.arr.0", "flowInputBatch", None, ("arr", "0")),
    ("t33-node", "@A", "node", "A", ()),
    ("t33-node-path", "@A.v", "node", "A", ("v",)),
    ("t33-node-missing-path", "@A.w", "node", "A", ("w",)),
    ("t33-node-batch", "#@A", "nodeBatch", "A", ()),
    ("t33-node-batch-path", "#@A.list", "nodeBatch", "A", ("list",)),
    ("t33-wait-any", "*@A", "waitAny", "A", ()),
    ("t38-yellow", "@yellow", "node", "yellow", ()),
    ("t38-yellow-data", "@yellow.data", "node", "yellow", ("data",)),
    ("t38-wait-any-path", "*@yellow.data", "waitAny", "yellow", ("data",)),
    ("t38-wait-batch-path", "#@yellow.data", "nodeBatch", "yellow", ("data",)),
    ("t38-isBatch-flowInput", "#@flowInput.files.links", "flowInputBatch", None,
     ("files", "links")),
    ("t38-isBatch-false", "@flowInput.files.links", "flowInput", None, ("files", "links")),
    ("t38-isNode-green", "@green", "node", "green", ()),
    ("t38-green-batch", "#@green.batch", "nodeBatch", "green", ("batch",)),
    ("t31-split-first-dot", "@A.items.0.id", "node", "A", ("items", "0", "id")),
    ("t31-no-bracket-syntax", "@A.links[0]", "node", "A", ("links[0]",)),
    ("t31-trailing-space-in-name", "@A ", "node", "A ", ()),
    ("t31-unicode-name", "@Ünïcødé.π", "node", "Ünïcødé", ("π",)),
]


@pytest.mark.parametrize("leaf,kind,name,path", [c[1:] for c in LEAVES],
                         ids=[c[0] for c in LEAVES])
def test_leaf_parses(leaf: str, kind: str, name: str | None, path: tuple[str, ...]) -> None:
    ref = parse_leaf(leaf)
    assert ref is not None
    assert (ref.kind, ref.node, ref.path) == (kind, name, path)
    assert ref.text == leaf
    assert ref.relation == RELATION.get(kind)
    assert ref.is_batch == (kind in ("flowInputBatch", "nodeBatch", "rawBatch"))


LITERALS = [
    ("t33-x-at-y", "x@y"),
    ("t31-space-at", " @A"),
    ("t31-hash-digit", "#1"),
    ("t31-star-name", "*A"),
    ("t31-hash-name", "#A"),
    ("t33-backslash-at", "\\@A"),
    ("t38-isReference-test", "test"),
    ("t31-empty", ""),
    ("t31-star-hash-name", "*#A"),
    ("t31-hash-alone", "#"),
    ("t31-star-alone", "*"),
    ("t31-dollar-one", "$abc"),
    ("t31-dollars-inside", "a$$b"),
    ("t31-star-raw", "*#[1,2]"),
    ("t31-hash-space-bracket", "# [1,2]"),
    ("t31-email", "user@example.com"),
]


@pytest.mark.parametrize("leaf", [c[1] for c in LITERALS], ids=[c[0] for c in LITERALS])
def test_literal_leaves(leaf: str) -> None:
    assert parse_leaf(leaf) is None
    plan = plan_of([node("N", [leaf, {"k": leaf}, [leaf]])])
    assert plan.node("N").refs == ()
    assert plan.node("N").batch is None
    assert plan.node("N").to_json()["input"] == [leaf, {"k": leaf}, [leaf]]


REJECTED = [
    # id, leaf, words the message must contain
    ("s0-wait-any-batch", "*#@yellow.data", ["*#@", "not supported"]),
    ("s0-wait-any-batch-flowInput", "*#@flowInput.files.links", ["*#@"]),
    ("t37-storage-key", "$$flowInput.files.links", ["$$"]),
    ("t37-storage-key-plain", "$$abc", ["$$"]),
    ("t38-dataSource", "@dataSource", ["dataSource"]),
    ("t38-dataSource-name", "@dataSource.images", ["dataSource"]),
    ("t38-dataSource-file", "@dataSource.images/file.jpg", ["dataSource"]),
    ("t38-dataSource-batch", "#@dataSource.images/file.jpg", ["dataSource"]),
    ("t31-at-alone", "@", ["names no node"]),
    ("t31-batch-alone", "#@", ["names no node"]),
    ("t31-flowInput-prefix-name", "@flowInputProcessor", ["flowInput"]),
    ("s0-wait-any-flowInput", "*@flowInput.x", ["*@", "flowInput"]),
]


@pytest.mark.parametrize("leaf,words", [c[1:] for c in REJECTED], ids=[c[0] for c in REJECTED])
def test_rejected_leaves(leaf: str, words: list[str]) -> None:
    with pytest.raises(GrammarError) as caught:
        parse_leaf(leaf)
    for word in words:
        assert word in str(caught.value)
    # In a pipeline: an error at the leaf's own location, never a plan.
    errors = errors_of([YELLOW_BATCH, node("N", [1, {"k": [leaf]}])], flowInput=FLOW_38)
    assert any(f"nodes[1].input[1].k[0]: '{leaf}'" in e for e in errors), errors
    assert any(all(word in e for word in words) for e in errors), errors


# ---------------------------------------------------------------------------------------
# 3.4 raw batch literals

RAW = [
    # id, literal, items (exact values and types)
    ("t34-strings", "#[1,2,3]", ["1", "2", "3"]),
    ("t34-range", "#[1...3]", [1, 2, 3]),
    ("t34-range-zero", "#[0...2]", [0, 1, 2]),
    ("t34-range-negative", "#[-1...1]", [-1, 0, 1]),
    ("t34-mixed", "#[1...2, x, 5...6]", [1, 2, "x", 5, 6]),
    ("t34-words", "#[a, b,c]", ["a", "b", "c"]),
    ("t34-json-words-stay-strings", "#[1.5, true, null]", ["1.5", "true", "null"]),
    ("t34-no-quoting-no-nesting", '#["a b", [1,2]]', ['"ab"', "1", "2"]),
    ("t34-empty-is-one-empty-string", "#[]", [""]),
    ("t34-descending-range-empty", "#[3...1]", []),
    ("t34-nan-range-empty", "#[a...c]", []),
    ("t34-single-range", "#[5...5]", [5]),
    ("t34-whitespace-removed", "#[ 1 ... 3 ]", [1, 2, 3]),
    ("t34-unclosed", "#[1,2", ["1", "2"]),
    ("t34-brackets-deleted", "#[[1,2],[3]]", ["1", "2", "3"]),
    ("t34-empty-items", "#[1,,2]", ["1", "", "2"]),
    ("t34-parseInt-fraction", "#[1.5...3.9]", [1, 2, 3]),
    ("t34-parseInt-plus", "#[+1...2]", [1, 2]),
    ("t34-three-dots-twice", "#[1...2...9]", [1, 2]),
    ("t34-negative-range", "#[-3...-1]", [-3, -2, -1]),
    # JavaScript's parseInt reads ASCII digits only: "٣" (Arabic-Indic three) is NaN.
    ("t34-js-parseInt-ascii-digits-only", "#[٣...٥]", []),
    # JavaScript's /\s/ includes U+FEFF (BOM) but not U+001F (unit separator).
    ("t34-js-whitespace-bom", "#[1,\ufeff2]", ["1", "2"]),
    ("t34-js-whitespace-not-us", "#[1,\x1f2]", ["1", "\x1f2"]),
]


@pytest.mark.parametrize("literal,items", [c[1:] for c in RAW], ids=[c[0] for c in RAW])
def test_raw_batch_items(literal: str, items: list[Any]) -> None:
    ref = parse_leaf(literal)
    assert ref is not None and ref.kind == "rawBatch" and ref.is_batch
    assert ref.node is None and ref.relation is None
    assert typed(raw_items(ref)) == typed(items)
    assert ref.raw_count() == len(items)
    # Static shape in a plan: a batch node with one source, even when it has no item
    # (0 items: skipped at run time, section 4.4).
    plan = plan_of([node("N", [literal])])
    n = plan.node("N")
    assert n.batch is not None and n.batch.sources == ((0,),)
    assert json.loads(json.dumps(plan.to_json()))["nodes"][0]["refs"][0]["count"] == len(items)


RAW_COUNTS = [
    ("t34-unit-28", "#[1, 2, 3, 4, 5, 1...10, 11,12, 20...30]", 28, "1", 30),
    ("t34-unit-23", "#[hello, 1...10, world, 10...20]", 23, "hello", 20),
    ("t34-unit-101", "#[600...700]", 101, 600, 700),
    ("t34-unit-200000", "#[1...200000]", 200000, 1, 200000),
]


@pytest.mark.parametrize("literal,count,first,last", [c[1:] for c in RAW_COUNTS],
                         ids=[c[0] for c in RAW_COUNTS])
def test_raw_batch_counts(literal: str, count: int, first: Any, last: Any) -> None:
    ref = parse_leaf(literal)
    assert ref is not None
    assert ref.raw_count() == count
    items = raw_items(ref)
    assert len(items) == count
    assert typed([items[0], items[-1]]) == typed([first, last])
    # ranges stay compact: no segment per item
    assert len(ref.raw) <= literal.count(",") + 1


# ---------------------------------------------------------------------------------------
# 3.3 and 3.8 rows in a pipeline: refs, batch shape, relations


@dataclass(frozen=True)
class Row:
    input: list[Any]
    others: tuple[dict[str, Any], ...] = ()
    refs: tuple[tuple[Loc, str, str | None, tuple[str, ...]], ...] | None = None  # None: unchecked
    sources: tuple[Loc, ...] | None = None  # None: not a batch node
    operation: str | None = None  # the node's batchOperation field
    wait_any: tuple[str, ...] = ()
    parents: tuple[tuple[str, tuple[str, ...]], ...] = ()
    flow_input: dict[str, Any] | None = field(default_factory=lambda: FLOW_33)
    check_flow_input: bool = True
    raw: tuple[tuple[Loc, tuple[Any, ...]], ...] = ()  # raw source location -> items
    items: tuple[tuple[int, tuple[Any, ...]], ...] = ()  # static batch item i -> values
    n_items: int | None = None
    warning: str | None = None


ROWS: dict[str, Row] = {
    # ---- 3.3 (flowInput {x:{y:5}, arr:[10,20,30], s:"str", e:[], o:{a:1}})
    "t33-flowInput-x-y": Row(["@flowInput.x.y"],
                             refs=(((0,), "flowInput", None, ("x", "y")),)),
    "t33-flowInput-whole": Row(["@flowInput"], refs=(((0,), "flowInput", None, ()),)),
    "t33-flowInput-arr-1": Row(["@flowInput.arr.1"],
                               refs=(((0,), "flowInput", None, ("arr", "1")),)),
    "t33-no-flowInput-unchecked": Row(["@flowInput.x"], flow_input=None,
                                      check_flow_input=False,
                                      refs=(((0,), "flowInput", None, ("x",)),)),
    "t33-batch-flowInput-arr": Row(["#@flowInput.arr", 7],
                                   refs=(((0,), "flowInputBatch", None, ("arr",)),),
                                   sources=((0,),)),
    "t33-batch-empty-array": Row(["#@flowInput.e"], sources=((0,),),
                                 refs=(((0,), "flowInputBatch", None, ("e",)),)),
    "t33-batch-object": Row(["#@flowInput.o"], sources=((0,),),
                            refs=(((0,), "flowInputBatch", None, ("o",)),)),
    "t33-batch-string": Row(["#@flowInput.s"], sources=((0,),),
                            refs=(((0,), "flowInputBatch", None, ("s",)),)),
    "t33-batch-whole-flowInput": Row(["#@flowInput"], sources=((0,),),
                                     refs=(((0,), "flowInputBatch", None, ()),),
                                     warning="always empty"),
    "t33-batch-nested-array": Row(["#@flowInput.arr.0"], sources=((0,),),
                                  flow_input={"arr": [[1, 2], [3]]},
                                  refs=(((0,), "flowInputBatch", None, ("arr", "0")),)),
    "t33-node-A": Row(["@A"], others=(A_PLAIN,), refs=(((0,), "node", "A", ()),),
                      parents=(("A", ("waitNode",)),)),
    "t33-node-A-v": Row(["@A.v"], others=(A_PLAIN,), refs=(((0,), "node", "A", ("v",)),),
                        parents=(("A", ("waitNode",)),)),
    "t33-node-A-missing-path": Row(["@A.w"], others=(A_PLAIN,),
                                   refs=(((0,), "node", "A", ("w",)),),
                                   parents=(("A", ("waitNode",)),)),
    "t33-nested-object-and-array": Row([{"k": "@A.v"}, ["@A"]], others=(A_PLAIN,),
                                       refs=(((0, "k"), "node", "A", ("v",)),
                                             ((1, 0), "node", "A", ())),
                                       parents=(("A", ("waitNode",)),)),
    "t33-node-of-batch-node": Row(["@A"], others=(A_BATCH,), refs=(((0,), "node", "A", ()),),
                                  parents=(("A", ("waitNode",)),)),
    "t33-node-path-of-batch-node": Row(["@A.v"], others=(A_BATCH,),
                                       refs=(((0,), "node", "A", ("v",)),),
                                       parents=(("A", ("waitNode",)),)),
    "t33-batch-on-node": Row(["#@A"], others=(A_PLAIN,), sources=((0,),),
                             refs=(((0,), "nodeBatch", "A", ()),),
                             parents=(("A", ("waitBatch",)),)),
    "t33-batch-on-node-path": Row(["#@A.list"], others=(A_PLAIN,), sources=((0,),),
                                  refs=(((0,), "nodeBatch", "A", ("list",)),),
                                  parents=(("A", ("waitBatch",)),)),
    "t33-batch-on-batch-node": Row(["#@A"], others=(A_BATCH,), sources=((0,),),
                                   refs=(((0,), "nodeBatch", "A", ()),),
                                   parents=(("A", ("waitBatch",)),)),
    "t33-wait-any": Row(["*@A", 0], others=(A_BATCH,), wait_any=("A",),
                        refs=(((0,), "waitAny", "A", ()),),
                        parents=(("A", ("waitAny",)),)),
    "t33-literals-unchanged": Row(["x@y", "\\@A"], refs=()),
    # ---- 3.8 (@hkube/parsers unit tests)
    "t38-yellow-512": Row(["@yellow", 512], others=(YELLOW,), flow_input=FLOW_38,
                          refs=(((0,), "node", "yellow", ()),),
                          parents=(("yellow", ("waitNode",)),)),
    "t38-yellow-data-512": Row(["@yellow.data", 512], others=(YELLOW,), flow_input=FLOW_38,
                               refs=(((0,), "node", "yellow", ("data",)),),
                               parents=(("yellow", ("waitNode",)),)),
    "t38-wait-any-yellow-data": Row(["*@yellow.data", 512], others=(YELLOW_BATCH,),
                                    flow_input=FLOW_38, wait_any=("yellow",),
                                    refs=(((0,), "waitAny", "yellow", ("data",)),),
                                    parents=(("yellow", ("waitAny",)),)),
    "t38-wait-batch-yellow-data": Row(["#@yellow.data", 512], others=(YELLOW_BATCH,),
                                      flow_input=FLOW_38, sources=((0,),),
                                      refs=(((0,), "nodeBatch", "yellow", ("data",)),),
                                      parents=(("yellow", ("waitBatch",)),)),
    "t38-yellow-array-result": Row(["@yellow", 512], others=(YELLOW_BATCH,),
                                   flow_input=FLOW_38, refs=(((0,), "node", "yellow", ()),),
                                   parents=(("yellow", ("waitNode",)),)),
    "t38-test-literal": Row(["test"], flow_input=FLOW_38, refs=()),
    "t38-empty-input": Row([], flow_input=FLOW_38, refs=()),
    "t38-nulls": Row([None, {"prop": None}, [None], {"a": {"b": [None]}}], flow_input=FLOW_38,
                     refs=()),
    "t38-flowInput-md": Row([True, 512, "@flowInput.files.links"], flow_input=FLOW_38,
                            refs=(((2,), "flowInput", None, ("files", "links")),)),
    "t38-flowlist-object": Row([{"flowlist": "#@flowInput.flowlist", "list": [4, 5, 6]}],
                               flow_input=FLOW_38, sources=((0, "flowlist"),),
                               refs=(((0, "flowlist"), "flowInputBatch", None, ("flowlist",)),)),
    "t38-flowlist-object-other-key-order": Row(
        [{"list": [4, 5, 6], "flowlist": "#@flowInput.flowlist"}], flow_input=FLOW_38,
        sources=((0, "flowlist"),),
        refs=(((0, "flowlist"), "flowInputBatch", None, ("flowlist",)),)),
    "t38-links-and-many-flowInput-refs": Row(
        ["#@flowInput.files.links", {"data": {"prop": "@flowInput.x"}}, "@flowInput.x",
         "@flowInput.y", "@flowInput", 2, False, ["@flowInput"], {"a": {"b": "@flowInput.z"}}],
        flow_input=FLOW_38, sources=((0,),),
        refs=(((0,), "flowInputBatch", None, ("files", "links")),
              ((1, "data", "prop"), "flowInput", None, ("x",)),
              ((2,), "flowInput", None, ("x",)),
              ((3,), "flowInput", None, ("y",)),
              ((4,), "flowInput", None, ()),
              ((7, 0), "flowInput", None, ()),
              ((8, "a", "b"), "flowInput", None, ("z",)))),
    "t38-batch-over-object": Row([200, "#@flowInput.files", False], flow_input=FLOW_38,
                                 sources=((1,),),
                                 refs=(((1,), "flowInputBatch", None, ("files",)),)),
    "t38-nested-a-c": Row([{"a": {"c": "#@flowInput.files.links"}}], flow_input=FLOW_38,
                          sources=((0, "a", "c"),),
                          refs=(((0, "a", "c"), "flowInputBatch", None, ("files", "links")),)),
    "t38-nested-a-b-array": Row([{"a": {"b": [1, 2, ["#@flowInput.files.links"]]}}],
                                flow_input=FLOW_38, sources=((0, "a", "b", 2, 0),),
                                refs=(((0, "a", "b", 2, 0), "flowInputBatch", None,
                                       ("files", "links")),)),
    "t38-nested-array-of-objects": Row([{"a": [{"b": "#@flowInput.files.links"}]}],
                                       flow_input=FLOW_38, sources=((0, "a", 0, "b"),),
                                       refs=(((0, "a", 0, "b"), "flowInputBatch", None,
                                              ("files", "links")),)),
    "t38-wait-batch-green": Row([True, "#@green", "@flowInput.files.links"],
                                others=(GREEN_BATCH,), flow_input=FLOW_38, sources=((1,),),
                                refs=(((1,), "nodeBatch", "green", ()),
                                      ((2,), "flowInput", None, ("files", "links"))),
                                parents=(("green", ("waitBatch",)),)),
    "t38-object-green-indexed": Row(
        [{"a": True, "b": "#@green", "c": "@flowInput.files.links"}], others=(GREEN_BATCH,),
        flow_input=FLOW_38, operation="indexed", sources=((0, "b"),),
        refs=(((0, "b"), "nodeBatch", "green", ()),
              ((0, "c"), "flowInput", None, ("files", "links"))),
        parents=(("green", ("waitBatch",)),)),
    "t38-object-green-cartesian": Row(
        [{"a": True, "b": "#@green", "c": "@flowInput.files.links"}], others=(GREEN_BATCH,),
        flow_input=FLOW_38, operation="cartesian", sources=((0, "b"),),
        refs=(((0, "b"), "nodeBatch", "green", ()),
              ((0, "c"), "flowInput", None, ("files", "links"))),
        parents=(("green", ("waitBatch",)),)),
    "t38-three-raw-indexed": Row(
        [{"data1": "#[0...10]"}, {"val1": "data1"}, {"val2": "data2"}, {"data2": "#[10...20]"},
         "data1", "data2", {"data3": "#[20...30]"}],
        flow_input=FLOW_38, operation="indexed", sources=((0, "data1"), (3, "data2"), (6, "data3")),
        refs=(((0, "data1"), "rawBatch", None, ()), ((3, "data2"), "rawBatch", None, ()),
              ((6, "data3"), "rawBatch", None, ())),
        raw=(((0, "data1"), tuple(range(0, 11))), ((3, "data2"), tuple(range(10, 21))),
             ((6, "data3"), tuple(range(20, 31)))),
        n_items=11, items=((0, (0, 10, 20)), (9, (9, 19, 29)), (10, (10, 20, 30)))),
    "t38-two-raw-cartesian": Row(
        [{"data1": "#[0...10]"}, {"val1": "data1"}, {"val2": "data2"}, {"data2": "#[100...110]"}],
        flow_input=FLOW_38, operation="cartesian", sources=((0, "data1"), (3, "data2")),
        refs=(((0, "data1"), "rawBatch", None, ()), ((3, "data2"), "rawBatch", None, ())),
        n_items=121, items=((0, (0, 100)), (1, (0, 101)), (100, (9, 101)), (120, (10, 110)))),
    "t38-two-links-cartesian": Row(
        ["#@flowInput.files.links", "@flowInput.x", {"k": "#@flowInput.files.links"}, 3],
        flow_input=FLOW_38, operation="cartesian", sources=((0,), (2, "k")),
        refs=(((0,), "flowInputBatch", None, ("files", "links")),
              ((1,), "flowInput", None, ("x",)),
              ((2, "k"), "flowInputBatch", None, ("files", "links")))),
    "t38-flowInput-without-metadata": Row(["@flowInput.array"], flow_input=None,
                                          check_flow_input=False,
                                          refs=(((0,), "flowInput", None, ("array",)),)),
    # ---- 3.5 batchOperation
    "t35-indexed-default": Row(
        ["#[1,2]", "#[10,20,30]"], sources=((0,), (1,)),
        raw=(((0,), ("1", "2")), ((1,), ("10", "20", "30"))), n_items=3,
        items=((0, ("1", "10")), (1, ("2", "20")), (2, (None, "30")))),
    "t35-indexed-explicit": Row(
        ["#[1,2]", "#[10,20,30]"], operation="indexed", sources=((0,), (1,)), n_items=3,
        items=((2, (None, "30")),)),
    "t35-cartesian": Row(
        ["#[1,2]", "#[10,20,30]"], operation="cartesian", sources=((0,), (1,)), n_items=6,
        items=((0, ("1", "10")), (1, ("1", "20")), (2, ("1", "30")), (3, ("2", "10")),
               (4, ("2", "20")), (5, ("2", "30")))),
    "t35-plain-leaves-copied": Row(["#[1,2]", 7, "x", {"k": "@flowInput.s"}],
                                   sources=((0,),), n_items=2,
                                   refs=(((0,), "rawBatch", None, ()),
                                         ((3, "k"), "flowInput", None, ("s",)))),
    "t35-one-source-cartesian": Row(["#[1,2]"], operation="cartesian", sources=((0,),),
                                    n_items=2),
    "t35-two-hash-leaves-in-one-object": Row(
        [{"a": "#[1,2]", "b": "#[3,4]"}], operation="cartesian", sources=((0, "a"), (0, "b")),
        n_items=4, items=((1, ("1", "4")), (2, ("2", "3")))),
    "t35-sources-in-traversal-order": Row(
        [[{"z": "#[1]"}, "#[2]"], {"b": ["#[3]"], "a": "#[4]"}, "#[5]"],
        sources=((0, 0, "z"), (0, 1), (1, "b", 0), (1, "a"), (2,))),
    "t35-raw-and-flowInput-sources": Row(
        ["#@flowInput.arr", "#[1...3]", "@flowInput.s"], sources=((0,), (1,)),
        refs=(((0,), "flowInputBatch", None, ("arr",)), ((1,), "rawBatch", None, ()),
              ((2,), "flowInput", None, ("s",)))),
    # JavaScript enumerates integer-like keys first, ascending (Object.keys in
    # @hkube/parsers' _flattenValuesWithPath), so HKube's first source here is "1".
    "t35-js-key-order-integer-keys-first": Row(
        [{"b": "#[1,2]", "10": "#[5,6]", "1": "#[3,4]"}], operation="cartesian",
        sources=((0, "1"), (0, "10"), (0, "b"))),
    # ---- 4.4 empty batches are still batch nodes
    "s44-empty-raw-batch": Row(["#[3...1]"], sources=((0,),), n_items=0),
}


@pytest.mark.parametrize("row", list(ROWS.values()), ids=list(ROWS))
def test_table_row(row: Row) -> None:
    fields: dict[str, Any] = {}
    if row.operation is not None:
        fields["batchOperation"] = row.operation
    top: dict[str, Any] = {}
    if row.flow_input is not None:
        top["flowInput"] = row.flow_input
    result = validate([*row.others, node("N", row.input, **fields)],
                      check_flow_input=row.check_flow_input, **top)
    assert result.plan is not None, [str(d) for d in result.errors]
    if row.warning:
        assert any(row.warning in d.message for d in result.warnings), result.warnings
    n = result.plan.node("N")
    # input kept exactly as written
    assert thaw(n.input) == row.input
    assert n.to_json()["input"] == row.input
    if row.refs is not None:
        assert ref_rows(n) == list(row.refs)
    # batch shape
    if row.sources is None:
        assert n.batch is None
    else:
        assert n.batch is not None
        assert n.batch.sources == row.sources
        assert n.batch.operation == (row.operation or "indexed")
        assert [r.at for r in n.refs if r.ref.is_batch] == list(row.sources)
    assert n.wait_any == row.wait_any
    assert n.fans_out == (row.sources is not None or bool(row.wait_any))
    # relations, on the node and in plan.dependencies
    assert [(p.node, p.relations) for p in n.parents] == list(row.parents)
    deps = [(d.source, d.relations) for d in result.plan.dependencies if d.target == "N"]
    assert deps == list(row.parents)
    for r in n.refs:
        assert r.ref.relation == RELATION.get(r.ref.kind)
    # raw items and static batch items
    by_loc = {r.at: r.ref for r in n.refs}
    for loc, items in row.raw:
        assert typed(raw_items(by_loc[loc])) == typed(list(items))
    if row.n_items is not None or row.items:
        expanded = static_items(n)
        if row.n_items is not None:
            assert len(expanded) == row.n_items
        for i, values in row.items:
            assert expanded[i] == values
    # JSON form of the shape
    as_json = json.loads(json.dumps(result.plan.to_json()))
    (node_json,) = [x for x in as_json["nodes"] if x["name"] == "N"]
    if row.sources is None:
        assert node_json["batch"] is None
    else:
        assert node_json["batch"] == {"operation": row.operation or "indexed",
                                      "sources": [list(s) for s in row.sources]}


# ---------------------------------------------------------------------------------------
# rejected rows and submit-time flowInput checks

REJECTED_ROWS = [
    # id, nodes, flowInput, location of the error, words
    ("t38-wait-any-batch-row", [YELLOW_BATCH,
                                node("N", [True, "*#@yellow.data", 512,
                                           "@flowInput.files.links"])],
     FLOW_38, "nodes[1].input[1]", ["*#@"]),
    ("t38-mixed-row-with-wait-any-batch",
     [YELLOW_BATCH, node("N", ["@yellow.data", "*@yellow.data", "*#@yellow.data",
                               "@flowInput.files.links"])],
     FLOW_38, "nodes[1].input[2]", ["*#@"]),
    ("t38-checkStorageKeyword", [node("N", ["$$flowInput.files.links"])], FLOW_38,
     "nodes[0].input[0]", ["$$"]),
    ("t38-checkFlowInput", [node("N", ["#@flowInput.not_such_object"])], FLOW_38,
     "nodes[0].input[0]", ["unable to find flowInput.not_such_object"]),
    ("t38-checkFlowInput-nested", [node("N", [{"a": ["@flowInput.files.nope"]}])], FLOW_38,
     "nodes[0].input[0].a[0]", ["unable to find flowInput.files.nope"]),
    ("t38-flowInput-absent", [node("N", ["@flowInput.array"])], None,
     "nodes[0].input[0]", ["flowInput"]),
    ("t38-dataSource-row", [node("N", ["@dataSource.images/file.jpg"])], FLOW_38,
     "nodes[0].input[0]", ["dataSource"]),
    ("t33-missing-node", [node("N", ["@NOOP"])], FLOW_38, "nodes[0].input[0]",
     ["'NOOP'", "not a node"]),
    ("s0-wait-any-on-non-batch", [YELLOW, node("N", ["*@yellow"])], FLOW_38,
     "nodes[1].input[0]", ["not a batch node"]),
    # object-path (HKube's getPath) reads "01" as a key, not as index 1
    ("t38-checkFlowInput-leading-zero-index", [node("N", ["@flowInput.files.links.01"])],
     FLOW_38, "nodes[0].input[0]", ["unable to find flowInput.files.links.01"]),
]


@pytest.mark.parametrize("nodes,flow,where,words", [c[1:] for c in REJECTED_ROWS],
                         ids=[c[0] for c in REJECTED_ROWS])
def test_rejected_rows(nodes: list[dict[str, Any]], flow: dict[str, Any] | None, where: str,
                       words: list[str]) -> None:
    top = {"flowInput": flow} if flow is not None else {}
    errors = errors_of(nodes, **top)
    hits = [e for e in errors if f"mem.yaml: {where}: " in e]
    assert hits, errors
    assert any(all(w in e for w in words) for e in hits), hits


def test_t33_unchecked_flow_input_paths_plan() -> None:
    """Without the submit-time check, missing flowInput paths still plan (they give null)."""
    plan = plan_of([node("N", ["@flowInput.nope", "#@flowInput.also.nope"])],
                   check_flow_input=False)
    assert plan.node("N").batch is not None


def test_t33_null_flow_input_value_counts_as_found() -> None:
    plan_of([node("N", ["@flowInput.a", "@flowInput.b.c"])],
            flowInput={"a": None, "b": {"c": None}})


# ---------------------------------------------------------------------------------------
# 3.8 relation helpers: findNodeRelation, extractNodesFromInput


def test_t38_find_node_relation() -> None:
    parsed = parse_input([{"data": "*@yellow.data"}, {"prop": "#@green.batch"}])
    assert not parsed.errors
    relations = {ref.node: ref.relation for _, ref in parsed.refs}
    assert relations == {"yellow": "waitAny", "green": "waitBatch"}
    assert [loc for loc, _ in parsed.refs] == [(0, "data"), (1, "prop")]


def test_t38_extract_nodes_from_input() -> None:
    value = ["@green", "*@yellow.x", ["#@black", {"deep": {"er": ["@white.a.b"]}}],
             {"k": "@flowInput.x", "j": "#[1,2]", "@keyNode": "literal"}, "plain", 3]
    parsed = parse_input(value)
    assert [ref.node for _, ref in parsed.refs if ref.node is not None] == \
        ["green", "yellow", "black", "white"]
    assert [ref.kind for _, ref in parsed.refs] == \
        ["node", "waitAny", "nodeBatch", "node", "flowInput", "rawBatch"]


def test_t38_parse_input_of_a_string_leaf() -> None:
    """A bare string is one leaf at the empty location."""
    parsed = parse_input("#@flowInput.files.links")
    assert [(loc, ref.kind) for loc, ref in parsed.refs] == [((), "flowInputBatch")]


# ---------------------------------------------------------------------------------------
# object keys are never parsed (3.1)


def test_t31_object_keys_are_never_parsed() -> None:
    value = [{"@A": 1, "#[1,2]": "x", "*@B": {"$$k": "#1", "*#@C": None}, "#@flowInput.q": []}]
    assert parse_input(value).refs == ()
    assert parse_input(value).errors == ()
    plan = plan_of([node("N", value)])  # no node A/B/C, no flowInput: still fine
    n = plan.node("N")
    assert n.refs == () and n.batch is None and n.parents == ()
    assert n.to_json()["input"] == value


def test_t31_key_with_reference_value() -> None:
    plan = plan_of([A_PLAIN, node("N", [{"@A": "@A.v"}])])
    assert ref_rows(plan.node("N")) == [((0, "@A"), "node", "A", ("v",))]


# ---------------------------------------------------------------------------------------
# section 4 and 0: plan-level facts that need no run


def test_s45_results_are_leaves_and_included_nodes_in_descriptor_order() -> None:
    nodes = [
        node("R", ["@Q"]),                              # leaf
        node("Q", [], includeInResults=True),          # has child R, included
        node("P", []),                                  # lone leaf
        node("S", [], includeInResult=True),            # singular: honoured (section 0)
        node("T", ["#@S"]),                             # leaf
        node("U", [], includeInResults=False),          # has child V, not included
        node("V", ["@U"], includeInResults=False),      # leaf: included anyway
    ]
    result = validate(nodes)
    assert result.plan is not None
    plan = result.plan
    assert plan.results == ("R", "Q", "P", "S", "T", "V")
    assert {n.name for n in plan.nodes if n.is_result} == set(plan.results)
    assert plan.to_json()["results"] == ["R", "Q", "P", "S", "T", "V"]
    # the singular spelling is honoured, and the user is told HKube ignores it
    assert any("includeInResult" in d.message and d.loc == ("nodes", 3, "includeInResult")
               for d in result.warnings)


def test_s42_wait_any_on_batch_node_accepted() -> None:
    plan = plan_of([node("A", ["#[1...3]"]), node("B", ["*@A", 0])])
    b = plan.node("B")
    assert b.wait_any == ("A",) and b.batch is None and b.fans_out
    assert b.parents == (Parent("A", ("waitAny",)),)


def test_s42_wait_any_zip_of_two_batch_nodes() -> None:
    plan = plan_of([node("A", ["#[1...3]"]), node("B", ["#[4...6]"]),
                    node("C", ["*@A", "*@B"])])
    c = plan.node("C")
    assert c.wait_any == ("A", "B")
    assert c.parents == (Parent("A", ("waitAny",)), Parent("B", ("waitAny",)))


def test_s0_wait_any_on_non_batch_node_rejected() -> None:
    errors = errors_of([node("A", ["@flowInput.x"]), node("B", ["*@A"])],
                       flowInput={"x": 1})
    assert any("nodes[1].input[0]" in e and "not a batch node" in e for e in errors), errors


def test_s42_wait_any_and_wait_node_on_one_dependency() -> None:
    plan = plan_of([node("A", ["#[1...3]"]), node("B", ["*@A", "@A"])])
    b = plan.node("B")
    assert b.parents == (Parent("A", ("waitAny", "waitNode")),)
    assert b.wait_any == ("A",) and b.batch is None
    (dep,) = plan.dependencies
    assert (dep.source, dep.target, set(dep.relations)) == ("A", "B", {"waitAny", "waitNode"})
    assert ref_rows(b) == [((0,), "waitAny", "A", ()), ((1,), "node", "A", ())]


def test_s11_user_edges_are_order_relations() -> None:
    plan = plan_of([node("A", ["@flowInput.a"]), node("B", ["@flowInput.b"])],
                   flowInput={"a": 1, "b": 2}, edges=[{"source": "A", "target": "B"}])
    assert plan.node("B").parents == (Parent("A", ("order",)),)
    assert plan.node("A").children == ("B",)
    assert not plan.node("A").is_result
    assert plan.results == ("B",)
    assert [n.name for n in plan.nodes] == ["A", "B"]
    assert [(d.source, d.target, d.relations) for d in plan.dependencies] == \
        [("A", "B", ("order",))]


def test_s11_edge_against_descriptor_order() -> None:
    plan = plan_of([node("B", []), node("A", [])], edges=[{"source": "A", "target": "B"}])
    assert [n.name for n in plan.nodes] == ["A", "B"]
    assert plan.results == ("B",)


def test_s11_edge_and_reference_on_one_dependency() -> None:
    plan = plan_of([node("A", []), node("B", ["@A"])], edges=[{"source": "A", "target": "B"}])
    assert plan.node("B").parents == (Parent("A", ("order", "waitNode")),)


def test_s11_edge_with_unknown_node_rejected() -> None:
    errors = errors_of([node("A", [])], edges=[{"source": "A", "target": "Nope"}])
    assert any("edges[0].target" in e and "'Nope'" in e for e in errors), errors


def test_s11_edge_cycle_rejected() -> None:
    errors = errors_of([node("A", ["@B"]), node("B", [])],
                       edges=[{"source": "A", "target": "B"}])
    assert any("cyclic" in e for e in errors), errors


def test_s11_edge_with_numeric_names_is_not_dropped() -> None:
    """ajv (coerceTypes) and the models read ``source: 1`` as "1"; the edge must then be
    an order dependency of the node named 1, or an error - never silently ignored."""
    result = validate([node(1, []), node("B", [])],  # type: ignore[arg-type]
                      edges=[{"source": 1, "target": "B"}])
    if result.plan is not None:
        assert result.plan.node("B").parents == (Parent("1", ("order",)),)
        assert result.plan.results == ("B",)


def test_s11_edge_with_numeric_unknown_source_rejected() -> None:
    result = validate([node("B", [])], edges=[{"source": 123, "target": "B"}])
    assert result.plan is None, "an edge from an unknown node 123 must be an error"


def test_s4_topological_order_ties_by_descriptor_order() -> None:
    nodes = [node("D", ["@B", "@C"]), node("C", ["@A"]), node("B", ["#@A"]),
             node("A", ["#[1,2]"]), node("E", [])]
    first = plan_of(nodes)
    # ready at first: A (3), E (4) -> A; then C (1), B (2), E (4) -> C, B, then D (0), E
    assert [n.name for n in first.nodes] == ["A", "C", "B", "D", "E"]
    assert [n.position for n in first.nodes] == [3, 1, 2, 0, 4]
    again = plan_of(nodes)
    assert json.dumps(first.to_json(), sort_keys=True) == \
        json.dumps(again.to_json(), sort_keys=True)
    assert first.results == ("D", "E")


def test_s4_independent_nodes_keep_descriptor_order() -> None:
    plan = plan_of([node(n, []) for n in ["z", "b", "y", "a"]])
    assert [n.name for n in plan.nodes] == ["z", "b", "y", "a"]
    assert plan.results == ("z", "b", "y", "a")


def test_s4_dependencies_sorted_by_descriptor_positions() -> None:
    plan = plan_of([node("C", ["@A", "@B"]), node("B", ["@A"]), node("A", [])])
    assert [(d.source, d.target) for d in plan.dependencies] == \
        [("B", "C"), ("A", "C"), ("A", "B")]


def test_s4_self_reference_rejected() -> None:
    errors = errors_of([node("A", ["@A"])])
    assert any("cyclic" in e for e in errors), errors


def test_s42_batch_on_batch_shape() -> None:
    plan = plan_of([node("A", ["#@flowInput.x"]), node("B", ["#@A"]), node("C", ["@B"])],
                   flowInput={"x": [1, 2, 3]})
    assert plan.node("A").batch is not None and plan.node("B").batch is not None
    assert plan.node("B").parents == (Parent("A", ("waitBatch",)),)
    assert plan.node("C").batch is None
    assert plan.node("C").parents == (Parent("B", ("waitNode",)),)


EMPTY_INPUTS = [
    ("s0-mixed", [[], {}, [1, []], {"a": {}}]),
    ("s0-empty-object-only", [{}]),
    ("s0-empty-array-in-object", [{"a": [], "b": 1}]),
    ("s0-with-references", [{"a": [], "k": "@flowInput.x"}, [[], "#[1,2]", {}]]),
    ("s0-deep", [{"a": [{"b": {}}, []]}, [[[]]]]),
]


@pytest.mark.parametrize("value", [c[1] for c in EMPTY_INPUTS], ids=[c[0] for c in EMPTY_INPUTS])
def test_s0_empty_containers_survive(value: list[Any]) -> None:
    plan = plan_of([node("N", value)], flowInput={"x": 1, "e": [], "o": {}})
    as_json = json.loads(json.dumps(plan.to_json()))
    assert as_json["nodes"][0]["input"] == value
    assert as_json["flowInput"] == {"x": 1, "e": [], "o": {}}


# --- issue 11, items 17 and 18 -------------------------------------------------------------


@pytest.mark.parametrize(("leaf", "kind", "read"), [
    ("@A.", "node", "@A"), ("*@B.", "waitAny", "*@B"), ("#@A.", "nodeBatch", "#@A"),
    ("@flowInput.", "flowInput", "@flowInput")])
def test_a_trailing_dot_is_read_as_hkube_reads_it_with_a_warning(leaf: str, kind: str,
                                                                 read: str) -> None:
    ref = parse_leaf(leaf)
    assert ref is not None and ref.kind == kind and ref.path == ()
    parsed = parse_input([leaf])
    assert parsed.errors == ()
    ((at, message),) = parsed.warnings
    assert at == (0,) and f"it reads '{read}'" in message


def test_a_trailing_dot_plans_like_the_plain_reference() -> None:
    nodes = [{"nodeName": "A", "algorithmName": "alg", "input": ["#[1,2]"]},
             {"nodeName": "B", "algorithmName": "alg", "input": ["*@A."]},
             {"nodeName": "C", "algorithmName": "alg", "input": ["@B."]}]
    dotted = validate_descriptor(Descriptor({"name": "p", "nodes": nodes}, Source("p.yaml")))
    assert dotted.plan is not None and len(dotted.warnings) == 2
    plain = json.loads(json.dumps(nodes).replace('.\"', '\"'))
    undotted = validate_descriptor(Descriptor({"name": "p", "nodes": plain}, Source("p.yaml")))
    assert undotted.plan is not None
    assert [n.refs for n in dotted.plan.nodes] != []
    for a, b in zip(dotted.plan.nodes, undotted.plan.nodes, strict=True):
        assert [(r.at, r.ref.kind, r.ref.node, r.ref.path) for r in a.refs] == \
            [(r.at, r.ref.kind, r.ref.node, r.ref.path) for r in b.refs]
        assert a.parents == b.parents


@pytest.mark.parametrize(("literal", "ok"), [("#[1...1000000]", True), ("#[0...1000000]", False),
                                             ("#[0...4294967295]", False),
                                             ("#[1...600000, 1...400001]", False)])
def test_raw_batches_over_a_million_items_are_refused(literal: str, ok: bool) -> None:
    if ok:
        ref = parse_leaf(literal)
        assert ref is not None and ref.raw_count() == 1_000_000
        return
    with pytest.raises(GrammarError, match="at most 1,000,000 are supported"):
        parse_leaf(literal)
