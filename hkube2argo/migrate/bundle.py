"""The bundle a migration writes: everything ``kubectl apply -k BUNDLE`` installs, the
algorithms ready for ``hkube2argo algorithm apply``, and the report.

```
BUNDLE/kustomization.yaml            what kubectl applies (never a run: no raw Workflows)
BUNDLE/pipelines/<name>/*.yaml       WorkflowTemplate, CronWorkflow, Sensor
BUNDLE/semaphores.yaml               the concurrentPipelines limits (ConfigMap)
BUNDLE/algorithms/<name>.json        each usable algorithm, REST shape
BUNDLE/algorithms/code/<name>.tar.gz its packed code, when it has code here
BUNDLE/report.md, report.json        the compatibility report
```
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from .. import codepack, serialize
from ..config import ClusterConfig
from ..plan import thaw
from ..validate import Catalog
from .report import Report

KUSTOMIZATION = "kustomization.yaml"


def write(report: Report, catalog: Catalog, out: Path, config: ClusterConfig,
          amounts: dict[str, int]) -> list[Path]:
    """Write the bundle into ``out`` (made anew: files of an earlier bundle are removed,
    so a pipeline deleted from HKube disappears from the bundle too)."""
    if out.exists():
        if not (out / KUSTOMIZATION).is_file() and any(out.iterdir()):
            raise FileExistsError(f"{out} exists and is not a bundle (no {KUSTOMIZATION}): "
                                  "give a new or empty folder")
        for child in ("pipelines", "algorithms"):
            shutil.rmtree(out / child, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    resources: list[str] = []

    def put(relative: str, text: str | bytes, resource: bool = False) -> None:
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        written.append(path)
        if resource:
            resources.append(relative)

    for verdict in report.pipelines:
        if verdict.output is None:
            continue
        folder = f"pipelines/{verdict.output.name}"
        for name, text in verdict.output.files().items():
            # a run is not an installation; the semaphore keys go into one ConfigMap below
            if not name.endswith((".workflow.yaml", ".semaphore.yaml")):
                put(f"{folder}/{name}", text, resource=True)
    data = {key: str(amounts[key]) for key in sorted(amounts)}
    if data:
        meta: dict[str, Any] = {"name": config.semaphore_configmap}
        if config.namespace:
            meta["namespace"] = config.namespace
        put("semaphores.yaml", serialize.dump({"apiVersion": "v1", "kind": "ConfigMap",
                                               "metadata": meta, "data": data}),
            resource=True)
    for verdict in report.algorithms:
        spec = catalog.specs.get(verdict.name)
        if spec is None:
            continue
        descriptor: dict[str, Any] = thaw(spec.descriptor)  # type: ignore[assignment]
        if spec.code_path:
            packed = codepack.pack(spec.code_path)
            put(f"algorithms/code/{spec.name}.tar.gz", packed)
            descriptor["codePath"] = f"code/{spec.name}.tar.gz"
        put(f"algorithms/{spec.name}.json",
            json.dumps(descriptor, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    kustomization: dict[str, Any] = {"apiVersion": "kustomize.config.k8s.io/v1beta1",
                                     "kind": "Kustomization"}
    if config.namespace:
        kustomization["namespace"] = config.namespace
    kustomization["resources"] = resources
    put(KUSTOMIZATION, serialize.dump(kustomization))
    put("report.md", report.markdown())
    put("report.json", report.json_text())
    return written
