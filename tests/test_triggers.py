"""Pipeline triggers: HKube cron patterns, the CronWorkflow, the EventSource + Sensor pair.

What Argo Events does with the Sensor is simulated here from its source (filter.go for data
filters, resource/start.go for the label and field selectors, sjson for the parameter):
a real cluster is still needed to see it happen (docs/triggers.md).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import re
from datetime import UTC, datetime, timedelta
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
from hkube2argo.emit.cron import NAME_MAX, cron_workflow
from hkube2argo.emit.events import (
    RECENT,
    REPLAY_WINDOW,
    child_name,
    shared_watch,
    submitted_workflows,
    trigger_objects,
)
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
    # priority on the run: Argo's queues read it from the Workflow object (controller.go
    # getWfPriority), not from the template; HKube's default 3 is Argo's 3
    assert spec["workflowSpec"] == {"workflowTemplateRef": {"name": "p"}, "priority": 3}
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


# --- the Sensor on the shared EventSource ------------------------------------------------


def triggered(parents: list[str], name: str = "child", **extra: Any) -> Plan:
    return plan_of(pipeline(name, triggers={"pipelines": parents}, **extra))


def the_sensor(parents: list[str], config: Any = CONFIG, **extra: Any) -> dict[str, Any]:
    objects = trigger_objects(triggered(parents, **extra), "child", config)
    assert [o["kind"] for o in objects] == ["Sensor"]  # the EventSource is the chart's
    return objects[0]


WATCH = shared_watch("pipelines")  # what the chart's EventSource watches (tests/chart)


def test_no_parents_no_objects() -> None:
    assert trigger_objects(plan_of(pipeline()), "p", CONFIG) == []
    assert trigger_objects(plan_of(cron()), "p", CONFIG) == []


def test_sensor_depends_on_the_shared_event_source() -> None:
    sensor = the_sensor(["source"])
    spec = sensor["spec"]
    assert spec["eventBusName"] == "default"
    assert spec["template"] == {"serviceAccountName": "hkube2argo-sensor"}
    assert [d["name"] for d in spec["dependencies"]] == ["parent-succeeded", "parent-listed"]
    for dep in spec["dependencies"]:
        assert (dep["eventSourceName"], dep["eventName"]) == (CONFIG.event_source,
                                                              CONFIG.event_source_event)
    # each dependency fires its own trigger
    assert [t["template"]["conditions"] for t in spec["triggers"]] == [
        "parent-succeeded", "parent-listed"]
    for trigger in spec["triggers"]:
        action = trigger["template"]["argoWorkflow"]
        assert action["operation"] == "submit"
        workflow = action["source"]["resource"]
        assert workflow["spec"]["workflowTemplateRef"] == {"name": "child"}
        assert workflow["spec"]["arguments"]["parameters"] == [{"name": "parent-job",
                                                                "value": "none"}]
        assert workflow["metadata"]["labels"][PIPELINE_LABEL] == "child"
        assert workflow["metadata"]["labels"]["hkube2argo.io/run"] == "trigger"


def test_triggered_runs_carry_the_priority() -> None:
    """Argo's queues read spec.priority from the Workflow object itself (controller.go
    getWfPriority, sync_manager.go prepAcquire), not from the template it references."""
    for priority, argo in ((1, 5), (3, 3), (5, 1)):
        sensor = the_sensor(["source"], priority=priority)
        for workflow in submitted_workflows([sensor]):
            assert workflow["spec"]["priority"] == argo


def test_service_accounts_event_bus_and_source_come_from_config() -> None:
    config = CONFIG.with_overrides(event_bus="bus", sensor_service_account="sa-sensor",
                                   event_source="watcher", event_source_event="runs",
                                   namespace="ns")
    sensor = the_sensor(["source"], config)
    assert sensor["spec"]["eventBusName"] == "bus"
    assert sensor["spec"]["template"]["serviceAccountName"] == "sa-sensor"
    assert sensor["metadata"]["namespace"] == "ns"
    assert {(d["eventSourceName"], d["eventName"]) for d in sensor["spec"]["dependencies"]} \
        == {("watcher", "runs")}


def test_trigger_objects_are_deterministic() -> None:
    first = trigger_objects(triggered(["b", "a"]), "child", CONFIG)
    again = trigger_objects(triggered(["b", "a"]), "child", CONFIG)
    assert yaml.safe_dump_all(first) == yaml.safe_dump_all(again)


def test_without_a_namespace_the_sensor_takes_the_one_it_is_applied_to() -> None:
    [sensor] = trigger_objects(triggered(["source"]), "child", DEFAULT)
    assert "namespace" not in sensor["metadata"]


def test_long_pipeline_names_give_valid_object_names() -> None:
    plan = triggered(["source"], name="n" * 63)
    template = naming.dns_name(plan.name)
    for obj in trigger_objects(plan, template, CONFIG):
        assert len(obj["metadata"]["name"]) <= 63
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", obj["metadata"]["name"])
    name = child_name(template, "p" * 63)
    assert len(name) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name)


# --- what Argo Events does with them (simulated from its source) --------------------------


def _get(data: Any, path: str) -> Any:
    """gjson: dots separate keys, a backslash escapes a dot inside one; null has no keys."""
    keys = [k.replace("\x00", ".") for k in path.replace("\\.", "\x00").split(".")]
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            raise KeyError(path)
        data = data[key]
    return data


def _selected(watch: dict[str, Any], workflow: dict[str, Any]) -> bool:
    """resource/start.go: the informer's label selector, then filterFields (gjson on the
    object, a missing path fails, the value an unanchored regular expression)."""
    run_labels = workflow["metadata"].get("labels", {})
    for sel in watch["filter"]["labels"]:
        assert sel["operation"] == "exists" and sel["value"] == ""
        if sel["key"] not in run_labels:
            return False
    for sel in watch["filter"]["fields"]:
        try:
            value = _get(workflow, sel["key"])
        except KeyError:
            return False
        if not re.search(sel["value"], str(value)):
            return False
    return True


def _template(text: str, value: str, now: datetime) -> str:
    """The one sprig template the Sensor's filters use (events.RECENT): whether the
    parent finished less than N seconds before now. toDate gives the zero time for an
    unparsable date (sprig ignores the error), so such a parent is old."""
    match = re.fullmatch(re.escape(RECENT).replace("%d", r"(\d+)"), text)
    assert match, text
    try:
        finished = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        finished = datetime(1, 1, 1, tzinfo=UTC)
    return "recent" if (now - finished).total_seconds() < int(match.group(1)) else "old"


def _passes(dep: dict[str, Any], event: dict[str, Any], now: datetime) -> bool:
    """filter.go filterData for string filters, AND of the list: unanchored regex, any
    value matching passes, "!=" negates, a missing path (null included) is an error."""
    for f in dep["filters"]["data"]:
        try:
            value = _get(event, f["path"])
        except KeyError:
            return False
        text = "" if value is None else str(value)
        if "template" in f:
            text = _template(f["template"], text, now)
        matched = [bool(re.search(v, text)) for v in f["value"]]
        if f.get("comparator", "=") == "!=":
            matched = [not m for m in matched]
        if not any(matched):
            return False
    return True


NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _run(name: str, pipeline_label: str, phase: str | None, extra: str = "",
         finished: datetime | None = None) -> dict[str, Any]:
    wf: dict[str, Any] = {"metadata": {"name": name,
                                       "labels": {PIPELINE_LABEL: pipeline_label}}}
    if extra:
        wf["metadata"]["labels"]["workflows.argoproj.io/workflow-archiving-status"] = extra
    if phase:
        wf["status"] = {"phase": phase}
        if phase in ("Succeeded", "Failed", "Error"):
            when = finished or NOW - timedelta(seconds=5)
            wf["status"]["finishedAt"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return wf


def _deliver(sensor: dict[str, Any], event: dict[str, Any],
             now: datetime = NOW) -> list[dict[str, Any]]:
    """The EventSource publishes the event if it passes its filters; each dependency that
    accepts it fires the trigger whose condition names it: the Workflows submitted."""
    if event["type"] not in WATCH["eventTypes"] or not _selected(WATCH, event["body"]):
        return []
    out = []
    for dep in sensor["spec"]["dependencies"]:
        if _passes(dep, event, now):
            [trigger] = [t for t in sensor["spec"]["triggers"]
                         if t["template"]["conditions"] == dep["name"]]
            out.append(_apply_parameters(trigger, event))
    return out


def _updates(sensor: dict[str, Any], history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runs submitted for the UPDATE events of a Workflow's successive states."""
    return [wf for old, new in itertools.pairwise(history)
            for wf in _deliver(sensor, {"type": "UPDATE", "body": new, "oldBody": old})]


