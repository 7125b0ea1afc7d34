"""Strict offline validation of Argo manifests against Argo's own JSON schemas.

Argo's published schemas never set ``additionalProperties: false``, so a misspelled
field passes them. Here every object definition is closed at load time (the recipe in
argo-notes section 1.3) and IntOrString accepts integers as the controller does. All 225
upstream examples pass this strict form, so a failure is a real mistake.
"""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft7Validator, Draft202012Validator

WORKFLOWS = {"Workflow", "WorkflowTemplate", "CronWorkflow"}
EVENTS = {"EventSource", "Sensor", "EventBus"}
_NAMESPACE = {"argo-workflows": "io.argoproj.workflow.v1alpha1.",
              "argo-events": "io.argoproj.events.v1alpha1."}


@dataclass(frozen=True)
class Problem:
    document: int  # position in the list given to lint
    kind: str
    name: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}: {self.path or '(top)'}: {self.message}"


def crd_limits() -> list[dict[str, Any]]:
    """The full CRDs' constraints the JSON schema lacks: definition, pointer inside it,
    keyword and the value(s) per release."""
    data = resources.files(__package__).joinpath("data/argo-workflows.crd-limits.json")
    return json.loads(data.read_text(encoding="utf-8"))["constraints"]


def _add_crd_limits(defs: dict[str, Any]) -> None:
    for limit in crd_limits():
        node = defs[limit["definition"]]
        for key in limit["pointer"]:
            node = node[key]
        first, *others = (v["value"] for v in limit["values"])
        node[limit["keyword"]] = first
        if others:  # the releases differ: each one's value must hold
            node.setdefault("allOf", []).extend({limit["keyword"]: v} for v in others)


@cache
def _definitions(project: str) -> dict[str, Any]:
    data = resources.files(__package__).joinpath(f"data/{project}.schema.json.gz").read_bytes()
    defs = json.loads(gzip.decompress(data))["definitions"]
    strict = copy.deepcopy(defs)
    if project == "argo-workflows":
        _add_crd_limits(strict)
    strict["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {"type": ["string", "integer"]}
    for definition in strict.values():
        if definition.get("type") == "object" and "properties" in definition \
                and "additionalProperties" not in definition:
            definition["additionalProperties"] = False
    return strict


# The one Kubernetes kind compile writes (the semaphore key, emit/semaphore.py): the
# ConfigMap's fields (Kubernetes API reference, core/v1 ConfigMap), closed like the others;
# data values are strings, as Argo's getSyncLimit reads them.
CORE = {"ConfigMap"}
_CONFIGMAP = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata"],
    "properties": {
        "apiVersion": {"const": "v1"},
        "kind": {"const": "ConfigMap"},
        "metadata": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
        "data": {"type": "object", "additionalProperties": {"type": "string"}},
        "binaryData": {"type": "object", "additionalProperties": {"type": "string"}},
        "immutable": {"type": "boolean"},
    },
    "additionalProperties": False,
}


@cache
def validator(kind: str) -> Any:
    if kind in CORE:
        return Draft202012Validator({**_CONFIGMAP,
                                     "definitions": _definitions("argo-workflows")})
    project = "argo-events" if kind in EVENTS else "argo-workflows"
    schema = {"$ref": f"#/definitions/{_NAMESPACE[project]}{kind}",
              "definitions": _definitions(project)}
    cls = Draft7Validator if project == "argo-events" else Draft202012Validator
    return cls(schema)


@cache
def _object_validator(definition: str) -> Any:
    return Draft202012Validator({"$ref": f"#/definitions/{definition}",
                                 "definitions": _definitions("argo-workflows")})


def check_object(definition: str, value: Any) -> list[tuple[tuple[Any, ...], str]]:
    """(path, message) of every strict-schema problem of one Kubernetes object (such as
    ``io.k8s.api.core.v1.Volume``) that a descriptor passes through to a manifest."""
    errors = _object_validator(definition).iter_errors(value)
    return [(tuple(e.absolute_path), e.message)
            for e in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])]


