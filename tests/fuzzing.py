"""The fuzz campaign: its cases and its oracle, shared by ``tests/test_fuzz.py`` (a fast,
derandomized profile in the suite) and ``bench/fuzz_campaign.py`` (the long one).

Cases are pipeline descriptors (random shapes, mutated examples, generated DAGs that are
valid by construction, wait-any-heavy DAGs, hostile text in every field a user writes,
random YAML and JSON text) and algorithm descriptors (both shapes, hostile values, the
Kubernetes objects HKube passes through). The oracle checks, for each case:

* nothing raises but the project's own error types (``ValidationFailed``);
* a compiled pipeline's manifests are lint-clean (compile lints them itself; a
  ``ManifestInvalid`` is a bug), deterministic (two compiles, same bytes), and their YAML
  has no plain scalar that a YAML 1.1 or 1.2 decoder (kubectl's) reads as anything but a
  string;
* no user ``{{`` reaches text Argo substitutes: the manifests of the case and of the same
  case with every ``{`` of the descriptor replaced hold as many ``{{`` as each other.

The oracle uses only the stages' public entry points, so it runs against any version of
the package (the campaign's "before" figures).
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from hkube2argo import serialize
from hkube2argo.compiler import compile_manifests
from hkube2argo.config import DEFAULT
from hkube2argo.diagnostics import ValidationFailed
from hkube2argo.loading import Descriptor, Source, parse_text
from hkube2argo.validate import Catalog, load_algorithms, validate_descriptor

from .test_property import (
    dag_pipelines,
    json_texts,
    json_values,
    mutate,
    mutated_dags,
    mutated_examples,
    pipelines,
    yaml_texts,
)

CONFIG = DEFAULT.with_overrides(namespace="fuzz")
ALGORITHM_NAMES = ("alg", "green-alg", "x-y")

# Text a user may write anywhere: Argo tags in every nesting, YAML words that other
# decoders read as booleans, numbers or null, surrogates, control characters.
HOSTILE = [
    "{{", "}}", "{{{x}}}", "{{{{workflow.name}}}}", "{{workflow.name}}", "{ {x}}", "{\u200b{",
    "{{inputs.parameters.task}}", "a{{b", "{", "{{{", "{{ item }}", "x{{=sprig.now()}}",
    "y", "Y", "n", "N", "yes", "no", "on", "off", "~", "null", "Null", "1e5", "1E5", "+1e5",
    "1.0e5", "0o7", "0x1F", "0b101", "1_000", ".inf", "-.inf", ".nan", ".5", "1.", "=", "<<",
    "2024-01-01", "12:30:45", "0777", "-0", "1:20", "true", "False", "", " ", "-", "?", ":",
    "#x", "@A", "\ud800", "\udfff", "x\ud800y", "\x00", "\x7f", "\u2028", "\ufeff", "é",
    "a\nb", "\t", "'", '"', "\\", "|", ">", "%YAML", "---", "...", "&a", "*a", "!tag",
]
hostile = st.sampled_from(HOSTILE) | st.builds(
    lambda a, b: a + b, st.sampled_from(HOSTILE), st.sampled_from(HOSTILE))
user_text = hostile | st.text(max_size=12)


# ---------------------------------------------------------------------------------------
# pipelines


@st.composite
def wait_any_dags(draw: st.DrawFn) -> dict[str, Any]:
    """DAGs rich in ``*@`` (alone, with ``@`` on the same parent, several parents, chains
    of wait-any nodes), all valid by HKube's rules: ``*@X`` only on nodes that fan out,
    never beside ``#@``/``#[`` in one node."""
    count = draw(st.integers(2, 7))
    names = [f"N{i}" for i in range(count)]
    fans: set[str] = set()
    built: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        earlier = names[:i]
        shape = draw(st.sampled_from(["batch", "batch", "wait", "wait", "wait", "plain"]))
        leaves: list[Any] = []
        if shape == "batch" or (shape == "wait" and not fans & set(earlier)):
            leaves.append(draw(st.sampled_from(["#[1,2]", "#[1...3]", "#@flowInput.x",
                                                "#[]", "#[a]"])))
            for parent in draw(st.lists(st.sampled_from(earlier), max_size=2, unique=True)
                               if earlier else st.just([])):
                leaves.append(draw(st.sampled_from(["@", "@"])) + parent)
        elif shape == "wait":
            waits = draw(st.lists(st.sampled_from(sorted(fans & set(earlier))), min_size=1,
                                  max_size=3, unique=True))
            for parent in waits:
                leaves.append("*@" + parent + draw(st.sampled_from(["", "", ".v"])))
                if draw(st.integers(0, 2)) == 0:
                    leaves.append("@" + parent)
            for parent in draw(st.lists(st.sampled_from(earlier), max_size=2, unique=True)):
                leaves.append("@" + parent)
        else:
            for parent in draw(st.lists(st.sampled_from(earlier), max_size=2, unique=True)
                               if earlier else st.just([])):
                leaves.append("@" + parent)
            leaves.append(draw(st.sampled_from(["@flowInput.s", 1, "x"])))
        if any(isinstance(v, str) and v.startswith(("#", "*")) for v in leaves):
            fans.add(name)
        built.append({"nodeName": name, "algorithmName": "alg",
                      "input": draw(st.permutations(leaves))})
    data: dict[str, Any] = {"name": "wait-any", "nodes": built,
                            "flowInput": {"x": [1, 2, 3], "s": "s"}}
    pairs = [(a, b) for a in range(count) for b in range(a + 1, count)]
    chosen = draw(st.lists(st.sampled_from(pairs), max_size=2))
    if chosen:
        data["edges"] = [{"source": names[a], "target": names[b]} for a, b in chosen]
    return data


