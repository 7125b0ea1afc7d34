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
from typing import Any

import yaml

# libyaml's emitter when PyYAML has it: same output, several times faster on big manifests
_Base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_Base):  # type: ignore[misc,valid-type]
    """Block style, no aliases (a repeated dict is written out, as kubectl would)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


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


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else "'" if read_as_other_type(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     width=100, default_flow_style=False)


def dump_all(documents: Iterable[dict[str, Any]]) -> str:
    return "---\n".join(dump(d) for d in documents)
