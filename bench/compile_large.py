"""Compile time and manifest size for large pipelines (printed; nothing is asserted).

    python bench/compile_large.py [NODES ...]      # default 10 100 1000 5000

Shapes: a chain (each node reads the previous one), a wide batch (one batch node over a
flowInput list of NODES items: the manifest must not grow with it, except the flowInput
argument), and fan-ins (every node a batch over the flowInput, all read by one reducer;
``fan_in_distinct``: each over its own array, so no two loops share a count). Sizes are
the WorkflowTemplate as YAML (what `compile` writes) and as compact JSON (what the API
server stores; Argo's object limit is about 1 MiB).
Targets from the issue: 1,000 nodes compile in under 1 s, the WorkflowTemplate stays under
512 KiB, and no parameter value exceeds 1 KiB.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from hkube2argo import serialize
from hkube2argo.compiler import compile_manifests
from hkube2argo.diagnostics import ValidationFailed
from hkube2argo.loading import Descriptor, Source
from hkube2argo.validate import load_algorithms, validate_descriptor

ALGORITHMS = Path(__file__).resolve().parent.parent / "examples" / "algorithms"


def chain(n: int) -> dict[str, Any]:
    nodes = [{"nodeName": "N0", "algorithmName": "first", "input": ["@flowInput.x"]}]
    nodes += [{"nodeName": f"N{i}", "algorithmName": "double", "input": [f"@N{i - 1}"]}
              for i in range(1, n)]
    return {"name": f"chain-{n}", "nodes": nodes, "flowInput": {"x": 1}}


def wide(n: int) -> dict[str, Any]:
    return {"name": f"wide-{n}", "flowInput": {"items": list(range(n))},
            "nodes": [{"nodeName": "Double", "algorithmName": "double",
                       "input": ["#@flowInput.items"]},
                      {"nodeName": "Sum", "algorithmName": "sum", "input": ["@Double"]}]}


def fan_in(n: int) -> dict[str, Any]:
    nodes = [{"nodeName": f"B{i}", "algorithmName": "double", "input": ["#@flowInput.items"]}
             for i in range(n - 1)]
    nodes.append({"nodeName": "All", "algorithmName": "echo",
                  "input": [f"@B{i}" for i in range(n - 1)]})
    return {"name": f"fanin-{n}", "nodes": nodes, "flowInput": {"items": [1, 2, 3]}}


def fan_in_distinct(n: int) -> dict[str, Any]:
    """The worst case for loop sizes: every batch node over its own array (no shared count)."""
    data = fan_in(n)
    for i, node in enumerate(data["nodes"][:-1]):
        node["input"] = [f"#@flowInput.items{i}"]
    data["flowInput"] = {f"items{i}": [1, 2, 3] for i in range(n - 1)}
    return data


def longest_parameter(value: Any) -> int:
    if isinstance(value, dict):
        own = len(str(value.get("value", ""))) if "name" in value and "value" in value else 0
        return max([own, *(longest_parameter(v) for v in value.values())])
    if isinstance(value, list):
        return max([0, *(longest_parameter(v) for v in value)])
    return 0


def measure(shape, n: int, catalog) -> tuple[float, int, int, int, int]:
    data = shape(n)
    start = time.perf_counter()
    result = validate_descriptor(Descriptor(data, Source("bench.yaml")), catalog)
    assert result.plan is not None, [str(d) for d in result.errors][:3]
    manifests = compile_manifests(result.plan)
    text = serialize.dump(manifests.workflow_template)
    seconds = time.perf_counter() - start
    spec = manifests.workflow_template["spec"]
    stored = len(json.dumps(manifests.workflow_template, separators=(",", ":")).encode())
    return seconds, len(text.encode()), stored, len(spec["templates"]), longest_parameter(spec)


def main(sizes: list[int]) -> None:
    catalog = load_algorithms([ALGORITHMS])
    measure(chain, 3, catalog)  # warm imports
    print(f"{'shape':>15} {'nodes':>6} {'seconds':>8} {'YAML KiB':>9} {'JSON KiB':>9} "
          f"{'templates':>10} {'max param':>10}")
    for shape in (chain, wide, fan_in, fan_in_distinct):
        for n in sizes:
            try:
                seconds, size, stored, templates, longest = measure(shape, n, catalog)
            except ValidationFailed as exc:  # over Argo's object limit: compile says so
                print(f"{shape.__name__:>15} {n:>6}  refused: {exc.errors[0].message[:60]}")
                continue
            print(f"{shape.__name__:>15} {n:>6} {seconds:>8.3f} {size / 1024:>9.1f} "
                  f"{stored / 1024:>9.1f} {templates:>10} {longest:>10}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 100, 1000, 5000])
