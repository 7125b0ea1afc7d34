"""lint also enforces what Argo's full CRDs add to its published JSON schema (the limits
the Kubernetes API server applies on create): at most 200 templates per spec, 200 tasks
per DAG, 500 input parameters, name patterns and lengths, quantity patterns, and the
older release's cron pattern where the releases differ."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from hkube2argo import lint
from tests.conftest import EXAMPLES

GOLDEN = EXAMPLES / "numbers" / "golden" / "numbers.workflow.yaml"


def workflow() -> dict[str, Any]:
    return yaml.safe_load(Path(GOLDEN).read_text(encoding="utf-8"))


def problems(doc: dict[str, Any]) -> list[str]:
    return [f"{p.path}: {p.message}" for p in lint.lint([doc])]


def container(name: str, base: dict[str, Any]) -> dict[str, Any]:
    return {**copy.deepcopy(base), "name": name}


def test_the_golden_workflow_is_clean() -> None:
    assert problems(workflow()) == []


def test_more_than_200_templates_are_refused() -> None:
    doc = workflow()
    spec = doc["spec"]
    step = next(t for t in spec["templates"] if "container" in t)
    while len(spec["templates"]) < 200:
        spec["templates"].append(container(f"extra-{len(spec['templates'])}", step))
    assert problems(doc) == []
    spec["templates"].append(container("one-too-many", step))
    (problem,) = problems(doc)
    assert problem.startswith("spec/templates: ") and "is too long" in problem


def test_more_than_200_tasks_in_a_dag_are_refused() -> None:
    doc = workflow()
    entry = next(t for t in doc["spec"]["templates"] if "dag" in t)
    task = next(t for t in entry["dag"]["tasks"] if t["name"] == "Range")
    entry["dag"]["tasks"] += [{**copy.deepcopy(task), "name": f"copy-{i}"}
                              for i in range(201 - len(entry["dag"]["tasks"]))]
    (problem,) = problems(doc)
    assert re.match(r"spec/templates/\d+/dag/tasks: .* is too long", problem)


def test_more_than_500_input_parameters_are_refused() -> None:
    doc = workflow()
    step = next(t for t in doc["spec"]["templates"] if "container" in t)
    step["inputs"]["parameters"] += [{"name": f"p{i}", "default": "0"} for i in range(500)]
    (problem,) = problems(doc)
    assert "/inputs/parameters: " in problem and "is too long" in problem


@pytest.mark.parametrize("name", ["has_underscore", "x" * 129, "-leading-dash"])
def test_template_and_task_names_follow_the_crd(name: str) -> None:
    doc = workflow()
    entry = next(t for t in doc["spec"]["templates"] if "dag" in t)
    entry["dag"]["tasks"][0]["name"] = name
    assert any("/dag/tasks/0/name: " in p for p in problems(doc))


def test_quantities_follow_the_crd() -> None:
    doc = workflow()
    step = next(t for t in doc["spec"]["templates"] if "container" in t)
    step["container"]["resources"]["requests"]["memory"] = "128 megabytes"
    (problem,) = problems(doc)
    assert "/container/resources/requests/memory: " in problem


def test_a_cron_schedule_must_pass_the_older_release_too() -> None:
    """v4.1 accepts day names in schedules; v4.0.5's CRD pattern does not."""
    cron = yaml.safe_load((EXAMPLES / "triggers" / "golden").glob(
        "*.cronworkflow.yaml").__next__().read_text(encoding="utf-8"))
    assert problems(cron) == []
    cron["spec"]["schedules"] = ["0 0 * * MON"]
    (problem,) = problems(cron)
    assert problem.startswith("spec/schedules/0: ")


def test_every_vendored_pattern_is_a_python_regex() -> None:
    for limit in lint.crd_limits():
        if limit["keyword"] == "pattern":
            for value in limit["values"]:
                re.compile(value["value"])
