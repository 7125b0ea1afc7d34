"""Pure pieces of the pod runner: what the kubelet computes from a pod before it starts it.

Kept apart from the process and API plumbing (podrunner.py) so they can be tested alone.
References are to Kubernetes v1.33 (module k8s.io/kubernetes v1.33.1):

- ``expand``: third_party/forked/golang/expansion/expand.go (``Expand``, ``MappingFuncFor``),
  used by pkg/kubelet/kubelet_pods.go ``makeEnvironmentVariables`` for env values and by
  pkg/kubelet/container/helpers.go ``ExpandContainerCommandAndArgs`` for command/args.
- ``field_value``: pkg/kubelet/kubelet_pods.go ``podFieldSelectorRuntimeValue`` and
  pkg/fieldpath/fieldpath.go ``ExtractFieldPathAsString``.
- ``volume_source_path``: pkg/kubelet/kubelet_pods.go ``makeMounts`` (a missing ``subPath`` is
  created as a directory, ``subPathExpr`` is expanded with the container's env).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_ANNOT_OR_LABEL = re.compile(r"^metadata\.(annotations|labels)\['(.+)'\]$")


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: known names are replaced, ``$$`` is a literal ``$``,
    unknown names and unterminated references are kept as written."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "$" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                end = text.find(")", i + 2)
                if end == -1:
                    out.append(text[i:])
                    break
                name = text[i + 2:end]
                out.append(env[name] if name in env else text[i:end + 1])
                i = end + 1
                continue
        out.append(c)
        i += 1
    return "".join(out)


def field_value(pod: Mapping[str, Any], path: str) -> str:
    """The value of a downward-API ``fieldRef`` for this pod; ValueError if unsupported."""
    meta, spec, status = pod.get("metadata", {}), pod.get("spec", {}), pod.get("status", {})
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.hostIP": status.get("hostIP", "127.0.0.1"),
        "status.hostIPs": status.get("hostIP", "127.0.0.1"),
        "status.podIP": status.get("podIP", "127.0.0.1"),
        "status.podIPs": status.get("podIP", "127.0.0.1"),
    }
    if path in simple:
        return str(simple[path])
    if path in ("metadata.annotations", "metadata.labels"):
        items = meta.get(path.split(".")[1]) or {}
        # fieldpath.FormatMap: sorted key="value" lines, values quoted as Go's %q does.
        return "\n".join(f"{k}={_go_quote(v)}" for k, v in sorted(items.items()))
    m = _ANNOT_OR_LABEL.match(path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    raise ValueError(f"unsupported fieldRef fieldPath {path!r}")


def _go_quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    escaped = escaped.replace("\t", "\\t").replace("\r", "\\r")
    return f'"{escaped}"'


def resource_value(container: Mapping[str, Any], ref: Mapping[str, Any]) -> str:
    """A ``resourceFieldRef`` (limits default to the node's capacity, here a fixed large one)."""
    kind, _, name = ref.get("resource", "").partition(".")
    resources = container.get("resources") or {}
    value = (resources.get(kind) or {}).get(name)
    if value is None and kind == "requests":
        value = (resources.get("limits") or {}).get(name)
    if value is None:
        value = {"cpu": "64", "memory": str(256 * 1024**3),
                 "ephemeral-storage": str(100 * 1024**3)}.get(name, "0")
    divisor = ref.get("divisor", "1")
    q, d = _quantity(str(value)), _quantity(str(divisor)) or 1.0
    return str(int(-(-q // d)))  # the kubelet rounds up


_SUFFIX = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9,
           "T": 1e12, "m": 1e-3, "": 1}


def _quantity(text: str) -> float:
    m = re.match(r"^([0-9.]+)([A-Za-z]*)$", text.strip())
    if not m or m.group(2) not in _SUFFIX:
        raise ValueError(f"unsupported quantity {text!r}")
    return float(m.group(1)) * _SUFFIX[m.group(2)]


def volume_source_path(volume_dir: Path, mount: Mapping[str, Any],
                       env: Mapping[str, str]) -> Path:
    """Where a volumeMount's bind mount comes from; creates a missing subPath directory."""
    sub = mount.get("subPath") or ""
    if mount.get("subPathExpr"):
        sub = expand(mount["subPathExpr"], env)
    if not sub:
        return volume_dir
    if sub.startswith("/") or ".." in Path(sub).parts:
        raise ValueError(f"subPath {sub!r} must be a relative path without '..'")
    source = volume_dir / sub
    if not source.exists():
        source.mkdir(parents=True, exist_ok=True)
        source.chmod(0o777)
    return source
