"""Pipeline triggers: HKube cron patterns, the CronWorkflow, the EventSource + Sensor pair.

What Argo Events does with the Sensor is simulated here from its source (filter.go for data
filters, resource/start.go for the label and field selectors, sjson for the parameter):
a real cluster is still needed to see it happen (docs/triggers.md).
"""

from __future__ import annotations

import copy
import itertools
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from hkube2argo import lint, naming
from hkube2argo.cli import main
from hkube2argo.compiler import compile_file, compile_manifests
from hkube2argo.config import DEFAULT, PIPELINE_LABEL
from hkube2argo.cron import CronError, to_argo
from hkube2argo.diagnostics import ValidationFailed
from hkube2argo.emit.cron import NAME_MAX, cron_workflow
from hkube2argo.emit.events import submitted_workflows, trigger_objects
from hkube2argo.emit.templates import EmitError
from hkube2argo.emit.workflow import labels
from hkube2argo.loading import Descriptor, Source
from hkube2argo.plan import Plan
from hkube2argo.validate import load_algorithms, validate_descriptor
from tests.conftest import EXAMPLES
from tests.golden import examples

ALGORITHMS = EXAMPLES / "algorithms"
TRIGGERS = EXAMPLES / "triggers"
CONFIG = DEFAULT.with_overrides(namespace="pipelines")

# --- HKube cron patterns (npm cron 1.8.2) to Argo schedules --------------------------------

VALID = [
    # plain
    ("* * * * *", "* * * * *"),
    ("0 6 * * *", "0 6 * * *"),
    ("  15   3  *  *  * ", "15 3 * * *"),  # whitespace as npm cron splits it
    # ranges, steps, lists
    ("0 9-17 * * 1-5", "0 9-17 * * 1-5"),
    ("*/5 * * * *", "*/5 * * * *"),
    ("0 0-12/3 * * *", "0 0-12/3 * * *"),
    ("5/15 * * * *", "5/15 * * * *"),
    ("0 0 1,15 * *", "0 0 1,15 * *"),
    ("0 8,12,18 * * 0,6", "0 8,12,18 * * 0,6"),
    # names (npm: jan = 0, the same month as Argo's JAN = 1)
    ("0 0 * jan *", "0 0 * JAN *"),
    ("0 0 * JAN-MAR,oct *", "0 0 * JAN-MAR,OCT *"),
    ("0 7 * * MON-FRI", "0 7 * * MON-FRI"),
    ("0 7 * * sun", "0 7 * * sun"),
    # months 0-11 become 1-12
    ("0 0 1 0 *", "0 0 1 1 *"),
    ("0 0 1 11 *", "0 0 1 12 *"),
    ("0 0 1 0-11 *", "0 0 1 1-12 *"),
    ("0 0 1 0,6 *", "0 0 1 1,7 *"),
    ("0 0 1 0-11/3 *", "0 0 1 1-12/3 *"),  # Jan, Apr, Jul, Oct in both
    ("0 0 1 3/2 *", "0 0 1 4/2 *"),  # Apr, Jun, Aug, Oct, Dec in both
    ("0 0 1 */2 *", "0 0 1 */2 *"),  # Jan, Mar, ... in both
    # a seconds field that is one value is dropped
    ("0 30 6 * * 1-5", "30 6 * * 1-5"),
    ("45 */10 * * * *", "*/10 * * * *"),
    ("0 0 0 1 0 *", "0 0 1 1 *"),  # seconds dropped and the month shifted
    # macros (hkube2argo's convenience: Argo knows them)
    ("@daily", "@daily"),
    ("@HOURLY", "@hourly"),
    ("@yearly", "@yearly"),
    # a lone 7 is Sunday in standard cron
    ("0 0 * * 7", "0 0 * * 0"),
]

