"""The emitters' Argo shapes (``emit/shapes.py``) stay Hera's: same fields, same order,
same JSON names, same dump."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from hera.workflows import models as hera

from hkube2argo.emit import shapes

TOOL = Path(__file__).resolve().parent.parent / "tools" / "gen_argo_shapes.py"


def _tool():
    spec = importlib.util.spec_from_file_location("gen_argo_shapes", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_table_matches_the_installed_hera():
    tool = _tool()
    assert tool.render(tool.used_names()) == Path(shapes.__file__).read_text(), \
        "emit/shapes.py is stale: run tools/gen_argo_shapes.py"


def _pair(build):
    return build(shapes).model_dump(), build(hera).model_dump(
        mode="json", by_alias=True, exclude_none=True)


@pytest.mark.parametrize("build", [
    lambda m: m.Template(name="t", inputs=m.Inputs(parameters=[m.Parameter(name="a"),
                                                               m.Parameter(name="b", value="1")]),
                         container=m.Container(image="i", command=["x"],
                                               env=[m.EnvVar(name="E", value="v")]),
                         retry_strategy=m.RetryStrategy(limit=m.IntOrString("2")),
                         active_deadline_seconds=m.IntOrString(5)),
    lambda m: m.ResourceRequirements(requests={"cpu": m.Quantity("1")},
                                     limits={"memory": m.Quantity("1Gi")}),
    lambda m: m.DAGTask(name="n", template="t", depends="a && b",
                        with_sequence=m.Sequence(count=m.IntOrString("3"),
                                                 start=m.IntOrString("1")),
                        arguments=m.Arguments(artifacts=[m.Artifact(
                            name="x", from_="{{tasks.a.outputs.artifacts.x}}")])),
    lambda m: m.Volume.model_validate({"name": "v", "emptyDir": {}}),
])
def test_dump_is_heras(build):
    ours, theirs = _pair(build)
    assert json.dumps(ours) == json.dumps(theirs)  # order too, at every depth


def test_an_unknown_field_is_refused():
    with pytest.raises(TypeError, match="no field 'imagee'"):
        shapes.Container(imagee="x")
