"""Regenerate hkube2argo/lint/data/ from Argo's published JSON schemas.

    python tools/vendor_schemas.py ../shared/vendor

Keeps only the definitions reachable from the kinds hkube2argo emits (unmodified
otherwise), gzipped: the lint check then ships with the package and needs no network.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "hkube2argo" / "lint" / "data"
KINDS = {
    "argo-workflows": ("io.argoproj.workflow.v1alpha1.",
                       ["Workflow", "WorkflowTemplate", "CronWorkflow"]),
    "argo-events": ("io.argoproj.events.v1alpha1.", ["EventSource", "Sensor", "EventBus"]),
}


def refs(value: object) -> set[str]:
    out: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/definitions/"):
                out.add(ref[len("#/definitions/"):])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


def prune(definitions: dict, roots: list[str]) -> dict:
    keep: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        todo.extend(refs(definitions[name]) - keep)
    return {name: definitions[name] for name in sorted(keep)}


def main(vendor: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for project, (namespace, kinds) in KINDS.items():
        schema = json.loads((vendor / project / "schema.json").read_text())
        pruned = {"$schema": schema.get("$schema"),
                  "definitions": prune(schema["definitions"], [namespace + k for k in kinds])}
        data = json.dumps(pruned, sort_keys=True, separators=(",", ":")).encode()
        (OUT / f"{project}.schema.json.gz").write_bytes(gzip.compress(data, mtime=0))
        print(f"{project}: {len(pruned['definitions'])} definitions, {len(data)} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
