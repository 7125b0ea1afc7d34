"""Deterministic YAML: the same manifests always give the same bytes, and every string
reads back as a string in any YAML decoder.

PyYAML quotes what YAML 1.1 as PyYAML reads it would take for another type, but not
``y``/``n`` (booleans in YAML 1.1 and in go-yaml v2, which kubectl's decoder uses) nor
YAML 1.2 or Go forms such as ``1e5``, ``0o7`` or ``1_000``: kubectl would then get a
boolean or a number where Kubernetes wants a string. Those are quoted too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

# libyaml's emitter when PyYAML has it: same output, several times faster on big manifests
_Base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


_STR, _INT, _BOOL, _NULL = (f"tag:yaml.org,2002:{t}" for t in ("str", "int", "bool", "null"))
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_RESOLVED: dict[tuple[str, bool, bool], str] = {}


class _Dumper(_Base):  # type: ignore[misc,valid-type]
    """Block style, no aliases (a repeated dict is written out, as kubectl would).

    A large manifest has tens of thousands of scalars; PyYAML's representer (pure Python
    even with the C emitter) looks each one's type up through several calls, and the C
    serializer asks ``resolve`` twice per scalar. The JSON types manifests are made of are
    represented here directly, as PyYAML's SafeRepresenter would (same nodes, same tags,
    same styles), and resolutions are remembered (a manifest repeats its keys); anything
    else goes to PyYAML."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def represent_data(self, data: Any) -> Any:
        kind = type(data)
        if kind is str:
            return ScalarNode(_STR, data, style=_style(data))
        if kind is dict:
            rep = self.represent_data
            return MappingNode(_MAP, [(rep(k), rep(v)) for k, v in data.items()],
                               flow_style=False)
        if kind is list:
            rep = self.represent_data
            return SequenceNode(_SEQ, [rep(v) for v in data], flow_style=False)
        if kind is int:
            return ScalarNode(_INT, str(data))
        if kind is bool:
            return ScalarNode(_BOOL, "true" if data else "false")
        if data is None:
            return ScalarNode(_NULL, "null")
        return super().represent_data(data)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is not ScalarNode:
            return super().resolve(kind, value, implicit)  # type: ignore[no-any-return]
        key = (value, bool(implicit[0]), bool(implicit[1]))
        tag = _RESOLVED.get(key)
        if tag is None:
            if len(_RESOLVED) > 200_000:  # a long-lived process (the API) stays bounded
                _RESOLVED.clear()
            tag = _RESOLVED[key] = super().resolve(kind, value, implicit)
        return tag


# Plain scalars that YAML 1.1 (go-yaml v2: resolve.go, and Go's strconv with base 0) or
# YAML 1.2's core schema read as a boolean, null, number or date.
NOT_A_STRING = re.compile(r"""(?x)^(?:
      y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
    | ~|null|Null|NULL|<<|=
    | [-+]?(?:0[bB][01_]+|0[oO]?[0-7_]+|0[xX][0-9a-fA-F_]+|[0-9][0-9_]*)
    | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?
    | [-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    | [-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+
    | [-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)
    | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}.*)?
    )$""")


def read_as_other_type(value: str) -> bool:
    """Whether some YAML decoder reads ``value``, written plain, as something else."""
    return value == "" or bool(NOT_A_STRING.match(value))


@lru_cache(maxsize=65536)
def _style(value: str) -> str | None:
    return "|" if "\n" in value else "'" if read_as_other_type(value) else None


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=_style(value))


_Dumper.add_representer(str, _str)


def dump(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     width=100, default_flow_style=False)


def dump_all(documents: Iterable[dict[str, Any]]) -> str:
    return "---\n".join(dump_each(documents))


# A plain scalar no manifest holds: stands for a template list written once
_SHARED = "h2a-shared-templates-0c5e2b"


def dump_each(documents: Iterable[dict[str, Any]]) -> list[str]:
    """Each document as ``dump`` writes it; a Workflow carrying its WorkflowTemplate's
    template list again (the same list, or an equal one, at the same place) has it
    written once and the text reused: the list is most of a large pipeline's bytes."""
    out = []
    last: tuple[list[Any], str] | None = None
    for doc in documents:
        spec = doc.get("spec") if isinstance(doc, dict) else None
        templates = spec.get("templates") if isinstance(spec, dict) else None
        if not isinstance(templates, list) or not templates:
            out.append(dump(doc))
            continue
        if last is None or not (templates is last[0] or templates == last[0]):
            # at the same depth as in the document: spec.templates, so the same lines
            last = templates, dump({"spec": {"templates": templates}}).removeprefix("spec:\n")
        text = dump({**doc, "spec": {**spec, "templates": _SHARED}})
        line = f"  templates: {_SHARED}\n"
        out.append(text.replace(line, last[1]) if text.count(line) == 1 else dump(doc))
    return out