INVALID = [
    ("", "the cron pattern is empty"),
    ("* * * *", "has 4 fields; write 5"),
    ("* * * * * * *", "has 7 fields; write 5"),
    ("every minute", "has 2 fields"),
    ("*/10 * * * * *", "seconds field '*/10' fires more than once a minute"),
    ("20,40 * * * * 0,1,2", "seconds field '20,40' fires more than once a minute"),
    ("61 * * * * *", "second 61 is out of range 0-59"),
    ("0 0 1 12 *", "month 12 is out of range: HKube's cron counts months 0-11"),
    ("0 0 1 5-12 *", "month 12 is out of range"),
    ("60 * * * *", "minute 60 is out of range 0-59"),
    ("0 24 * * *", "hour 24 is out of range 0-23"),
    ("0 0 0 * *", "day of month 0 is out of range 1-31"),
    ("0 0 * * 8", "weekday 8 is out of range 0-6"),
    ("0 0 * * 1-7", "weekday 7 is out of range 0-6"),  # croniter accepts it, Argo does not
    ("0 0 * 3-1 *", "month range '3-1' runs backwards"),
    ("0 0 * * fri-mon", "weekday range 'fri-mon' runs backwards"),
    ("0 0 L * *", "day of month 'L' is not a number"),  # croniter accepts L, Argo does not
    ("mon * * * *", "minute 'mon' is not a number"),
    ("0 0 * foo *", "'foo' is not a month name (JAN..DEC)"),
    ("*/0 * * * *", "minute '*/0': a step must be a whole number of 1 or more"),
    ("*-5 * * * *", "minute '*-5': * stands alone"),
    ("1-2-3 * * * *", "minute '1-2-3' is not a value, a range or a step"),
    ("0 0 ? * *", "'?' is not a cron field"),
    ("0 0 * * 1#2", "'1#2' is not a cron field"),
    ("@every 5m", "'@every 5m' is not a cron macro"),
    ("@fortnightly", "is not a cron macro"),
]


def test_cron_table_is_big_enough() -> None:
    assert len(VALID) + len(INVALID) >= 20


@pytest.mark.parametrize(("pattern", "schedule"), VALID, ids=[p for p, _ in VALID])
def test_cron_pattern_to_argo(pattern: str, schedule: str) -> None:
    assert to_argo(pattern) == schedule


@pytest.mark.parametrize(("pattern", "message"), INVALID, ids=[p or "empty" for p, _ in INVALID])
def test_cron_pattern_rejected(pattern: str, message: str) -> None:
    with pytest.raises(CronError) as info:
        to_argo(pattern)
    assert message in str(info.value)


_ROBFIG_BOUNDS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]


