"""Regenerate hkube2argo/lint/data/argo-workflows.crd-limits.json from Argo's full CRDs.

    python tools/vendor_crd_limits.py /work/.mirror/argoproj+argo-workflows/repo

Argo's published JSON schema (``api/jsonschema/schema.json``, what lint/ vendors) lacks
the constraints kubebuilder markers put in the *full* CRDs
(``manifests/base/crds/full/argoproj.io_*.yaml``): ``spec.templates`` and ``dag.tasks``
at most 200 items, ``inputs.parameters`` at most 500, name patterns and lengths, quantity
patterns, ... The Kubernetes API server enforces them when a Workflow is created, so a
manifest that breaks one is refused there even though the JSON schema passes it.

This walks each CRD's openAPIV3Schema beside the JSON-schema definitions (following
``$ref``) and records, for every constraint keyword the CRD has and the JSON schema
lacks, where it belongs in the JSON schema: (definition, pointer inside it). A
definition reached along several CRD paths keeps only constraints every path agrees on
(none differ today; the tool reports it if one ever does). Both releases are read: the
one the JSON schema comes from and the oldest supported one; where they differ, both
values are kept (the manifest must pass either release's API server).

The CRD's CEL rules (``x-kubernetes-validations``) are listed in the output for
reference, not enforced by lint.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).resolve().parent.parent / "hkube2argo" / "lint" / "data"
OUT = DATA / "argo-workflows.crd-limits.json"
RELEASES = ("v4.0.5", "v4.1.2")  # oldest supported, and the JSON schema's own release
CRDS = {"Workflow": "workflows", "WorkflowTemplate": "workflowtemplates",
        "CronWorkflow": "cronworkflows"}
KEYWORDS = ("maxItems", "minItems", "maxLength", "minLength", "pattern", "maximum",
            "minimum", "maxProperties", "minProperties", "enum")
NAMESPACE = "io.argoproj.workflow.v1alpha1."


def crd_schema(repo: str, release: str, plural: str) -> dict[str, Any]:
    path = f"manifests/base/crds/full/argoproj.io_{plural}.yaml"
    text = subprocess.run(["git", "-C", repo, "show", f"{release}:{path}"],
                          capture_output=True, text=True, check=True).stdout
    (version,) = yaml.safe_load(text)["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]


class Walk:
    def __init__(self, definitions: dict[str, Any]):
        self.defs = definitions
        # (definition, pointer) -> list of constraint dicts, one per visit
        self.visits: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}
        self.rules: dict[tuple[str, str], set[str]] = {}  # (rule, message) -> CRD paths
        self.unmatched: set[str] = set()

    def resolve(self, node: dict[str, Any], where: tuple[str, tuple[str, ...]],
                ) -> tuple[dict[str, Any], tuple[str, tuple[str, ...]]]:
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            return self.defs[name], (name, ())
        return node, where

    def walk(self, crd: dict[str, Any], js: dict[str, Any],
             where: tuple[str, tuple[str, ...]], path: str) -> None:
        found = {k: crd[k] for k in KEYWORDS if k in crd and js.get(k) != crd[k]}
        self.visits.setdefault(where, []).append(found)
        for rule in crd.get("x-kubernetes-validations") or ():
            self.rules.setdefault((rule["rule"], rule.get("message", "")), set()).add(path)
        target, there = self.resolve(js, where)
        if there != where:  # constraints beside a $ref belong to this site; walk the target
            self.visits.setdefault(there, []).append({})
        definition, pointer = there
        for key, child in (crd.get("properties") or {}).items():
            sub = (target.get("properties") or {}).get(key)
            if sub is None:
                self.unmatched.add(f"{path}.{key}")
                continue
            self.walk(child, sub, (definition, (*pointer, "properties", key)), f"{path}.{key}")
        if isinstance(crd.get("items"), dict) and isinstance(target.get("items"), dict):
            self.walk(crd["items"], target["items"], (definition, (*pointer, "items")),
                      f"{path}[]")
        extra = crd.get("additionalProperties")
        if isinstance(extra, dict) and isinstance(target.get("additionalProperties"), dict):
            self.walk(extra, target["additionalProperties"],
                      (definition, (*pointer, "additionalProperties")), f"{path}{{}}")

    def agreed(self) -> tuple[dict[tuple[str, tuple[str, ...]], dict[str, Any]], list[str]]:
        out, disputed = {}, []
        for where, visits in self.visits.items():
            keys = set().union(*visits)
            same = {k: visits[0][k] for k in keys
                    if all(k in v and v[k] == visits[0][k] for v in visits)}
            for k in sorted(keys - set(same)):
                disputed.append(f"{where[0]} {'/'.join(where[1])} {k}")
            if same:
                out[where] = same
        return out, disputed


def main(repo: str) -> None:
    schema = json.loads(gzip.decompress((DATA / "argo-workflows.schema.json.gz").read_bytes()))
    merged: dict[tuple[str, tuple[str, ...], str], dict[str, Any]] = {}
    rules: dict[tuple[str, str], set[str]] = {}
    for release in RELEASES:
        walk = Walk(schema["definitions"])
        for kind, plural in CRDS.items():
            root = f"{NAMESPACE}{kind}"
            walk.walk(crd_schema(repo, release, plural), {"$ref": f"#/definitions/{root}"},
                      (root, ()), kind)
        constraints, disputed = walk.agreed()
        for line in disputed:
            print(f"{release}: not kept (paths disagree): {line}", file=sys.stderr)
        for (definition, pointer), found in constraints.items():
            for keyword, value in found.items():
                entry = merged.setdefault((definition, pointer, keyword),
                                          {"definition": definition, "pointer": list(pointer),
                                           "keyword": keyword, "values": []})
                if value not in [v["value"] for v in entry["values"]]:
                    entry["values"].append({"value": value, "releases": [release]})
                else:
                    next(v for v in entry["values"] if v["value"] == value)["releases"].append(
                        release)
        for key, paths in walk.rules.items():
            rules.setdefault(key, set()).update(paths)
    out = {
        "source": "https://github.com/argoproj/argo-workflows manifests/base/crds/full/",
        "releases": {r: subprocess.run(["git", "-C", repo, "rev-parse", f"{r}^{{commit}}"],
                                       capture_output=True, text=True, check=True).stdout.strip()
                     for r in RELEASES},
        "constraints": sorted(merged.values(),
                              key=lambda e: (e["definition"], e["pointer"], e["keyword"])),
        "celRules": [{"rule": r, "message": m, "paths": len(p)}
                     for (r, m), p in sorted(rules.items())],
    }
    OUT.write_text(json.dumps(out, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"{len(out['constraints'])} constraints, {len(out['celRules'])} CEL rules -> {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