TEXT_FIELDS = ["description", "experimentName", "tags", "flowInput", "input", "nodeName",
               "name", "extraData", "webhooks"]


@st.composite
def hostile_pipelines(draw: st.DrawFn) -> dict[str, Any]:
    """A valid pipeline with hostile text put where users write text."""
    data = copy.deepcopy(draw(dag_pipelines() | wait_any_dags()))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(TEXT_FIELDS))
        text = draw(user_text)
        node = draw(st.sampled_from(data["nodes"]))
        if where == "description":
            data["description"] = text
        elif where == "experimentName":
            data["experimentName"] = text
        elif where == "tags":
            data.setdefault("tags", []).append(text)
        elif where == "flowInput":
            data["flowInput"][draw(st.sampled_from(["lit", text]))] = text
        elif where == "input":
            node["input"].append(text if not text.startswith(("@", "#", "*", "$$")) else "x")
        elif where == "nodeName":
            node["nodeName"] = text
        elif where == "name":
            data["name"] = text
        elif where == "extraData":
            node["extraData"] = {text: text}
        else:
            data["webhooks"] = {"result": "http://h/" + text}
    return data


pipeline_values = (pipelines | mutated_examples() | dag_pipelines() | mutated_dags()
                   | wait_any_dags() | hostile_pipelines()
                   | wait_any_dags().flatmap(mutate) | json_values)
pipeline_texts = (yaml_texts.map(lambda t: ("yaml", t)) | json_texts.map(lambda t: ("json", t))
                  | hostile_pipelines().map(lambda d: ("json", json.dumps(d)))
                  | hostile_pipelines().map(
                      lambda d: ("yaml", yaml.safe_dump(d, allow_unicode=True))))
pipeline_cases = (pipeline_values.map(lambda d: ("value", d)) | pipeline_texts)


# ---------------------------------------------------------------------------------------
# algorithms

k8s_objects = st.one_of(
    st.just({}), json_values,
    st.fixed_dictionaries({}, optional={"name": user_text, "emptyDir": st.just({}),
                                        "mountPath": user_text, "key": user_text,
                                        "configMap": st.fixed_dictionaries(
                                            {}, optional={"name": user_text})}))