def _listed(sensor: dict[str, Any], workflow: dict[str, Any],
            now: datetime = NOW) -> list[dict[str, Any]]:
    """An ADD event, as the informer replays it after a restart (oldBody null)."""
    return _deliver(sensor, {"type": "ADD", "body": workflow, "oldBody": None}, now)


def _apply_parameters(trigger: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """triggers/params.go + sjson: each parameter's value written at dest; a dataTemplate
    runs over the event's data (the Sensor's one: a prefix and sprig's sha256sum | trunc)."""
    action = trigger["template"]["argoWorkflow"]
    workflow = copy.deepcopy(action["source"]["resource"])
    for param in action["parameters"]:
        src = param["src"]
        if "dataTemplate" in src:
            prefix, _, rest = src["dataTemplate"].partition("{{")
            assert rest.strip() == ".Input.body.metadata.name | sha256sum | trunc 10 }}", rest
            digest = hashlib.sha256(str(_get(event, "body.metadata.name")).encode()).hexdigest()
            value = prefix + digest[:10]
        else:
            value = str(_get(event, src["dataKey"]))
        *path, last = param["dest"].split(".")
        target: Any = workflow
        for key in path:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(last) if last.isdigit() else last] = value
    return workflow


def test_a_success_triggers_once() -> None:
    sensor = the_sensor(["source"])
    history = [_run("source-abc", "source", None), _run("source-abc", "source", "Pending"),
               _run("source-abc", "source", "Running"), _run("source-abc", "source", "Running"),
               _run("source-abc", "source", "Succeeded"),
               # later updates of a finished run (archiving, GC) must not trigger again
               _run("source-abc", "source", "Succeeded", "Pending"),
               _run("source-abc", "source", "Succeeded", "Archived")]
    [run] = _updates(sensor, history)
    assert run["spec"]["arguments"]["parameters"] == [{"name": "parent-job",
                                                       "value": "source-abc"}]
    assert run["metadata"]["name"] == child_name("child", "source-abc")
    assert lint.lint([run]) == []