# Keywords whose outcome depends only on an instance's keys and JSON types, never on its
# scalar values (``x-kubernetes-*`` are annotations, ignored by the validators).
_SHAPE_ONLY = {"description", "title", "type", "$ref", "properties", "additionalProperties",
               "items", "required", "x-kubernetes-list-type", "x-kubernetes-patch-strategy",
               "x-kubernetes-patch-merge-key", "x-kubernetes-list-map-keys",
               "x-kubernetes-map-type", "x-kubernetes-group-version-kind",
               # a list's length: part of its shape; reduce() checks it on the whole list
               "minItems", "maxItems"}

_BESIDE_REF = {"$ref", "definitions", "description", "title"}


class _Shapes:
    """Reduces a document to one element per distinct *shape* in each list, where the list's
    item schema looks at shapes only: a 1,000-node DAG's tasks then cost a few checks, not
    a thousand, with no loss of strictness.

    Two instances have the same shape when they have the same keys at every depth, the same
    JSON types, and, wherever the schema constrains values (pattern, enum, maxLength... or
    any keyword not known to be shape-only), scalars that each pass that constraint (checked
    alone, once per distinct value) or equal values. Under a schema made of
    ``type``/``properties``/``additionalProperties``/``items``/``required`` such instances
    are valid or invalid together, so the reduced document is valid exactly when the whole
    one is. A list's length limits (the CRD's maxItems) are checked on the whole list: one
    out of bounds is kept whole; other list constraints (uniqueItems...) keep it whole too.
    Messages always come from checking the whole document (``lint``)."""

    def __init__(self, definitions: dict[str, Any], dialect: Any) -> None:
        self.definitions = definitions
        self.dialect = dialect
        self.simple: dict[int, bool] = {}
        self.leaf: dict[tuple[int, type, Any], bool] = {}
        self.leaf_checks: dict[int, Any] = {}

    def scalar_passes(self, value: Any, schema: dict[str, Any]) -> bool:
        """Whether a scalar passes ``schema`` on its own (memoised per schema and value)."""
        memo = (id(schema), type(value), value)
        known = self.leaf.get(memo)
        if known is None:
            check = self.leaf_checks.get(id(schema))
            if check is None:
                check = self.leaf_checks[id(schema)] = self.dialect(
                    {**schema, "definitions": self.definitions})
            known = self.leaf[memo] = bool(check.is_valid(value))
        return known

    def resolve(self, schema: Any) -> Any:
        # a reference with nothing beside it but annotations (or the definitions, at the top)
        while isinstance(schema, dict) and "$ref" in schema and all(
                k in _BESIDE_REF or k.startswith("x-kubernetes-") for k in schema):
            schema = self.definitions.get(schema["$ref"].rsplit("/", 1)[-1])
        return schema

    def shape_only(self, schema: Any) -> bool:
        known = self.simple.get(id(schema))
        if known is None:
            known = self.simple[id(schema)] = isinstance(schema, dict) and \
                "$ref" not in schema and _SHAPE_ONLY.issuperset(schema)
        return known

    def _sub(self, schema: dict[str, Any], key: str) -> Any:
        sub = (schema.get("properties") or {}).get(key)
        if sub is None:
            extra = schema.get("additionalProperties", True)
            sub = extra if isinstance(extra, dict) else None
        return sub

    def key(self, value: Any, schema: Any) -> Any:
        """``value``'s shape under ``schema`` (hashable)."""
        schema = self.resolve(schema)
        if schema == {}:
            return "*"  # anything is valid here
        kind = type(value)
        if not self.shape_only(schema):
            if (kind in (str, int, float, bool) or value is None) and \
                    isinstance(schema, dict) and self.scalar_passes(value, schema):
                return "ok", kind.__name__, value if kind is bool or value is None else 0
            return "=", json.dumps(value, sort_keys=True)
        if kind is dict:
            return "{", tuple((k, self.key(v, self._sub(schema, k))) for k, v in value.items())
        if kind is list:
            items = schema.get("items")
            if not isinstance(items, dict):
                return "=", json.dumps(value, sort_keys=True)
            return "[", tuple(self.key(v, items) for v in value)
        if kind is float:
            return "f", value.is_integer()
        if kind is bool or value is None:
            return value
        return kind.__name__  # str, int: the type is all a shape-only schema looks at

    def reduce(self, value: Any, schema: Any) -> Any:
        schema = self.resolve(schema)
        if not self.shape_only(schema):
            return value
        if type(value) is dict:
            return {k: self.reduce(v, sub) if (sub := self._sub(schema, k)) is not None else v
                    for k, v in value.items()}
        if type(value) is list and isinstance(items := schema.get("items"), dict):
            least = schema.get("minItems", 0)
            if not least <= len(value) <= schema.get("maxItems", len(value)):
                return value  # the check fails on the length: the whole walk says where
            seen: set[Any] = set()
            out = []
            for item in value:
                shape = self.key(item, items)
                if shape not in seen or len(out) < least:  # never below minItems
                    seen.add(shape)
                    out.append(self.reduce(item, items))
            return out
        return value