env_values = user_text | st.fixed_dictionaries({}, optional={
    "secretKeyRef": st.fixed_dictionaries({}, optional={"name": user_text, "key": user_text}),
    "configMapKeyRef": st.fixed_dictionaries({}, optional={"name": user_text,
                                                           "key": user_text}),
    "fieldRef": st.fixed_dictionaries({}, optional={"fieldPath": user_text}),
    "resourceFieldRef": st.just({}),
}) | json_values
ALGORITHM_FIELDS = {
    "name": st.sampled_from(["x", "Alg", "a" * 40]) | user_text,
    "algorithmImage": st.sampled_from(["img", "a b"]) | user_text,
    "image": st.sampled_from(["hkube/alg:1"]) | user_text,
    "cpu": st.sampled_from([0.1, 1, "1", "500m", -1, 0]) | user_text | json_values,
    "mem": st.sampled_from(["64Mi", "1Gi", "3Mi", 5]) | user_text | json_values,
    "gpu": st.sampled_from([0, 1, "1"]) | user_text,
    "resources": st.fixed_dictionaries({}, optional={"cpu": st.sampled_from([0.1, "x"]),
                                                     "mem": st.sampled_from(["64Mi", "y"])}),
    "env": st.sampled_from(["python", "nodejs", "java", "go"]) | user_text,
    "entryPoint": user_text,
    "algorithmEnv": st.dictionaries(user_text, env_values, max_size=3) | json_values,
    "workerEnv": st.dictionaries(user_text, env_values, max_size=2),
    "nodeSelector": st.dictionaries(user_text, user_text, max_size=2) | json_values,
    "labels": st.dictionaries(user_text, user_text, max_size=2),
    "annotations": st.dictionaries(user_text, user_text, max_size=2),
    "mounts": st.lists(st.fixed_dictionaries({}, optional={"pvcName": user_text,
                                                           "path": user_text}), max_size=2),
    "volumes": st.lists(k8s_objects, max_size=2) | json_values,
    "volumeMounts": st.lists(k8s_objects, max_size=2) | json_values,
    "sideCars": st.lists(k8s_objects, max_size=1),
    "reservedMemory": user_text,
    "type": st.sampled_from(["Image", "Code", "Git"]) | user_text,
    "options": json_values,
}