@pytest.mark.parametrize(("pattern", "schedule"), VALID, ids=[p for p, _ in VALID])
def test_schedules_fit_argo_parser_bounds(pattern: str, schedule: str) -> None:
    """What robfig/cron ParseStandard checks that croniter does not: bounds, order, steps."""
    if schedule.startswith("@"):
        return
    names = {n: i for i, n in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul",
                                         "aug", "sep", "oct", "nov", "dec"], 1)}
    names |= {n: i for i, n in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
    for field, (low, high) in zip(schedule.split(), _ROBFIG_BOUNDS, strict=True):
        for atom in field.split(","):
            base, _, step = atom.partition("/")
            assert not step or int(step) >= 1
            if base == "*":
                continue
            values = [names.get(b.lower()) if b.isalpha() else int(b) for b in base.split("-")]
            assert all(v is not None and low <= v <= high for v in values), (schedule, atom)
            assert values == sorted(values), (schedule, atom)


# --- plans -------------------------------------------------------------------------------


def plan_of(data: dict[str, Any]) -> Plan:
    catalog = load_algorithms([ALGORITHMS])
    result = validate_descriptor(Descriptor(data, Source("<test>")), catalog,
                                 triggered_runs=True)
    assert result.plan is not None, [str(d) for d in result.diagnostics]
    return result.plan


def pipeline(name: str = "p", **extra: Any) -> dict[str, Any]:
    return {"name": name, "nodes": [{"nodeName": "A", "algorithmName": "echo",
                                     "input": ["x"]}], **extra}


def cron(pattern: str = "0 6 * * *", **extra: Any) -> dict[str, Any]:
    return pipeline(triggers={"cron": {"pattern": pattern, **extra}})


# --- CronWorkflow ------------------------------------------------------------------------


def test_no_cron_no_cronworkflow() -> None:
    assert cron_workflow(plan_of(pipeline()), "p", CONFIG) is None
    assert cron_workflow(plan_of(pipeline(triggers={"pipelines": ["q"]})), "p", CONFIG) is None


def test_cronworkflow_references_the_template() -> None:
    doc = cron_workflow(plan_of(cron("0 0 0 1 0 *", enabled=True)), "p", CONFIG)
    assert doc is not None
    spec = doc["spec"]
    assert doc["kind"] == "CronWorkflow"
    assert spec["schedules"] == ["0 0 1 1 *"]  # seconds dropped, January 0 -> 1
    assert "schedule" not in spec  # removed in Argo v4
    assert spec["workflowSpec"] == {"workflowTemplateRef": {"name": "p"}}
    assert doc["metadata"]["annotations"]["hkube2argo.io/cron-pattern"] == "0 0 0 1 0 *"
    assert doc["metadata"]["namespace"] == "pipelines"


def test_enabled_and_disabled() -> None:
    on = cron_workflow(plan_of(cron(enabled=True)), "p", CONFIG)
    off = cron_workflow(plan_of(cron(enabled=False)), "p", CONFIG)
    default = cron_workflow(plan_of(cron()), "p", CONFIG)
    assert on is not None and off is not None and default is not None
    assert on["spec"]["suspend"] is False
    assert off["spec"]["suspend"] is True
    assert default["spec"]["suspend"] is True  # HKube's enabled defaults to false


def test_timezone() -> None:
    plan = plan_of(cron())
    utc = cron_workflow(plan, "p", CONFIG)
    assert utc is not None and utc["spec"]["timezone"] == "UTC"
    tokyo = cron_workflow(plan, "p", CONFIG, timezone="Asia/Tokyo")
    assert tokyo is not None and tokyo["spec"]["timezone"] == "Asia/Tokyo"
    with pytest.raises(EmitError, match="'Mars/Olympus' is not an IANA time zone"):
        cron_workflow(plan, "p", CONFIG, timezone="Mars/Olympus")


def test_compile_uses_the_configured_timezone() -> None:
    plan = plan_of(cron())
    manifests = compile_manifests(plan, CONFIG.with_overrides(timezone="Europe/Berlin"))
    assert manifests.cron_workflow is not None
    assert manifests.cron_workflow["spec"]["timezone"] == "Europe/Berlin"


@pytest.mark.parametrize(("options", "policy"), [
    ({}, "Allow"),
    ({"concurrentPipelines": {"amount": 1}}, "Forbid"),
    ({"concurrentPipelines": {"amount": 1, "rejectOnFailure": True}}, "Forbid"),
    ({"concurrentPipelines": {"amount": 1, "rejectOnFailure": False}}, "Allow"),
    ({"concurrentPipelines": {"amount": 3}}, "Allow"),
])
def test_concurrency_policy(options: dict[str, Any], policy: str) -> None:
    plan = plan_of({**cron(), "options": options})
    doc = cron_workflow(plan, "p", CONFIG)
    assert doc is not None and doc["spec"]["concurrencyPolicy"] == policy
    # beyond what the policy expresses, the template's semaphore limits the runs
    template = compile_manifests(plan, CONFIG).workflow_template
    assert ("synchronization" in template["spec"]) == bool(options)


def test_history_and_deadline() -> None:
    doc = cron_workflow(plan_of(cron()), "p", CONFIG)
    assert doc is not None
    spec = doc["spec"]
    assert spec["successfulJobsHistoryLimit"] >= 1
    assert spec["failedJobsHistoryLimit"] >= 1
    assert 0 < spec["startingDeadlineSeconds"] <= 300


def test_cron_runs_are_labelled_like_other_runs() -> None:
    plan = plan_of({**cron(), "tags": ["nightly"]})
    doc = cron_workflow(plan, "p", CONFIG)
    assert doc is not None
    run_labels = doc["spec"]["workflowMetadata"]["labels"]
    assert run_labels == {**labels(plan), "hkube2argo.io/run": "cron"}
    assert run_labels[PIPELINE_LABEL] == "p"  # what the children's EventSources select
    workflow = compile_manifests(plan, CONFIG).workflow
    assert doc["spec"]["workflowMetadata"]["annotations"] == workflow["metadata"]["annotations"]


@pytest.mark.parametrize("name", ["a" * 52, "a" * 53, "b" * 63, "Long.Pipeline_Name:" * 5])
def test_long_names_fit_52(name: str) -> None:
    plan = plan_of(cron() | {"name": name})
    template_name = naming.dns_name(plan.name)
    doc = cron_workflow(plan, template_name, CONFIG)
    assert doc is not None
    cron_name = doc["metadata"]["name"]
    assert len(cron_name) <= NAME_MAX
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", cron_name)
    assert doc["spec"]["workflowSpec"]["workflowTemplateRef"]["name"] == template_name
    if len(template_name) <= NAME_MAX:
        assert cron_name == template_name
    assert lint.lint([doc]) == []


def test_long_names_stay_distinct() -> None:
    """Two names that differ only beyond character 52 get different CronWorkflows."""
    names = set()
    for name in ("x" * 60 + "1", "x" * 60 + "2"):
        doc = cron_workflow(plan_of(cron() | {"name": name}), naming.dns_name(name), CONFIG)
        assert doc is not None
        names.add(doc["metadata"]["name"])
    assert len(names) == 2


# --- EventSource + Sensor ----------------------------------------------------------------


def triggered(parents: list[str], name: str = "child", **extra: Any) -> Plan:
    return plan_of(pipeline(name, triggers={"pipelines": parents}, **extra))


def pair(parents: list[str], config: Any = CONFIG) -> tuple[dict[str, Any], dict[str, Any]]:
    objects = trigger_objects(triggered(parents), "child", config)
    assert [o["kind"] for o in objects] == ["EventSource", "Sensor"]
    return objects[0], objects[1]


def test_no_parents_no_objects() -> None:
    assert trigger_objects(plan_of(pipeline()), "p", CONFIG) == []
    assert trigger_objects(plan_of(cron()), "p", CONFIG) == []


def test_event_source_watches_the_parents_runs() -> None:
    source, _ = pair(["source"])
    spec = source["spec"]
    assert spec["eventBusName"] == "default"
    assert spec["template"] == {"serviceAccountName": "hkube2argo-events"}
    [watch] = spec["resource"].values()
    assert (watch["group"], watch["version"], watch["resource"]) == \
        ("argoproj.io", "v1alpha1", "workflows")
    assert watch["namespace"] == "pipelines"
    assert watch["eventTypes"] == ["UPDATE"]
    assert watch["filter"]["labels"] == [
        {"key": PIPELINE_LABEL, "operation": "in", "value": "source"}]
    assert watch["filter"]["fields"] == [
        {"key": "status.phase", "operation": "==", "value": "^Succeeded$"}]


def test_sensor_filters_the_transition_and_passes_the_parent() -> None:
    source, sensor = pair(["source"])
    spec = sensor["spec"]
    assert spec["eventBusName"] == "default"
    assert spec["template"] == {"serviceAccountName": "hkube2argo-sensor"}
    [dep] = spec["dependencies"]
    assert dep["eventSourceName"] == source["metadata"]["name"]
    assert dep["eventName"] in source["spec"]["resource"]
    assert dep["filters"]["data"] == [
        {"path": "body.status.phase", "type": "string", "value": ["^Succeeded$"]},
        {"path": "oldBody.status.phase", "type": "string", "comparator": "!=",
         "value": ["^Succeeded$"]}]
    [trigger] = spec["triggers"]
    action = trigger["template"]["argoWorkflow"]
    assert action["operation"] == "submit"
    workflow = action["source"]["resource"]
    assert workflow["kind"] == "Workflow"
    assert workflow["spec"]["workflowTemplateRef"] == {"name": "child"}
    assert workflow["spec"]["arguments"]["parameters"] == [{"name": "parent-job",
                                                            "value": "none"}]
    assert workflow["metadata"]["labels"][PIPELINE_LABEL] == "child"
    assert workflow["metadata"]["labels"]["hkube2argo.io/run"] == "trigger"
    assert action["parameters"] == [{
        "src": {"dependencyName": dep["name"], "dataKey": "body.metadata.name"},
        "dest": "spec.arguments.parameters.0.value"}]


def test_several_parents_any_one_triggers() -> None:
    source, sensor = pair(["zeta", "alpha", "my_pipeline:v2"])
    [watch] = source["spec"]["resource"].values()
    [selector] = watch["filter"]["labels"]
    values = selector["value"].split(",")
    assert selector["operation"] == "in"
    # exactly the label each parent's runs carry, in a stable order
    expected = sorted(labels(plan_of(pipeline(n)))[PIPELINE_LABEL]
                      for n in ("zeta", "alpha", "my_pipeline:v2"))
    assert values == expected
    # one dependency, one trigger with no conditions: any parent's event fires it
    assert len(sensor["spec"]["dependencies"]) == 1
    [trigger] = sensor["spec"]["triggers"]
    assert "conditions" not in trigger["template"]


def test_service_accounts_and_event_bus_come_from_config() -> None:
    config = CONFIG.with_overrides(event_bus="bus", sensor_service_account="sa-sensor",
                                   event_source_service_account="sa-watch", namespace="ns")
    source, sensor = pair(["source"], config)
    assert source["spec"]["eventBusName"] == sensor["spec"]["eventBusName"] == "bus"
    assert source["spec"]["template"]["serviceAccountName"] == "sa-watch"
    assert sensor["spec"]["template"]["serviceAccountName"] == "sa-sensor"
    assert source["metadata"]["namespace"] == sensor["metadata"]["namespace"] == "ns"
    assert next(iter(source["spec"]["resource"].values()))["namespace"] == "ns"


def test_trigger_objects_are_deterministic() -> None:
    first = trigger_objects(triggered(["b", "a"]), "child", CONFIG)
    again = trigger_objects(triggered(["b", "a"]), "child", CONFIG)
    assert yaml.safe_dump_all(first) == yaml.safe_dump_all(again)


def test_no_namespace_is_refused() -> None:
    with pytest.raises(EmitError, match="namespace"):
        trigger_objects(triggered(["source"]), "child", DEFAULT)


def test_long_pipeline_names_give_valid_object_names() -> None:
    plan = triggered(["source"], name="n" * 63)
    for obj in trigger_objects(plan, naming.dns_name(plan.name), CONFIG):
        assert len(obj["metadata"]["name"]) <= 63
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", obj["metadata"]["name"])
    [workflow] = submitted_workflows(trigger_objects(plan, naming.dns_name(plan.name), CONFIG))
    assert len(workflow["metadata"]["generateName"]) <= 51


# --- what Argo Events does with them (simulated from its source) --------------------------


def _get(data: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(data, dict) or key not in data:
            raise KeyError(path)
        data = data[key]
    return data


def _selected(source: dict[str, Any], workflow: dict[str, Any]) -> bool:
    """resource/start.go: the informer's label selector, then the field filters."""
    [watch] = source["spec"]["resource"].values()
    run_labels = workflow["metadata"].get("labels", {})
    for sel in watch["filter"]["labels"]:
        assert sel["operation"] == "in"
        if run_labels.get(sel["key"]) not in sel["value"].split(","):
            return False
    for sel in watch["filter"]["fields"]:
        try:
            value = _get(workflow, sel["key"])
        except KeyError:
            return False
        if not re.search(sel["value"], str(value)):
            return False
    return True


def _passes(sensor: dict[str, Any], event: dict[str, Any]) -> bool:
    """filter.go filterData for string filters: unanchored regex, "!=" negates, a missing
    path is an error (false)."""
    [dep] = sensor["spec"]["dependencies"]
    for f in dep["filters"]["data"]:
        try:
            value = str(_get(event, f["path"]))
        except KeyError:
            return False
        matched = [bool(re.search(v, value)) for v in f["value"]]
        if f.get("comparator", "=") == "!=":
            matched = [not m for m in matched]
        if not any(matched):
            return False
    return True


def _run(name: str, pipeline_label: str, phase: str | None, extra: str = "") -> dict[str, Any]:
    wf: dict[str, Any] = {"metadata": {"name": name,
                                       "labels": {PIPELINE_LABEL: pipeline_label}}}
    if extra:
        wf["metadata"]["labels"]["workflows.argoproj.io/workflow-archiving-status"] = extra
    if phase:
        wf["status"] = {"phase": phase}
    return wf


def _fires(source: dict[str, Any], sensor: dict[str, Any],
           history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The UPDATE events of a Workflow's successive states that start a run."""
    fired = []
    for old, new in itertools.pairwise(history):
        event = {"type": "UPDATE", "body": new, "oldBody": old}
        if _selected(source, new) and _passes(sensor, event):
            fired.append(event)
    return fired


def test_a_success_triggers_once() -> None:
    source, sensor = pair(["source"])
    history = [_run("source-abc", "source", None), _run("source-abc", "source", "Pending"),
               _run("source-abc", "source", "Running"), _run("source-abc", "source", "Running"),
               _run("source-abc", "source", "Succeeded"),
               # later updates of a finished run (archiving, GC) must not trigger again
               _run("source-abc", "source", "Succeeded", "Pending"),
               _run("source-abc", "source", "Succeeded", "Archived")]
    fired = _fires(source, sensor, history)
    assert len(fired) == 1
    assert fired[0]["oldBody"]["status"]["phase"] == "Running"


@pytest.mark.parametrize("phase", ["Failed", "Error"])
def test_failed_or_stopped_runs_never_trigger(phase: str) -> None:
    source, sensor = pair(["source"])
    history = [_run("source-x", "source", "Running"), _run("source-x", "source", phase),
               _run("source-x", "source", phase, "Archived")]
    assert _fires(source, sensor, history) == []


def test_other_pipelines_runs_are_not_watched() -> None:
    source, sensor = pair(["source"])
    history = [_run("other-x", "other", "Running"), _run("other-x", "other", "Succeeded")]
    assert _fires(source, sensor, history) == []


def test_each_parent_triggers() -> None:
    source, sensor = pair(["a", "b"])
    for parent in ("a", "b"):
        history = [_run(f"{parent}-1", parent, "Running"), _run(f"{parent}-1", parent,
                                                                 "Succeeded")]
        assert len(_fires(source, sensor, history)) == 1


def _apply_parameters(sensor: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """triggers/params.go + sjson: each parameter's dataKey value written at dest."""
    [trigger] = sensor["spec"]["triggers"]
    action = trigger["template"]["argoWorkflow"]
    workflow = copy.deepcopy(action["source"]["resource"])
    for param in action["parameters"]:
        value = str(_get(event, param["src"]["dataKey"]))
        *path, last = param["dest"].split(".")
        target: Any = workflow
        for key in path:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(last) if last.isdigit() else last] = value
    return workflow


def test_the_submitted_run_names_its_parent() -> None:
    source, sensor = pair(["source"])
    [event] = _fires(source, sensor, [_run("source-7xk2p", "source", "Running"),
                                      _run("source-7xk2p", "source", "Succeeded")])
    workflow = _apply_parameters(sensor, event)
    assert workflow["spec"]["arguments"]["parameters"] == [
        {"name": "parent-job", "value": "source-7xk2p"}]
    assert lint.lint([workflow]) == []


# --- strict schemas ----------------------------------------------------------------------


def _all_objects() -> list[dict[str, Any]]:
    plan = plan_of(pipeline("both", triggers={"cron": {"pattern": "0 0 * * *"},
                                              "pipelines": ["a", "b"]}))
    manifests = compile_manifests(plan, CONFIG)
    assert manifests.cron_workflow is not None
    return [manifests.cron_workflow, *manifests.trigger_objects]


def test_every_emitted_object_passes_strict_lint() -> None:
    objects = _all_objects()
    assert [o["kind"] for o in objects] == ["CronWorkflow", "EventSource", "Sensor"]
    assert lint.lint(objects) == []
    assert lint.lint(submitted_workflows(objects)) == []  # the Workflow inside the Sensor


def _misspell(doc: dict[str, Any], path: list[str | int], wrong: str) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[wrong] = target.pop(path[-1])
    return doc


@pytest.mark.parametrize(("kind", "path", "wrong", "where"), [
    ("Sensor", ["spec", "dependencies", 0, "filters", "data", 1, "comparator"], "comparitor",
     "spec/dependencies/0/filters/data/1"),
    ("Sensor", ["spec", "triggers", 0, "template", "argoWorkflow"], "argoWorkfow",
     "spec/triggers/0/template"),
    ("Sensor", ["spec", "dependencies", 0, "eventSourceName"], "eventsourceName",
     "spec/dependencies/0"),
    ("EventSource", ["spec", "resource", "parent-succeeded", "eventTypes"], "evenTypes",
     "spec/resource/parent-succeeded"),
    ("EventSource", ["spec", "template", "serviceAccountName"], "serviceAccount",
     "spec/template"),
    ("CronWorkflow", ["spec", "schedules"], "schedule", "spec"),  # v3 spelling, gone in v4
])
def test_misspelled_fields_are_caught(kind: str, path: list[str | int], wrong: str,
                                      where: str) -> None:
    [doc] = [o for o in _all_objects() if o["kind"] == kind]
    problems = lint.lint([_misspell(doc, path, wrong)])
    assert problems, f"{wrong} was not caught"
    assert any(p.path == where for p in problems), [str(p) for p in problems]
    assert any(wrong in p.message or "required" in p.message for p in problems)


# --- compile, files, CLI -----------------------------------------------------------------


def test_compile_writes_trigger_files(in_repo_root: Path) -> None:
    algorithms = [str(ALGORITHMS)]
    source = compile_file(TRIGGERS / "source.yaml", algorithms, CONFIG)
    assert set(source.files()) == {"source.workflowtemplate.yaml", "source.workflow.yaml",
                                   "source.cronworkflow.yaml"}
    summary = compile_file(TRIGGERS / "summary.yaml", algorithms, CONFIG)
    files = summary.files()
    assert set(files) == {"summary.workflowtemplate.yaml", "summary.workflow.yaml",
                          "summary.cronworkflow.yaml", "summary.triggers.yaml"}
    assert [d["kind"] for d in yaml.safe_load_all(files["summary.triggers.yaml"])] == \
        ["EventSource", "Sensor"]
    assert [d["kind"] for d in yaml.safe_load_all(summary.text())] == \
        ["WorkflowTemplate", "Workflow", "CronWorkflow", "EventSource", "Sensor"]
    plain = compile_file(EXAMPLES / "edges" / "pipeline.yaml", algorithms)
    assert set(plain.files()) == {"edges.workflowtemplate.yaml", "edges.workflow.yaml"}


def test_compile_needs_a_namespace_for_pipeline_triggers(in_repo_root: Path) -> None:
    with pytest.raises(ValidationFailed) as info:
        compile_file(TRIGGERS / "child.yaml", [str(ALGORITHMS)])
    [diag] = info.value.diagnostics
    assert diag.path == "triggers.pipelines" and "--namespace" in diag.message


def test_library_compile_without_namespace_leaves_the_pair_out() -> None:
    """The local runner compiles with the defaults: it gets the runs, not the cluster
    wiring (and no error)."""
    plan = plan_of(pipeline("both", triggers={"cron": {"pattern": "0 0 * * *"},
                                              "pipelines": ["a"]}))
    manifests = compile_manifests(plan, DEFAULT)
    assert manifests.trigger_objects == ()
    assert manifests.cron_workflow is not None


def test_flow_input_parent_is_given_at_run_time() -> None:
    """compile checks a triggered pipeline for its triggered runs; validate keeps HKube's
    exec-time check and says why it fails."""
    data = pipeline(triggers={"pipelines": ["source"]}, flowInput={"k": 1})
    data["nodes"][0]["input"] = ["@flowInput.parent.0.result", "@flowInput.k"]
    catalog = load_algorithms([ALGORITHMS])
    assert validate_descriptor(Descriptor(data, Source("<t>")), catalog,
                               triggered_runs=True).plan is not None
    strict = validate_descriptor(Descriptor(data, Source("<t>")), catalog)
    assert strict.plan is None
    assert any("runs started by triggers.pipelines get flowInput.parent" in d.message
               for d in strict.diagnostics)
    # other paths, and pipelines without parents, are still checked
    data["nodes"][0]["input"] = ["@flowInput.parent.0.result", "@flowInput.missing"]
    assert validate_descriptor(Descriptor(data, Source("<t>")), catalog,
                               triggered_runs=True).plan is None
    lone = pipeline(flowInput={"k": 1})
    lone["nodes"][0]["input"] = ["@flowInput.parent"]
    assert validate_descriptor(Descriptor(lone, Source("<t>")), catalog,
                               triggered_runs=True).plan is None


def test_cli_compile_timezone_and_namespace(in_repo_root: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["compile", str(TRIGGERS / "summary.yaml"), "-a", str(ALGORITHMS),
                               "--namespace", "team", "--timezone", "Europe/Berlin",
                               "-o", str(tmp_path)])
    assert out.exit_code == 0, out.output
    cron_doc = yaml.safe_load((tmp_path / "summary.cronworkflow.yaml").read_text())
    assert cron_doc["spec"]["timezone"] == "Europe/Berlin"
    assert (tmp_path / "summary.triggers.yaml").is_file()
    bad = runner.invoke(main, ["compile", str(TRIGGERS / "source.yaml"), "-a", str(ALGORITHMS),
                               "--timezone", "Nowhere/Else"])
    assert bad.exit_code == 2 and "not an IANA time zone" in bad.output
    missing = runner.invoke(main, ["compile", str(TRIGGERS / "child.yaml"), "-a",
                                   str(ALGORITHMS)])
    assert missing.exit_code == 1 and "--namespace" in missing.output


# --- goldens -----------------------------------------------------------------------------


def test_trigger_examples_have_goldens() -> None:
    names = {e.name for e in examples()}
    assert {"triggers-source", "triggers-child", "triggers-summary"} <= names
    golden = TRIGGERS / "golden"
    for stem in ("source", "summary"):
        assert (golden / f"{stem}.cronworkflow.yaml").is_file()
    for stem in ("child", "summary"):
        assert (golden / f"{stem}.triggers.yaml").is_file()
