"""Property tests: whatever goes in, validation gives a plan or errors - never a traceback.

Inputs are (a) random JSON values and descriptor-shaped objects, generated DAG
pipelines that are valid by construction, (b) mutations of the example pipelines, and
(c) random text through the YAML and JSON loaders. For every outcome:

* a plan: ``plan.to_json()`` is strict JSON, the node order is a topological order of
  the plan's dependencies and of every node reference, names are unique, the results are
  in descriptor order; or
* no plan: at least one error, and every diagnostic names the file and prints;
* loading raises nothing but ``ValidationFailed``;
* validating twice (and in processes with other hash seeds) gives the same plan JSON.

Hypothesis runs derandomized and without an example database, so CI is reproducible.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hkube2argo.diagnostics import Diagnostic, ValidationFailed
from hkube2argo.loading import Descriptor, Source, parse_text
from hkube2argo.plan import Plan
from hkube2argo.validate import Validated, validate_descriptor

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_FILES = [ROOT / "examples" / "numbers" / "numbers.yaml",
                 *sorted((ROOT / "examples").glob("*/pipeline.yaml"))]
EXAMPLE_TEXTS = {p.parent.name: p.read_text(encoding="utf-8") for p in EXAMPLE_FILES}
EXAMPLES = {name: parse_text(text, name + ".yaml")[0].data for name, text in EXAMPLE_TEXTS.items()}

FILE = "mem.yaml"

CI = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    # no "explain" phase: it is slow and the reproducers below say what failed
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much, HealthCheck.large_base_example],
)


def budget(n: int) -> settings:
    return settings(CI, max_examples=n)


# ---------------------------------------------------------------------------------------
# the properties


def check_diagnostics(diags: list[Diagnostic], file: str) -> None:
    for d in diags:
        assert isinstance(d, Diagnostic)
        assert d.file == file, d
        assert d.severity in ("error", "warning")
        assert str(d).startswith(file)
        assert d.message
        json.dumps(d.to_dict())


def check_plan(plan: Plan) -> None:
    as_json = plan.to_json()
    text = json.dumps(as_json, allow_nan=False)  # strict JSON: no NaN/Infinity
    assert json.loads(text) == as_json  # only JSON types (no tuples, proxies)
    order = [n.name for n in plan.nodes]
    assert len(set(order)) == len(order), f"node names repeat in the plan: {order}"
    at = {name: i for i, name in enumerate(order)}
    for dep in plan.dependencies:
        assert dep.source in at and dep.target in at
        assert at[dep.source] < at[dep.target], f"{dep} against order {order}"
    for n in plan.nodes:
        assert plan.node(n.name) is n
        for parent in n.parents:
            assert at[parent.node] < at[n.name]
        for child in n.children:
            assert at[child] > at[n.name]
        for r in n.refs:
            if r.ref.node is not None:
                assert r.ref.node in at, f"{n.name} refers to {r.ref.node}, not in the plan"
                assert at[r.ref.node] < at[n.name], \
                    f"{n.name} runs before {r.ref.node}, which it references ({order})"
                assert r.ref.node in {p.node for p in n.parents}
        if n.batch is not None:
            assert list(n.batch.sources) == [r.at for r in n.refs if r.ref.is_batch]
        assert n.is_result == (n.name in plan.results)
    assert plan.results, "a DAG always has a leaf"
    positions = [plan.node(name).position for name in plan.results]
    assert positions == sorted(positions), "results not in descriptor order"
    assert sorted(n.position for n in plan.nodes) == list(range(len(plan.nodes)))


def check_outcome(result: Validated) -> None:
    check_diagnostics(result.diagnostics, FILE)
    if result.plan is None:
        assert result.errors, "no plan, and no error to say why"
    else:
        assert not result.errors
        check_plan(result.plan)


def validate(data: Any, check_flow_input: bool = True) -> Validated:
    before = copy.deepcopy(data)
    result = validate_descriptor(Descriptor(data, Source(FILE)),
                                 check_flow_input=check_flow_input)
    assert data == before, "validation changed the descriptor it was given"
    check_outcome(result)
    return result


def fingerprint(result: Validated) -> tuple[str | None, list[str]]:
    plan = None if result.plan is None else json.dumps(result.plan.to_json(), sort_keys=True)
    return plan, [str(d) for d in result.diagnostics]


def check_deterministic(data: Any, check_flow_input: bool = True) -> Validated:
    first = validate(copy.deepcopy(data), check_flow_input)
    again = validate(copy.deepcopy(data), check_flow_input)
    assert fingerprint(first) == fingerprint(again)
    return first


def load(text: str, file: str, fmt: str) -> list[Descriptor]:
    """Loading raises ValidationFailed or nothing."""
    try:
        descriptors = parse_text(text, file, fmt)
    except ValidationFailed as exc:
        assert exc.errors
        check_diagnostics(exc.diagnostics, file)
        str(exc)
        return []
    assert descriptors
    for desc in descriptors:
        assert desc.source.file == file
        json.dumps(desc.data, allow_nan=False)  # JSON values only
    return descriptors


def validate_loaded(desc: Descriptor) -> None:
    result = validate_descriptor(desc)
    check_diagnostics(result.diagnostics, desc.source.file)
    if result.plan is None:
        assert result.errors
    else:
        check_plan(result.plan)


# ---------------------------------------------------------------------------------------
# strategies: values, references, descriptors

NAMES = ["A", "B", "C", "yellow", "green", "flowInput", "dataSource", "flowInputX",
         "dataSourceY", "a.b", "", "A ", "1", "Ünï", "@A", "$$x", "ab", "AB"]
SEGMENTS = ["x", "s", "o", "a", "0", "1", "01", "²", "١", "-1", "", "arr", "items", "a b",
            "links[0]", "length"]
PREFIXES = ["@", "#@", "*@", "*#@", "$$", "#[", "#", "*", "", "\\@", " @", "@@", "#@@"]

names = st.sampled_from(NAMES) | st.text(max_size=5)
segments = st.sampled_from(SEGMENTS) | st.text(max_size=3)
paths = st.lists(segments, max_size=3).map(lambda segs: "".join("." + s for s in segs))
targets = st.sampled_from(["flowInput"]) | names
reference_strings = st.builds(lambda p, n, path: p + n + path,
                              st.sampled_from(PREFIXES), targets, paths)
raw_batches = st.builds(lambda body: "#[" + body + "]",
                        st.text(alphabet="0123456789.,-+ab x[]\"٣\ufeff", max_size=14))
strings = reference_strings | raw_batches | st.text(max_size=8)
scalars = (st.none() | st.booleans() | st.integers(-(2**63), 2**63)
           | st.floats(allow_nan=False, allow_infinity=False) | strings)

NODE_KEYS = ["nodeName", "algorithmName", "input", "kind", "spec", "ttl", "retry",
             "batchOperation", "metrics", "minStatelessCount", "maxStatelessCount",
             "includeInResult", "includeInResults", "extraData", "stateType", "origName"]
PIPELINE_KEYS = ["name", "kind", "experimentName", "description", "nodes", "flowInput",
                 "webhooks", "options", "priority", "triggers", "tags", "rootJobId",
                 "streaming", "edges", "version"]
OPTION_KEYS = ["ttl", "activeTtl", "batchTolerance", "concurrentPipelines",
               "progressVerbosityLevel", "debugOverride"]
keys = st.sampled_from(NODE_KEYS + PIPELINE_KEYS + OPTION_KEYS) | st.text(max_size=6)

json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)
inputs = st.lists(st.recursive(
    strings | scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
), max_size=5)

FLOW = {"x": [1, 2, 3], "s": "str", "o": {"a": 1}, "arr": [[1, 2], [3]], "e": [], "n": None}
flow_inputs = st.just(FLOW) | st.dictionaries(st.sampled_from(SEGMENTS), json_values,
                                              max_size=4) | json_values


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return strategy | json_values


retries = st.fixed_dictionaries({}, optional={
    "policy": st.sampled_from(["Never", "Always", "OnError", "OnCrash", "OnFailure"]),
    "limit": st.integers(-1, 5)})
nodes = st.fixed_dictionaries({}, optional={
    "nodeName": maybe(names),
    "algorithmName": maybe(st.sampled_from(["alg", "green-alg", "A", "a", "", "x_y"])),
    "input": maybe(inputs),
    "kind": maybe(st.sampled_from(["algorithm", "output", "pipeline", "debug", "dataSource",
                                   "gateway", "hyperparamsTuner", "banana"])),
    "batchOperation": maybe(st.sampled_from(["indexed", "cartesian", "zip"])),
    "includeInResults": maybe(st.booleans()),
    "includeInResult": maybe(st.booleans()),
    "retry": maybe(retries),
    "ttl": maybe(st.integers(-1, 100)),
    "extraData": json_values,
    "stateType": maybe(st.sampled_from(["stateless", "stateful"])),
    "node_name": names,
    "batch_operation": st.sampled_from(["indexed", "cartesian"]),
}) | json_values
edges = st.fixed_dictionaries({}, optional={"source": maybe(names), "target": maybe(names)})
options = st.fixed_dictionaries({}, optional={
    "ttl": maybe(st.integers(-1, 5000)),
    "batchTolerance": maybe(st.integers(-1, 101)),
    "concurrentPipelines": maybe(st.fixed_dictionaries(
        {"amount": st.integers(0, 3)}, optional={"rejectOnFailure": st.booleans()})),
    "progressVerbosityLevel": maybe(st.sampled_from(["info", "debug", "verbose"])),
    "debugOverride": maybe(st.lists(names, max_size=3)),
})
pipelines = st.fixed_dictionaries({}, optional={
    "name": maybe(st.sampled_from(["p", "my-pipe", "a b", "", "x:y_z.1"])),
    "nodes": maybe(st.lists(nodes, max_size=5)),
    "flowInput": maybe(flow_inputs),
    "edges": maybe(st.lists(edges | json_values, max_size=3)),
    "options": maybe(options),
    "kind": maybe(st.sampled_from(["batch", "stream"])),
    "priority": maybe(st.integers(0, 6)),
    "experimentName": maybe(st.sampled_from(["main", "exp", "bad name"])),
    "triggers": maybe(st.fixed_dictionaries({}, optional={
        "cron": maybe(st.fixed_dictionaries({"pattern": maybe(st.text(max_size=12))},
                                            optional={"enabled": st.booleans()})),
        "pipelines": maybe(st.lists(st.text(max_size=4), max_size=3))})),
    "webhooks": maybe(st.fixed_dictionaries({}, optional={
        "progress": st.sampled_from(["http://h/p", "ftp://x", "nope"]),
        "result": st.sampled_from(["https://h/r", "x"])})),
    "tags": maybe(st.lists(st.text(max_size=40), max_size=3)),
    "streaming": json_values,
    "description": maybe(st.text(max_size=10)),
})

# ---------------------------------------------------------------------------------------
# generated DAGs: valid by construction, so every one must plan

node_names = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,5}", fullmatch=True).filter(
    lambda s: not s.startswith(("flowInput", "dataSource")))


@st.composite
def dag_pipelines(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 7))
    names_ = draw(st.lists(node_names, min_size=count, max_size=count, unique=True))
    fans_out: set[str] = set()
    built: list[dict[str, Any]] = []
    for i, name in enumerate(names_):
        leaves: list[Any] = []
        for parent in names_[:i]:
            sign = draw(st.sampled_from([None, None, "@", "@", "#@", "*@"]))
            if sign is None:
                continue
            if sign == "*@" and parent not in fans_out:
                sign = "@"
            leaves.append(sign + parent + draw(st.sampled_from(["", "", ".v", ".items.0"])))
        leaves += draw(st.lists(st.sampled_from(
            ["#[1...3]", "#[a, b]", "#[]", "#[3...1]", "#@flowInput.x", "@flowInput.s",
             "@flowInput", 7, None, True, "x@y", {"k": "@flowInput.o.a"}, [], {}]), max_size=2))
        if any(isinstance(v, str) and v.startswith(("#@", "#[")) for v in leaves):
            leaves = ["@" + v[2:] if isinstance(v, str) and v.startswith("*@") else v
                      for v in leaves]
        nested: list[Any] = []
        for leaf in draw(st.permutations(leaves)):
            wrap = draw(st.sampled_from(["", "", "list", "dict"]))
            nested.append([leaf] if wrap == "list" else {"k": leaf} if wrap == "dict" else leaf)
        if any(isinstance(v, str) and v.startswith(("#@", "#[", "*@"))
               for v in leaves):
            fans_out.add(name)
        node: dict[str, Any] = {"nodeName": name, "algorithmName": "alg",
                                "input": copy.deepcopy(nested)}  # sampled values are shared
        if draw(st.booleans()):
            node["batchOperation"] = draw(st.sampled_from(["indexed", "cartesian"]))
        if draw(st.integers(0, 4)) == 0:
            node["includeInResults"] = True
        built.append(node)
    pairs = [(a, b) for a in range(count) for b in range(a + 1, count)]
    chosen = draw(st.lists(st.sampled_from(pairs), max_size=3)) if pairs else []
    order = draw(st.permutations(range(count)))
    data: dict[str, Any] = {"name": "dag", "nodes": [built[i] for i in order],
                            "flowInput": copy.deepcopy(FLOW)}
    if chosen:
        data["edges"] = [{"source": names_[a], "target": names_[b]} for a, b in chosen]
    return data


# ---------------------------------------------------------------------------------------
# mutations (b)


def paths_in(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths_in(v, (*here, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths_in(v, (*here, i))
    return out


def get_at(root: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        root = root[part]
    return root


def put_at(root: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    get_at(root, path[:-1])[path[-1]] = value
    return root


def snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def node_dicts(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict) and isinstance(data.get("nodes"), list):
        return [n for n in data["nodes"] if isinstance(n, dict)]
    return []


@st.composite
def mutate(draw: st.DrawFn, data: Any) -> Any:
    op = draw(st.sampled_from([
        "drop", "retype", "insert-ref", "insert-ref", "rename-node", "rename-everywhere",
        "add-edge", "unicode", "respell-key", "duplicate-node", "shuffle-nodes", "wrap",
        "set-field"]))
    all_paths = paths_in(data)
    nodes_ = node_dicts(data)
    if op == "drop" and len(all_paths) > 1:
        path = draw(st.sampled_from(all_paths[1:]))
        del get_at(data, path[:-1])[path[-1]]
    elif op == "retype":
        data = put_at(data, draw(st.sampled_from(all_paths)), copy.deepcopy(draw(json_values)))
    elif op == "insert-ref":
        inside = [p for p in all_paths if len(p) >= 3 and p[0] == "nodes" and p[2] == "input"
                  and isinstance(get_at(data, p), list | dict)]
        containers = inside or [p for p in all_paths if isinstance(get_at(data, p), list | dict)]
        if containers:
            box = get_at(data, draw(st.sampled_from(containers)))
            leaf = draw(reference_strings | raw_batches | st.text(max_size=6))  # immutable
            if isinstance(box, list):
                box.insert(draw(st.integers(0, len(box))), leaf)
            else:
                box[draw(keys)] = leaf
    elif op in ("rename-node", "rename-everywhere") and nodes_:
        target = draw(st.sampled_from(nodes_))
        old, new = target.get("nodeName"), draw(names | scalars)
        target["nodeName"] = new
        if op == "rename-everywhere" and isinstance(old, str) and isinstance(new, str):
            for n in nodes_:
                if isinstance(n.get("input"), list):
                    n["input"] = json.loads(json.dumps(n["input"]).replace(
                        json.dumps("@" + old)[1:-1], json.dumps("@" + new)[1:-1]))
    elif op == "add-edge" and isinstance(data, dict):
        known = [n.get("nodeName") for n in nodes_] or ["A"]
        ends = st.sampled_from(known) | names | scalars
        if not isinstance(data.get("edges"), list):
            data["edges"] = []
        data["edges"].append({"source": draw(ends), "target": draw(ends)})
    elif op == "unicode":
        leaves = [p for p in all_paths if isinstance(get_at(data, p), str)]
        if leaves:
            data = put_at(data, draw(st.sampled_from(leaves)), draw(st.text(max_size=10)))
    elif op == "respell-key":
        boxes = [p for p in all_paths if isinstance(get_at(data, p), dict) and get_at(data, p)]
        if boxes:
            box = get_at(data, draw(st.sampled_from(boxes)))
            key = draw(st.sampled_from(sorted(box)))
            spelled = draw(st.sampled_from([snake(key), key.lower(), key[:-1], key + "s"]))
            box[spelled] = box.pop(key)
    elif op == "duplicate-node" and nodes_:
        data["nodes"].append(copy.deepcopy(draw(st.sampled_from(nodes_))))
    elif op == "shuffle-nodes" and nodes_:
        data["nodes"] = draw(st.permutations(data["nodes"]))
    elif op == "wrap":
        inside = [p for p in all_paths if len(p) >= 4 and p[0] == "nodes" and p[2] == "input"]
        if inside:
            path = draw(st.sampled_from(inside))
            value = get_at(data, path)
            data = put_at(data, path, [value] if draw(st.booleans()) else {"k": value})
    elif op == "set-field" and nodes_:
        field, value = draw(st.sampled_from([
            ("batchOperation", "cartesian"), ("includeInResults", True),
            ("includeInResult", True), ("kind", "output"), ("input", []),
            ("input", ["*#@A"]), ("ttl", 0), ("retry", {"policy": "Never"})]))
        draw(st.sampled_from(nodes_))[field] = copy.deepcopy(value)
    return data


@st.composite
def mutated_examples(draw: st.DrawFn) -> Any:
    name = draw(st.sampled_from(sorted(EXAMPLES)))
    data = copy.deepcopy(EXAMPLES[name])
    for _ in range(draw(st.integers(1, 4))):
        data = draw(mutate(data))
    return data


@st.composite
def mutated_dags(draw: st.DrawFn) -> Any:
    data = copy.deepcopy(draw(dag_pipelines()))
    for _ in range(draw(st.integers(1, 3))):
        data = draw(mutate(data))
    return data


# ---------------------------------------------------------------------------------------
# (a) random values and descriptor shapes


@budget(400)
@given(json_values, st.booleans())
def test_random_json_values(data: Any, check_flow_input: bool) -> None:
    check_deterministic(data, check_flow_input)


@budget(600)
@given(pipelines, st.booleans())
def test_random_descriptor_shapes(data: Any, check_flow_input: bool) -> None:
    check_deterministic(data, check_flow_input)


@budget(400)
@given(dag_pipelines())
def test_generated_dags_always_plan(data: dict[str, Any]) -> None:
    result = check_deterministic(data)
    assert result.plan is not None, [str(d) for d in result.errors]
    plan = result.plan
    by_name = {n["nodeName"]: n for n in data["nodes"]}
    assert [n.name for n in sorted(plan.nodes, key=lambda n: n.position)] == list(by_name)
    children: dict[str, set[str]] = {name: set() for name in by_name}
    for n in plan.nodes:
        for parent in n.parents:
            children[parent.node].add(n.name)
    for edge in data.get("edges", []):
        assert "order" in next(p.relations for p in plan.node(edge["target"]).parents
                               if p.node == edge["source"])
    for n in plan.nodes:
        leaves = json.dumps(by_name[n.name]["input"])
        assert (n.batch is not None) == ('"#@' in leaves or '"#[' in leaves)
        assert set(n.wait_any) == {r.ref.node for r in n.refs if r.ref.kind == "waitAny"}
        assert n.batch is None or n.batch.operation == \
            by_name[n.name].get("batchOperation", "indexed")
        assert set(n.children) == children[n.name]
        assert n.is_result == (not children[n.name]
                               or bool(by_name[n.name].get("includeInResults")))
    assert list(plan.results) == [name for name in by_name if plan.node(name).is_result]


# ---------------------------------------------------------------------------------------
# (b) mutations of the examples (and of generated DAGs)


def test_examples_are_valid_starting_points() -> None:
    for name, data in EXAMPLES.items():
        result = validate(copy.deepcopy(data))
        assert result.plan is not None, (name, [str(d) for d in result.errors])


@budget(900)
@given(mutated_examples(), st.booleans())
def test_mutated_examples(data: Any, check_flow_input: bool) -> None:
    check_deterministic(data, check_flow_input)


@budget(500)
@given(mutated_dags())
def test_mutated_dags(data: Any) -> None:
    check_deterministic(data)


# ---------------------------------------------------------------------------------------
# keys HKube does not know change nothing but ``extra`` (section 1: open objects)

SNAKE_SPELLINGS = {
    "node": ["node_name", "algorithm_name", "batch_operation", "include_in_results",
             "include_in_result", "extra_data", "state_type", "min_stateless_count"],
    "pipeline": ["flow_input", "experiment_name", "root_job_id"],
    "options": ["batch_tolerance", "active_ttl", "progress_verbosity_level", "debug_override"],
}
KNOWN = {"node": set(NODE_KEYS), "pipeline": set(PIPELINE_KEYS), "options": set(OPTION_KEYS)}
unknown_values = st.sampled_from(["cartesian", "indexed", True, False, 0, 1, 5, -1, "X",
                                  None, {"a": 1}, ["A"], "debug"]) | json_values


@budget(300)
@given(dag_pipelines(), st.sampled_from(["node", "pipeline", "options"]), st.data())
def test_unknown_keys_do_not_change_the_plan(data: dict[str, Any], where: str,
                                             draw: st.DataObject) -> None:
    key = draw.draw(st.sampled_from(SNAKE_SPELLINGS[where])
                    | st.text(min_size=1, max_size=8).filter(lambda k: k not in KNOWN[where]),
                    label="key")
    value = draw.draw(unknown_values, label="value")
    base = validate(copy.deepcopy(data))
    assert base.plan is not None
    changed = copy.deepcopy(data)
    if where == "node":
        index = draw.draw(st.integers(0, len(changed["nodes"]) - 1), label="node")
        box = changed["nodes"][index]
    elif where == "options":
        box = changed.setdefault("options", {})
    else:
        box = changed
    box[key] = value
    result = validate(changed)
    assert result.plan is not None, [str(d) for d in result.errors]
    expected = base.plan.to_json()
    if where == "node":
        name = changed["nodes"][index]["nodeName"]
        for n in expected["nodes"]:
            if n["name"] == name:
                n["extra"] = {**n["extra"], key: value}
    assert result.plan.to_json() == expected


# ---------------------------------------------------------------------------------------
# closed objects name the unknown key they reject

CLOSED = {
    "webhooks": ("webhooks",), "triggers": ("triggers",),
    "cron": ("triggers", "cron"), "retry": ("nodes", 0, "retry"),
    "concurrentPipelines": ("options", "concurrentPipelines"),
}


@budget(150)
@given(st.sampled_from(sorted(CLOSED)),
       st.sampled_from(["foo", "a[0]", "~x", "int[1]"]) | st.text(min_size=1, max_size=8))
def test_unknown_key_in_closed_object_is_named(where: str, key: str) -> None:
    data: dict[str, Any] = {"name": "p", "nodes": [{"nodeName": "A", "algorithmName": "alg"}]}
    filler: dict[str, Any] = {"cron": {"pattern": "* * * * *"}, "concurrentPipelines":
                              {"amount": 1}}
    path = CLOSED[where]
    box: Any = data
    for part in path:
        if isinstance(part, int):
            box = box[part]
            continue
        box = box.setdefault(part, copy.deepcopy(filler.get(part, {})))
    if key in box or key in {"progress", "result", "cron", "pipelines", "pattern", "enabled",
                             "policy", "limit", "amount", "rejectOnFailure"}:
        return
    box[key] = 1
    result = validate(data)
    assert result.plan is None
    wanted = (*path, key)
    assert any(d.loc == wanted and f"'{key}'" in d.message for d in result.errors), \
        [(d.loc, d.message) for d in result.errors]


# ---------------------------------------------------------------------------------------
# (c) random text through the loaders

YAML_TOKENS = [
    "name: p\n", "nodes:\n", "  - nodeName: A\n", "    algorithmName: alg\n", "    input:\n",
    "      - ", "'@A'", "\"#[1...3]\"", "'*@A'", "'#@flowInput.x'", "flowInput:\n",
    "  x: [1, 2]\n", "edges:\n", "  - {source: A, target: B}\n", "- ", "[", "]", "{", "}",
    ": ", ", ", "\n", "  ", "&a ", "*a", "<<: ", "---\n", "...\n", "'", "\"", "~", "null",
    "1e400", ".inf", ".nan", "0x1F", "0o17", "1_000", "true", "yes", "on", "2024-01-01",
    "|\n", ">\n", "# c\n", "? ", "!!int ", "!!float ", "!!bool ", "!!str ", "!!null ",
    "!!binary ", "!!set ", "!!omap ", "!!timestamp ", "!!python/object ", "!custom ",
    "abc", "-", "1:2:3", "%YAML 1.2\n", "\t", "@", "#@", "\\u00e9", "é", "\ufeff",
]
JSON_TOKENS = [
    "{", "}", "[", "]", ",", ":", "\"name\"", "\"nodes\"", "\"nodeName\"", "\"input\"",
    "\"algorithmName\"", "\"A\"", "\"@A\"", "\"#[1,2]\"", "\"*@A\"", "\"flowInput\"", "1",
    "-0", "1e400", "-1e400", "1.5e-400", "NaN", "Infinity", "true", "null", "\"\\ud800\"",
    "\"\\u0000\"", " ", "\n", "\"", "\\", "\"edges\"", "\"source\"", "\"target\"",
]

yaml_soup = st.lists(st.sampled_from(YAML_TOKENS), max_size=40).map("".join)
json_soup = st.lists(st.sampled_from(JSON_TOKENS), max_size=40).map("".join)


@st.composite
def spliced(draw: st.DrawFn, texts: list[str], tokens: list[str]) -> str:
    text = draw(st.sampled_from(texts))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 5))
        text = text[:at] + draw(st.sampled_from(tokens) | st.text(max_size=3)) + text[at + cut:]
    return text


EXAMPLE_JSON = [json.dumps(d, indent=1) for d in EXAMPLES.values()]
yaml_texts = (st.text(max_size=60) | yaml_soup | spliced(list(EXAMPLE_TEXTS.values()),
                                                         YAML_TOKENS)
              | json_values.map(lambda v: yaml.safe_dump(v, allow_unicode=True))
              | dag_pipelines().map(yaml.safe_dump))
json_texts = (st.text(max_size=60) | json_soup | spliced(EXAMPLE_JSON, JSON_TOKENS)
              | json_values.map(json.dumps) | dag_pipelines().map(json.dumps))


def through_loader(text: str, file: str, fmt: str) -> None:
    for desc in load(text, file, fmt):
        validate_loaded(desc)


@budget(700)
@given(yaml_texts)
def test_random_yaml_text(text: str) -> None:
    through_loader(text, "x.yaml", "yaml")


@budget(700)
@given(json_texts)
def test_random_json_text(text: str) -> None:
    through_loader(text, "x.json", "json")


# ---------------------------------------------------------------------------------------
# the smallest reproducers of what the properties found (each one a finding)

class _Fixed:
    """Stands in for ``st.data()``: hands out fixed values, in order."""

    def __init__(self, values: list[Any]):
        self.values = list(values)

    def draw(self, strategy: Any, label: str | None = None) -> Any:
        return self.values.pop(0)


REPRODUCERS: list[tuple[str, Callable[[], None]]] = [
    ("yaml-explicit-int-tag", lambda: through_loader("a: !!int abc\n", "x.yaml", "yaml")),
    ("yaml-explicit-float-tag", lambda: through_loader("a: !!float abc\n", "x.yaml", "yaml")),
    ("yaml-explicit-int-empty", lambda: through_loader("a: !!int ''\n", "x.yaml", "yaml")),
    ("json-number-overflow", lambda: through_loader(
        '{"name": "p", "nodes": [{"nodeName": "A", "algorithmName": "alg"}], '
        '"flowInput": {"a": 1e400}}', "x.json", "json")),
    ("flowInput-path-superscript-digit", lambda: validate(
        {"name": "p", "flowInput": {"a": [1]},
         "nodes": [{"nodeName": "A", "algorithmName": "alg", "input": ["@flowInput.a.²"]}]})),
    ("yaml-deep-nesting", lambda: through_loader(
        "name: p\nnodes:\n  - nodeName: A\n    algorithmName: alg\n    input: "
        + "[" * 600 + "]" * 600 + "\n", "x.yaml", "yaml")),
    ("json-deep-nesting-input", lambda: through_loader(
        '{"name": "p", "nodes": [{"nodeName": "A", "algorithmName": "alg", "input": '
        + "[" * 600 + "]" * 600 + "}]}", "x.json", "json")),
    # called directly: the harness's own deepcopy cannot copy 600 levels either
    ("deep-input-in-memory", lambda: check_outcome(validate_descriptor(Descriptor(
        {"name": "p", "nodes": [{"nodeName": "A", "algorithmName": "alg",
                                 "input": json.loads("[" * 600 + "]" * 600)}]},
        Source(FILE))))),
    ("closed-object-key-with-bracket", lambda: test_unknown_key_in_closed_object_is_named
        .hypothesis.inner_test("webhooks", "a[0]")),
    ("snake-case-batch-operation", lambda: test_unknown_keys_do_not_change_the_plan
        .hypothesis.inner_test(
            {"name": "p", "nodes": [{"nodeName": "A", "algorithmName": "alg",
                                     "input": ["#[1,2]", "#[3,4]"]}]},
            "node", _Fixed(["batch_operation", "cartesian", 0]))),
    ("snake-case-node-name-duplicates", lambda: validate(
        {"name": "p", "nodes": [{"node_name": "A", "algorithmName": "alg"},
                                {"node_name": "A", "algorithmName": "alg"}]})),
    ("snake-case-node-name-order", lambda: validate(
        {"name": "p", "nodes": [{"node_name": "A", "algorithmName": "alg", "input": ["@B"]},
                                {"nodeName": "B", "algorithmName": "alg"}]})),
]


@pytest.mark.parametrize("case", [c[1] for c in REPRODUCERS], ids=[c[0] for c in REPRODUCERS])
def test_reproducer(case: Callable[[], None]) -> None:
    case()


# ---------------------------------------------------------------------------------------
# determinism across processes (hash seeds change set and dict-of-set orders)

DETERMINISM_CASES: list[Any] = [
    *EXAMPLES.values(),
    {"name": "p", "nodes": [{"nodeName": "ab", "algorithmName": "alg"},
                            {"nodeName": "AB", "algorithmName": "alg"}],
     "edges": [{"source": "ab", "target": "Ab"}]},
    {"name": "p", "nodes": [{"nodeName": "ab", "algorithmName": "alg"},
                            {"nodeName": "AB", "algorithmName": "alg", "input": ["@Ab"]}]},
    {"name": "p", "nodes": [{"nodeName": n, "algorithmName": "alg",
                             "input": [f"@{p}" for p in "ABCDE"[:i]]}
                            for i, n in enumerate("EDCBA"[::-1])]},
    {"name": "p", "nodes": [{"nodeName": "X", "algorithmName": "alg",
                             "input": ["*@A", "@A", "*@B", "@C"]},
                            {"nodeName": "A", "algorithmName": "alg", "input": ["#[1,2]"]},
                            {"nodeName": "B", "algorithmName": "alg", "input": ["#[3]"]},
                            {"nodeName": "C", "algorithmName": "alg", "input": ["@A"]}],
     "edges": [{"source": "B", "target": "C"}, {"source": "A", "target": "X"}]},
]
SCRIPT = """
import json, sys
from hkube2argo.loading import Descriptor, Source
from hkube2argo.validate import validate_descriptor
out = []
for data in json.load(sys.stdin):
    r = validate_descriptor(Descriptor(data, Source("mem.yaml")))
    out.append([None if r.plan is None else r.plan.to_json(), [str(d) for d in r.diagnostics]])
print(json.dumps(out, sort_keys=True))
"""


@pytest.fixture(scope="module")
def per_seed() -> dict[str, list[Any]]:
    runs = {}
    for seed in ("1", "2", "3", "4"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", SCRIPT], input=json.dumps(DETERMINISM_CASES),
                              capture_output=True, text=True, env=env, cwd=ROOT, check=True,
                              timeout=120)
        runs[seed] = json.loads(done.stdout)
    return runs


def test_plans_identical_across_hash_seeds(per_seed: dict[str, list[Any]]) -> None:
    plans = {seed: [case[0] for case in out] for seed, out in per_seed.items()}
    first = plans["1"]
    assert all(p is not None for p in first[:len(EXAMPLES)])
    for seed, other in plans.items():
        assert other == first, f"PYTHONHASHSEED={seed} gives another plan"


def test_diagnostics_identical_across_hash_seeds(per_seed: dict[str, list[Any]]) -> None:
    diags = {seed: [case[1] for case in out] for seed, out in per_seed.items()}
    for seed, other in diags.items():
        assert other == diags["1"], f"PYTHONHASHSEED={seed} gives other messages"
