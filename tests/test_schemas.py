"""The committed JSON Schemas match the models, and they accept what the models accept."""

from __future__ import annotations

import json

import jsonschema
import pytest

from hkube2argo import schemas
from hkube2argo.loading import load_file
from tests.conftest import ROOT
from tests.golden import examples


def test_committed_schemas_match_models() -> None:
    stale = schemas.drift(ROOT / "schemas")
    assert not stale, f"{stale} drifted from the models: run 'hkube2argo schema' and commit"


def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((ROOT / "schemas" / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("example", examples(), ids=lambda e: e.name)
def test_examples_satisfy_schemas(example) -> None:
    pipeline = _validator("pipeline.schema.json")
    algorithm = _validator("algorithm.schema.json")
    for desc in load_file(example.pipeline):
        assert not list(pipeline.iter_errors(desc.data))
    for path in sorted(example.algorithms.glob("*.yaml")):
        for desc in load_file(path):
            assert not list(algorithm.iter_errors(desc.data)), path


def test_schema_rejects_what_hkube_rejects() -> None:
    pipeline = _validator("pipeline.schema.json")
    base = {"name": "p", "nodes": [{"nodeName": "a", "algorithmName": "alg"}]}
    assert not list(pipeline.iter_errors(base))
    for bad in ({**base, "priority": 6}, {**base, "webhooks": {"nope": 1}},
                {**base, "nodes": []}, {**base, "kind": "banana"}):
        assert list(pipeline.iter_errors(bad)), bad