@pytest.mark.parametrize("phase", ["Failed", "Error"])
def test_failed_or_stopped_runs_never_trigger(phase: str) -> None:
    sensor = the_sensor(["source"])
    history = [_run("source-x", "source", "Running"), _run("source-x", "source", phase),
               _run("source-x", "source", phase, "Archived")]
    assert _updates(sensor, history) == []
    assert _listed(sensor, history[-1]) == []


def test_other_pipelines_runs_do_not_trigger() -> None:
    sensor = the_sensor(["source"])
    for label in ("other", "source2", "xsource", "sourc"):
        history = [_run("r-1", label, "Running"), _run("r-1", label, "Succeeded")]
        assert _updates(sensor, history) == []
        assert _listed(sensor, history[-1]) == []


def test_each_parent_triggers() -> None:
    sensor = the_sensor(["a", "b.c", "my_pipeline:v2"])
    for parent in ("a", "b.c", "my_pipeline:v2"):
        label = naming.label_value(parent)
        history = [_run(f"{label}-1", label, "Running"), _run(f"{label}-1", label,
                                                               "Succeeded")]
        assert len(_updates(sensor, history)) == 1
    # the dot of b.c is a dot, not "any character"
    assert _updates(sensor, [_run("bxc-1", "bxc", "Running"),
                             _run("bxc-1", "bxc", "Succeeded")]) == []


def test_a_parent_seen_again_after_a_restart_gives_the_same_child_name() -> None:
    """The informer replays existing objects as ADD: a parent that succeeded while the
    EventSource was down is seen then; one that already triggered gives the same name,
    which Argo refuses to create twice (AlreadyExists)."""
    sensor = the_sensor(["source"])
    done = _run("source-q7", "source", "Succeeded", finished=NOW - timedelta(minutes=20))
    [replayed] = _listed(sensor, done)
    [original] = _updates(sensor, [_run("source-q7", "source", "Running"), done])
    assert replayed["metadata"]["name"] == original["metadata"]["name"] == \
        child_name("child", "source-q7")
    assert replayed["spec"]["arguments"] == original["spec"]["arguments"]
    # another parent run, another child
    [other] = _listed(sensor, _run("source-q8", "source", "Succeeded"))
    assert other["metadata"]["name"] != replayed["metadata"]["name"]


@pytest.mark.parametrize(("age", "fires"), [(timedelta(seconds=1), True),
                                            (timedelta(seconds=REPLAY_WINDOW - 60), True),
                                            (timedelta(seconds=REPLAY_WINDOW + 60), False),
                                            (timedelta(days=30), False)])
def test_replayed_parents_trigger_only_within_the_window(age: timedelta, fires: bool) -> None:
    sensor = the_sensor(["source"])
    done = _run("source-old", "source", "Succeeded", finished=NOW - age)
    assert bool(_listed(sensor, done)) is fires