@st.composite
def algorithm_values(draw: st.DrawFn) -> Any:
    """A valid image algorithm with one to three fields set to odd or hostile values (or,
    now and then, any JSON value)."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    data: dict[str, Any] = {"name": "alg", "algorithmImage": "hkube/alg:1"}
    for key in draw(st.lists(st.sampled_from(sorted(ALGORITHM_FIELDS)), min_size=1,
                             max_size=3, unique=True)):
        data[key] = draw(ALGORITHM_FIELDS[key])
    return data


# ---------------------------------------------------------------------------------------
# the oracle


class Finding(AssertionError):
    """The campaign found a defect; the message says which property broke."""


@dataclass
class Outcome:
    kind: str  # refused | planned | compiled
    compiled: int = 0


def algorithm_catalog(folder: Path) -> Catalog:
    """Image algorithms for the names the generated pipelines use."""
    for name in ALGORITHM_NAMES:
        (folder / f"{name}.json").write_text(json.dumps(
            {"name": name, "algorithmImage": f"hkube/{name}:1", "cpu": 0.1, "mem": "64Mi"}),
            encoding="utf-8")
    catalog = load_algorithms([folder])
    assert not catalog.errors, catalog.errors
    return catalog


# What YAML 1.1 (go-yaml v2, which kubectl's decoder uses) or YAML 1.2 (core schema, and
# Go's strconv as go-yaml calls it) read as something other than a string when plain.
_NOT_A_STRING = re.compile(r"""(?x)^(?:
      y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
    | ~|null|Null|NULL|<<|=
    | [-+]?(?:0[bB][01_]+|0[oO]?[0-7_]+|0[xX][0-9a-fA-F_]+|[0-9][0-9_]*)
    | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?
    | [-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    | [-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+
    | [-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)
    | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}.*)?
    )$""")


def plain_strings_misread(text: str) -> list[str]:
    """Plain scalars PyYAML reads as strings that another YAML decoder would not."""
    found = []
    for document in yaml.compose_all(text, Loader=yaml.SafeLoader):
        stack = [document]
        while stack:
            node = stack.pop()
            if isinstance(node, yaml.MappingNode):
                stack.extend(v for pair in node.value for v in pair)
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
            elif (node is not None and not node.style
                  and node.tag == "tag:yaml.org,2002:str" and _NOT_A_STRING.match(node.value)):
                found.append(node.value)
    return found


def tag_count(value: Any) -> int:
    """``{{`` in every string (keys too) of a JSON value."""
    stack = [value]
    count = 0
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            count += item.count("{{")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def without_braces(value: Any) -> Any:
    """The same descriptor with no ``{`` anywhere: its user text can hold no tag."""
    if isinstance(value, str):
        return value.replace("{", "(")
    if isinstance(value, dict):
        return {without_braces(k): without_braces(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_braces(v) for v in value]
    return value


def _compile(desc: Descriptor, catalog: Catalog) -> list[dict[str, Any]] | None:
    """The manifests, or None when the descriptor is refused in words."""
    result = validate_descriptor(desc, catalog, triggered_runs=True)
    if result.plan is None:
        if not result.errors:
            raise Finding("no plan and no error")
        return None
    try:
        return compile_manifests(result.plan, CONFIG).documents()
    except ValidationFailed as exc:
        if not exc.errors:
            raise Finding("compile refused without an error") from None
        return None


def check_descriptor(desc: Descriptor, catalog: Catalog) -> Outcome:
    documents = _compile(desc, catalog)
    if documents is None:
        return Outcome("refused")
    text = serialize.dump_all(documents)
    again = _compile(Descriptor(copy.deepcopy(desc.data), desc.source), catalog)
    if again is None or serialize.dump_all(again) != text:
        raise Finding("two compiles of one descriptor differ")
    misread = plain_strings_misread(text)
    if misread:
        raise Finding(f"plain YAML scalars another decoder misreads: {misread[:5]}")
    if tag_count(desc.data):
        plain = _compile(Descriptor(without_braces(desc.data), desc.source), catalog)
        if plain is not None and tag_count(plain) != tag_count(documents):
            raise Finding(f"user '{{{{' survives into the manifests "
                          f"({tag_count(documents)} tags, {tag_count(plain)} without it)")
    return Outcome("compiled", len(documents))


def check_pipeline_case(case: tuple[str, Any], catalog: Catalog) -> Outcome:
    """One pipeline case; raises Finding (or anything else: a crash) on a defect."""
    kind, payload = case
    if kind == "value":
        descriptors = [Descriptor(payload, Source("fuzz.yaml"))]
    else:
        try:
            descriptors = parse_text(payload, f"fuzz.{kind}", kind)
        except ValidationFailed as exc:
            if not exc.errors:
                raise Finding("loading refused without an error") from None
            return Outcome("refused")
    outcomes = [check_descriptor(d, catalog) for d in descriptors]
    compiled = [o for o in outcomes if o.kind == "compiled"]
    return Outcome("compiled" if compiled else "refused", sum(o.compiled for o in compiled))


PROBE = {"name": "probe", "nodes": [{"nodeName": "A", "algorithmName": "alg",
                                     "input": ["#[1,2]"]},
                                    {"nodeName": "B", "algorithmName": "alg",
                                     "input": ["@A"]}]}


def check_algorithm_case(data: Any, fmt: str, folder: Path) -> Outcome:
    """One algorithm file: loading gives a catalogue (never raises); a valid algorithm
    compiles into a pipeline that uses it."""
    path = folder / f"alg.{fmt}"
    text = json.dumps(data) if fmt == "json" else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    catalog = load_algorithms([path])
    if catalog.errors or not catalog.specs:
        return Outcome("refused")
    name = next(iter(catalog.specs))
    probe = copy.deepcopy(PROBE)
    for node in probe["nodes"]:
        node["algorithmName"] = name
    return check_descriptor(Descriptor(probe, Source("probe.yaml")), catalog)


@dataclass
class Workspace:
    folder: Path
    catalog: Catalog


@contextlib.contextmanager
def workspace() -> Iterator[Workspace]:
    """A temporary folder with the generated pipelines' algorithm catalogue."""
    with tempfile.TemporaryDirectory(prefix="h2a-fuzz-") as tmp:
        folder = Path(tmp)
        (folder / "catalog").mkdir()
        (folder / "files").mkdir()
        yield Workspace(folder / "files", algorithm_catalog(folder / "catalog"))
