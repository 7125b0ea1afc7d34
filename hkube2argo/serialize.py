"""Deterministic YAML: the same manifests always give the same bytes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

# libyaml's emitter when PyYAML has it: same output, several times faster on big manifests
_Base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_Base):  # type: ignore[misc,valid-type]
    """Block style, no aliases (a repeated dict is written out, as kubectl would)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     width=100, default_flow_style=False)


def dump_all(documents: Iterable[dict[str, Any]]) -> str:
    return "---\n".join(dump(d) for d in documents)