def test_an_update_fires_only_the_update_trigger_and_an_add_only_the_add_one() -> None:
    sensor = the_sensor(["source"])
    running, done = _run("s-1", "source", "Running"), _run("s-1", "source", "Succeeded")
    updated, listed = sensor["spec"]["dependencies"]
    update = {"type": "UPDATE", "body": done, "oldBody": running}
    add = {"type": "ADD", "body": done, "oldBody": None}
    assert _passes(updated, update, NOW) and not _passes(listed, update, NOW)
    assert _passes(listed, add, NOW) and not _passes(updated, add, NOW)


# --- strict schemas ----------------------------------------------------------------------


def _all_objects() -> list[dict[str, Any]]:
    plan = plan_of(pipeline("both", triggers={"cron": {"pattern": "0 0 * * *"},
                                              "pipelines": ["a", "b"]}))
    manifests = compile_manifests(plan, CONFIG)
    assert manifests.cron_workflow is not None
    return [manifests.cron_workflow, *manifests.trigger_objects]


def test_every_emitted_object_passes_strict_lint() -> None:
    objects = _all_objects()
    assert [o["kind"] for o in objects] == ["CronWorkflow", "Sensor"]
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
    ("Sensor", ["spec", "dependencies", 0, "filters", "data", 2, "comparator"], "comparitor",
     "spec/dependencies/0/filters/data/2"),
    ("Sensor", ["spec", "triggers", 0, "template", "argoWorkflow"], "argoWorkfow",
     "spec/triggers/0/template"),
    ("Sensor", ["spec", "dependencies", 0, "eventSourceName"], "eventsourceName",
     "spec/dependencies/0"),
    ("Sensor", ["spec", "dependencies", 1, "filters", "data", 3, "template"], "templte",
     "spec/dependencies/1/filters/data/3"),
    ("Sensor", ["spec", "triggers", 1, "template", "conditions"], "condition",
     "spec/triggers/1/template"),
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
                                   "source.cronworkflow.yaml", "source.semaphore.yaml"}
    # concurrentPipelines: the key Argo needs before any run (emit/semaphore.py), alone
    semaphore = yaml.safe_load(source.files()["source.semaphore.yaml"])
    assert (semaphore["kind"], semaphore["metadata"]["name"]) == \
        ("ConfigMap", "hkube2argo-semaphores")
    assert semaphore["data"] == {"source": "1"}
    assert "--server-side --field-manager=hkube2argo-source" in \
        semaphore["metadata"]["annotations"]["hkube2argo.io/apply-with"]
    ref = source.manifests.workflow["spec"]["synchronization"]["semaphores"][0]
    assert ref["configMapKeyRef"] == {"name": "hkube2argo-semaphores", "key": "source"}
    assert [d["kind"] for d in yaml.safe_load_all(source.text())][-1] == "ConfigMap"
    summary = compile_file(TRIGGERS / "summary.yaml", algorithms, CONFIG)
    files = summary.files()
    assert set(files) == {"summary.workflowtemplate.yaml", "summary.workflow.yaml",
                          "summary.cronworkflow.yaml", "summary.triggers.yaml"}
    assert [d["kind"] for d in yaml.safe_load_all(files["summary.triggers.yaml"])] == \
        ["Sensor"]
    assert [d["kind"] for d in yaml.safe_load_all(summary.text())] == \
        ["WorkflowTemplate", "Workflow", "CronWorkflow", "Sensor"]
    plain = compile_file(EXAMPLES / "edges" / "pipeline.yaml", algorithms)
    assert set(plain.files()) == {"edges.workflowtemplate.yaml", "edges.workflow.yaml"}


def test_compile_without_namespace_emits_the_sensor(in_repo_root: Path) -> None:
    """Only the EventSource had to name a namespace; the shared one is the chart's."""
    output = compile_file(TRIGGERS / "child.yaml", [str(ALGORITHMS)])
    [sensor] = output.manifests.trigger_objects
    assert sensor["kind"] == "Sensor" and "namespace" not in sensor["metadata"]


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
    plain = runner.invoke(main, ["compile", str(TRIGGERS / "child.yaml"), "-a",
                                 str(ALGORITHMS)])
    assert plain.exit_code == 0 and "kind: Sensor" in plain.output


# --- goldens -----------------------------------------------------------------------------


def test_trigger_examples_have_goldens() -> None:
    names = {e.name for e in examples()}
    assert {"triggers-source", "triggers-child", "triggers-summary"} <= names
    golden = TRIGGERS / "golden"
    for stem in ("source", "summary"):
        assert (golden / f"{stem}.cronworkflow.yaml").is_file()
    for stem in ("child", "summary"):
        assert (golden / f"{stem}.triggers.yaml").is_file()