def _valid_by_shapes(kind: str, doc: dict[str, Any]) -> bool:
    """Whether ``doc`` passes, checking each list's distinct shapes once (``_Shapes``)."""
    check = validator(kind)
    shapes = _Shapes(check.schema["definitions"], type(check))
    return bool(check.is_valid(shapes.reduce(doc, check.schema)))


def lint(documents: Iterable[dict[str, Any]]) -> list[Problem]:
    """Every schema problem of every Argo document; other kinds are reported as such.

    A document is first checked reduced to its distinct shapes (``_Shapes``, exact for
    valid/invalid); only a failing one is walked whole, for every message and path."""
    problems = []
    for i, doc in enumerate(documents):
        kind = doc.get("kind", "") if isinstance(doc, dict) else ""
        meta = doc.get("metadata") or {} if isinstance(doc, dict) else {}
        name = meta.get("name") or meta.get("generateName") or "?"
        if kind not in WORKFLOWS | EVENTS | CORE:
            problems.append(Problem(i, kind or "?", name, "kind", _not_argo(doc, kind)))
            continue
        if _valid_by_shapes(kind, doc):
            continue
        for err in sorted(validator(kind).iter_errors(doc), key=lambda e: list(e.absolute_path)):
            path = "/".join(str(p) for p in err.absolute_path)
            problems.append(Problem(i, kind, name, path, err.message + _did_you_mean(err)))
    return problems


def _not_argo(doc: Any, kind: str) -> str:
    """What a document without an Argo kind is, when it can be told: HKube's own
    descriptors are the usual mistake (they are compiled, not linted)."""
    if isinstance(doc, dict) and not kind and "nodes" in doc:
        return ("this is an HKube pipeline descriptor, not an Argo manifest: compile it "
                "(hkube2argo compile FILE -a ALGORITHMS), or check it with hkube2argo "
                "validate")
    if isinstance(doc, dict) and not kind and "name" in doc and (
            {"algorithmImage", "image", "env", "code", "codePath"} & set(doc)):
        return ("this is an HKube algorithm descriptor, not an Argo manifest: hkube2argo "
                "validate checks it with a pipeline (-a FILE)")
    return f"not an Argo kind hkube2argo checks ({kind!r})"


def _did_you_mean(err: Any) -> str:
    """``'entryPoint' was unexpected`` gains ``(did you mean 'entrypoint'?)``."""
    if err.validator != "additionalProperties" or not isinstance(err.instance, dict):
        return ""
    from ..spelling import suggest

    known = set(err.schema.get("properties") or {})
    hints = [f"'{key}' -> '{hint}'" for key in err.instance
             if key not in known and (hint := suggest(key, known))]
    return f" (did you mean {', '.join(hints)}?)" if hints else ""
