"""JSON Schemas for editors, generated from the models (never written by hand).

A YAML file opts in with ``# yaml-language-server: $schema=<path>/pipeline.schema.json``.
The schemas describe what HKube accepts; the graph rules (references, cycles) are
beyond JSON Schema and live in ``hkube2argo validate``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .models import Algorithm, Pipeline

DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE_ID = "https://hkube2argo.dev/schemas/"


def _algorithm_file_shape(schema: dict[str, Any]) -> dict[str, Any]:
    """The hkubectl file shape's keys, which the model folds into the REST shape."""
    props = schema["properties"]
    props["image"] = {"type": "string", "pattern": r"^\S*$",
                      "description": "hkubectl file shape: same as algorithmImage."}
    props["resources"] = {
        "type": "object",
        "description": "hkubectl file shape: cpu, mem and gpu.",
        "properties": {"cpu": props["cpu"], "mem": props["mem"], "gpu": props["gpu"]},
        "additionalProperties": False,
    }
    props["code"] = {
        "type": "object",
        "description": "hkubectl file shape: the code folder or archive and its entry file.",
        "properties": {"path": {"type": "string"}, "entryPoint": {"type": "string"}},
        "additionalProperties": False,
    }
    return schema


def build() -> dict[str, dict[str, Any]]:
    """File name -> schema document."""
    pipeline = Pipeline.model_json_schema(by_alias=True)
    algorithm = _algorithm_file_shape(Algorithm.model_json_schema(by_alias=True))
    out = {}
    for name, schema, title in (
        ("pipeline.schema.json", pipeline, "HKube pipeline descriptor (hkube2argo)"),
        ("algorithm.schema.json", algorithm, "HKube algorithm descriptor (hkube2argo)"),
    ):
        out[name] = {"$schema": DIALECT, "$id": BASE_ID + name, **schema, "title": title}
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in build().items():
        path = folder / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def drift(folder: Path) -> list[str]:
    """Names of schema files in ``folder`` that differ from the models."""
    return [name for name, schema in build().items()
            if not (folder / name).is_file()
            or (folder / name).read_text(encoding="utf-8") != render(schema)]
