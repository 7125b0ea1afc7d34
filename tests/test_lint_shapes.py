"""The lint checks each list's distinct shapes once, and still catches every mistake: a
problem in the 500th task of a DAG, whatever its kind, fails the same way as when every
task is walked."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

from hkube2argo import lint
from hkube2argo.compiler import compile_manifests
from hkube2argo.loading import Descriptor, Source
from hkube2argo.validate import load_algorithms, validate_descriptor

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from compile_large import ALGORITHMS, chain, fan_in


@pytest.fixture(scope="module")
def manifests():
    catalog = load_algorithms([ALGORITHMS])
    out = {}
    for shape in (chain, fan_in):
        plan = validate_descriptor(Descriptor(shape(600), Source("b.yaml")), catalog).plan
        out[shape.__name__] = compile_manifests(plan).workflow_template
    return out


def _late_task(doc):
    """A DAG task deep in a long task list (never the first of its shape)."""
    for template in doc["spec"]["templates"]:
        tasks = (template.get("dag") or {}).get("tasks") or []
        if len(tasks) > 100:
            return tasks[-7]
    raise AssertionError("no long DAG")


def _full(doc):
    return sorted(("/".join(map(str, e.absolute_path)), e.message)
                   for e in lint.validator(doc["kind"]).iter_errors(doc))


MISTAKES = {
    "misspelled field": lambda t: t.__setitem__("dependss", "x"),
    "misspelled nested field": lambda t: t["arguments"]["parameters"][0].__setitem__("vlaue", "x"),
    "wrong type": lambda t: t.__setitem__("template", 7),
    "name too long": lambda t: t.__setitem__("name", "n" * 200),
    "name breaking the pattern": lambda t: t.__setitem__("name", "bad name!"),
    "wrong nested type": lambda t: t["arguments"]["parameters"][0].__setitem__("value", ["x"]),
    "bool for a string": lambda t: t.__setitem__("template", True),
}


@pytest.mark.parametrize("shape", ["chain", "fan_in"])
@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_late_mistake_fails_as_in_a_full_walk(manifests, shape, mistake):
    doc = copy.deepcopy(manifests[shape])
    MISTAKES[mistake](_late_task(doc))
    expected = _full(doc)
    assert expected, "the mistake must be one the schema rejects"
    problems = sorted((p.path, p.message) for p in lint.lint([doc]))
    assert [path for path, _ in problems] == [path for path, _ in expected]
    # lint words them as the schema does (a spelling hint may follow)
    assert all(got.startswith(want)
               for (_, got), (_, want) in zip(problems, expected, strict=True))


@pytest.mark.parametrize("shape", ["chain", "fan_in"])
def test_valid_manifests_pass_and_reduce_to_few_tasks(manifests, shape):
    doc = manifests[shape]
    assert lint.lint([doc]) == [] == _full(doc)
    check = lint.validator(doc["kind"])
    reduced = lint._Shapes(check.schema["definitions"], type(check)).reduce(doc, check.schema)
    assert len(str(reduced)) < len(str(doc)) / 3
