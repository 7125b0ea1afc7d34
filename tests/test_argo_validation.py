"""Argo's own validation (tools/argocheck: Kubernetes' API-server checks against Argo's full CRDs,
Argo Workflows' workflow/validate, Argo Events' controllers' validation) on every manifest the
tests compile, on synthetic shapes just past Argo's limits, and on Argo's own examples.

The binary comes from the session fixture ``argocheck`` (tests/conftest.py): built with ``go
build`` when go is on PATH, else taken where hkube2argo finds it, else these tests skip.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings

from hkube2argo import cli, compiler
from hkube2argo.compiler import compile_file, compile_manifests
from hkube2argo.lint import argo
from hkube2argo.loading import Descriptor, Source
from hkube2argo.validate import load_algorithms, validate_descriptor
from tests.chart.chart import VALUE_SETS, objects, render
from tests.conftest import ROOT
from tests.golden import Example, examples

ARGO_EXAMPLES = Path(__file__).resolve().parent / "argo_examples"
ALGORITHMS = ROOT / "examples" / "algorithms"
EXAMPLES = examples()

# The first test may build argocheck through the session fixture: with cold Go caches that took
# 19 minutes on a loaded 2-core machine (pyproject's per-test timeout is 10).
pytestmark = pytest.mark.timeout(3600)


def load_all(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def problems_of(report: argo.ArgoReport) -> list[str]:
    return [str(p) for p in report.problems]


# --- Argo's own examples ------------------------------------------------------------------


def test_argo_workflows_examples_are_valid(argocheck: Path) -> None:
    files = sorted((ARGO_EXAMPLES / "workflows").glob("*.yaml"))
    report = argo.check_files(files, binary=argocheck)
    assert report.valid, problems_of(report)
    kinds = sorted({o["kind"] for o in report.objects})
    assert kinds == ["CronWorkflow", "Workflow", "WorkflowTemplate"]
    assert all(o["status"] == "valid" for o in report.objects)


def test_argo_events_examples_are_valid(argocheck: Path) -> None:
    files = sorted((ARGO_EXAMPLES / "events").glob("*.yaml"))
    report = argo.check_files(files, binary=argocheck)
    assert report.valid, problems_of(report)
    assert sorted({o["kind"] for o in report.objects}) == ["EventBus", "EventSource", "Sensor"]
    # the Sensor names no bus, so it is checked against the "default" bus of the input; the
    # Workflow its k8s trigger creates is checked too
    assert [n.split(": ", 2)[2] for n in report.notes()] == [
        'also checked the Workflow trigger "webhook-workflow-trigger" submits '
        "(spec.triggers[0].template.k8s.source.resource)"]


def test_workflow_template_ref_resolves_only_against_the_input(argocheck: Path) -> None:
    """The getter: Argo's validation sees the WorkflowTemplates given, and no others."""
    ref = ARGO_EXAMPLES / "workflows" / "workflow-template-ref.yaml"
    alone = argo.check_files([ref], binary=argocheck)
    assert [(p.stage, p.message) for p in alone.problems] == [
        ("argo-workflows",
         'workflowtemplates.argoproj.io "workflow-template-submittable" not found')]
    templates = ARGO_EXAMPLES / "workflows" / "workflow-template-templates.yaml"
    assert argo.check_files([ref, templates], binary=argocheck).valid
    # templates in another namespace are not visible to it
    other = [{**d, "metadata": {**d["metadata"], "namespace": "elsewhere"}}
             for d in load_all(templates)]
    assert not argo.check_documents([*load_all(ref), *other], binary=argocheck).valid


# --- what Argo refuses --------------------------------------------------------------------


def container_template(name: str) -> dict[str, Any]:
    return {"name": name, "container": {"image": "busybox", "command": ["true"]}}


def workflow(templates: list[dict[str, Any]], entrypoint: str) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"generateName": "limits-"},
            "spec": {"entrypoint": entrypoint, "templates": templates}}


def many_templates(n: int) -> dict[str, Any]:
    return workflow([container_template(f"t{i}") for i in range(n)], "t0")


def many_tasks(n: int) -> dict[str, Any]:
    tasks = [{"name": f"task{i}", "template": "leaf"} for i in range(n)]
    return workflow([{"name": "main", "dag": {"tasks": tasks}}, container_template("leaf")],
                    "main")


def test_201_templates_are_refused_200_accepted(argocheck: Path) -> None:
    report = argo.check_documents([many_templates(201)], binary=argocheck)
    assert ("crd-schema", "spec.templates", "Too many: 201: must have at most 200 items") in \
        [(p.stage, p.field, p.message) for p in report.problems], problems_of(report)
    assert argo.check_documents([many_templates(200)], binary=argocheck).valid


def test_201_dag_tasks_are_refused_200_accepted(argocheck: Path) -> None:
    report = argo.check_documents([many_tasks(201)], binary=argocheck)
    assert ("crd-schema", "spec.templates[0].dag.tasks",
            "Too many: 201: must have at most 200 items") in \
        [(p.stage, p.field, p.message) for p in report.problems], problems_of(report)
    assert argo.check_documents([many_tasks(200)], binary=argocheck).valid


def test_a_misspelled_field_is_refused(argocheck: Path) -> None:
    wf = many_tasks(2)
    wf["spec"]["entrypiont"] = wf["spec"].pop("entrypoint")
    wf["spec"]["templates"][1]["container"]["imagePulPolicy"] = "Always"
    report = argo.check_documents([wf], binary=argocheck)
    fields = {(p.stage, p.field, p.message) for p in report.problems}
    assert ("crd-schema", "spec.entrypiont", 'unknown field "spec.entrypiont"') in fields
    assert ("crd-schema", "spec.templates[1].container.imagePulPolicy",
            'unknown field "spec.templates[1].container.imagePulPolicy"') in fields


def test_cel_rules_of_the_crd_run(argocheck: Path) -> None:
    """x-kubernetes-validations: a DAG task may not have both depends and dependencies."""
    wf = many_tasks(2)
    wf["spec"]["templates"][0]["dag"]["tasks"][1].update(depends="task0",
                                                        dependencies=["task0"])
    messages = [p.message for p in argo.check_documents([wf], binary=argocheck).problems]
    assert any("cannot use both 'depends' and 'dependencies'" in m for m in messages), messages


def test_argo_workflows_own_validation_runs(argocheck: Path) -> None:
    """Schema-valid, yet Argo's workflow/validate refuses it: a task naming no template."""
    wf = many_tasks(2)
    wf["spec"]["templates"][0]["dag"]["tasks"][1]["template"] = "nowhere"
    report = argo.check_documents([wf], binary=argocheck)
    assert [(p.stage, p.field) for p in report.problems] == [
        ("argo-workflows", "spec.templates.main.tasks.task1")], problems_of(report)
    assert "template name 'nowhere' undefined" in report.problems[0].message


def test_argo_events_own_validation_runs(argocheck: Path) -> None:
    sensor = load_all(ARGO_EXAMPLES / "events" / "sensor-webhook.yaml")[0]
    sensor["spec"]["triggers"] = []
    bus = {"apiVersion": "argoproj.io/v1alpha1", "kind": "EventBus",
           "metadata": {"name": "empty"}, "spec": {}}
    source = load_all(ARGO_EXAMPLES / "events" / "eventsource-webhook.yaml")[0]
    source["spec"]["webhook"]["example"]["prot"] = source["spec"]["webhook"]["example"].pop(
        "port")
    report = argo.check_documents([sensor, bus, source], binary=argocheck)
    found = {(p.kind, p.stage, p.message) for p in report.problems}
    assert ("Sensor", "argo-events", "no triggers found") in found
    assert ("EventBus", "argo-events", 'invalid spec: either "nats", "jetstream", '
            '"jetstreamExotic", or "kafka" needs to be specified') in found
    assert any(k == "EventSource" and 'unknown field "spec.webhook.example.prot"' in m
               for k, _, m in found), found
    # the sensor named no bus of the input: checked the way `argo-events lint` does, and said
    assert any("EventBus \"default\" is not in the input" in n for n in report.notes())


def test_the_workflow_a_sensor_submits_is_checked(argocheck: Path) -> None:
    """Argo Events does not look inside a trigger's resource; the cluster will, when the Sensor
    creates it (in the Sensor's namespace, where its WorkflowTemplate is)."""
    golden = ROOT / "examples" / "triggers" / "golden"
    template = load_all(golden / "child.workflowtemplate.yaml")
    def sensor_of() -> dict[str, Any]:
        return next(d for d in load_all(golden / "child.triggers.yaml") if d["kind"] == "Sensor")

    sensor = sensor_of()
    assert argo.check_documents([*template, sensor], binary=argocheck).valid
    resource = sensor["spec"]["triggers"][0]["template"]["argoWorkflow"]["source"]["resource"]
    resource["spec"]["argumnets"] = resource["spec"].pop("arguments")
    report = argo.check_documents([*template, sensor], binary=argocheck)
    path = "spec.triggers[0].template.argoWorkflow.source.resource"
    assert (f"{path}.spec.argumnets", 'unknown field "spec.argumnets"') in \
        [(p.field, p.message) for p in report.problems if p.kind == "Sensor"], \
        problems_of(report)
    # without its WorkflowTemplate, Argo's validation cannot resolve the reference
    sensor = sensor_of()
    report = argo.check_documents([sensor], binary=argocheck)
    assert [(p.stage, p.field) for p in report.problems] == [
        ("argo-workflows", f"spec.triggers[{i}].template.argoWorkflow.source.resource.spec")
        for i in range(len(sensor["spec"]["triggers"]))], problems_of(report)
    assert all('workflowtemplates.argoproj.io "child" not found' in p.message
               for p in report.problems)


# --- the binary's own contract ------------------------------------------------------------


def run_binary(argocheck: Path, *args: str, stdin: str = "") -> tuple[int, str, str]:
    import subprocess

    proc = subprocess.run([str(argocheck), *args], input=stdin, capture_output=True, text=True,
                          timeout=300, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def test_exit_status_and_human_output(argocheck: Path, tmp_path: Path) -> None:
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump_all([configmap, many_tasks(2)]), encoding="utf-8")
    code, out, _ = run_binary(argocheck, str(good))
    assert code == 0, out
    assert "v1 ConfigMap is not an Argo kind: passed over" in out
    assert out.rstrip().endswith("1 Argo object(s) valid")

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(many_templates(201)), encoding="utf-8")
    code, out, _ = run_binary(argocheck, str(bad))
    assert code == 1
    assert (f"{bad}#1 Workflow/limits-: spec.templates: Too many: 201: must have at most 200 "
            "items [crd-schema]") in out

    code, _, err = run_binary(argocheck, str(tmp_path / "missing.yaml"))
    assert code == 2 and "missing.yaml" in err
    code, _, err = run_binary(argocheck, "--stdin-name", "s", stdin="a: [b\n")
    assert code == 2 and "s: document 1" in err
    code, _, _ = run_binary(argocheck, "--no-such-flag")
    assert code == 2


def test_version_names_the_argo_modules(argocheck: Path) -> None:
    code, out, _ = run_binary(argocheck, "--version")
    assert code == 0
    assert "github.com/argoproj/argo-workflows/v4 v4.0.5" in out
    assert "github.com/argoproj/argo-events v1.9.11" in out
    assert "manifests/base/crds/full/argoproj.io_workflows.yaml" in out


# --- every manifest the tests compile -----------------------------------------------------

def example_documents(example: Example) -> list[dict[str, Any]]:
    """The example's golden manifests (argocheck also checks the Workflows Sensors submit)."""
    return [d for path in sorted(example.golden.glob(f"{example.prefix}*.yaml"))
            for d in load_all(path)]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_golden_manifests_pass_argo(example: Example, argocheck: Path) -> None:
    docs = example_documents(example)
    assert docs
    report = argo.check_documents(docs, binary=argocheck, name=example.name)
    assert report.valid, "\n".join(problems_of(report))
    statuses = {o["kind"]: o["status"] for o in report.objects}
    assert {s for k, s in statuses.items() if k != "ConfigMap"} == {"valid"}, statuses


def test_compiled_output_matches_what_argo_checks(argocheck: Path, in_repo_root: Path) -> None:
    """The goldens are what compile writes: a fresh compile of an example passes too."""
    example = next(e for e in EXAMPLES if e.name == "numbers")
    output = compile_file(example.pipeline, [example.algorithms], example.config)
    report = argo.check_text(output.text(), binary=argocheck, name="numbers")
    assert report.valid, problems_of(report)


def compile_descriptor(data: dict[str, Any], catalog: Any) -> list[dict[str, Any]]:
    result = validate_descriptor(Descriptor(data, Source(f"{data['name']}.yaml")), catalog)
    assert result.plan is not None, [str(d) for d in result.errors][:3]
    return compile_manifests(result.plan).documents()


def test_a_sample_of_generated_pipelines_passes_argo(argocheck: Path) -> None:
    """Pipelines of the property tests' DAG generator (derandomized), compiled and checked in
    one input (each under its own name)."""
    from tests.test_property import CI, dag_pipelines

    catalog = load_algorithms([ALGORITHMS])
    docs: list[dict[str, Any]] = []

    @settings(CI, max_examples=30)
    @given(dag_pipelines())
    def collect(data: dict[str, Any]) -> None:
        data = copy.deepcopy(data)
        data["name"] = f"generated-{len(docs)}"
        for node in data["nodes"]:
            node["algorithmName"] = "echo"
        result = validate_descriptor(Descriptor(data, Source("generated.yaml")), catalog)
        if result.plan is not None:  # (the generator's flowInput refs may not resolve)
            docs.extend(compile_manifests(result.plan).documents())

    collect()
    assert len(docs) >= 20, "too few generated pipelines compiled to mean anything"
    report = argo.check_documents(docs, binary=argocheck)
    assert report.valid, "\n".join(problems_of(report)[:20])


@pytest.mark.parametrize("shape", ["chain", "wide", "fan_in", "fan_in_distinct"])
def test_thousand_node_shapes_pass_argo(shape: str, argocheck: Path) -> None:
    """The 1,000-node shapes of bench/compile_large.py (DAGs cut into parts of 200 tasks)."""
    import bench.compile_large as large

    catalog = load_algorithms([ALGORITHMS])
    docs = compile_descriptor(getattr(large, shape)(1000), catalog)
    report = argo.check_documents(docs, binary=argocheck)
    assert report.valid, "\n".join(problems_of(report)[:10])


def test_trigger_objects_pass_argo_with_the_charts_event_bus(argocheck: Path) -> None:
    """The EventSources and Sensors of examples/triggers, with the chart's EventBus (the bus
    they name) and the chart's shared EventSource in the same input."""
    chart = [o for o in objects(render({})) if o["kind"] in {"EventBus", "EventSource"}]
    assert {o["kind"] for o in chart} == {"EventBus", "EventSource"}
    golden = ROOT / "examples" / "triggers" / "golden"
    docs = [d for path in sorted(golden.glob("*.yaml")) for d in load_all(path)]
    report = argo.check_documents([*chart, *docs], binary=argocheck)
    assert report.valid, "\n".join(problems_of(report))
    assert not [n for n in report.notes() if "EventBus" in n]  # every Sensor found its bus
    sensors = [o for o in report.objects if o["kind"] == "Sensor"]
    assert sensors and all(o["status"] == "valid" for o in sensors)


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_chart_argo_objects_pass_argo(name: str, argocheck: Path) -> None:
    """Every value set of the chart tests: its EventBus and EventSource (the rest is passed
    over by argocheck, with a note)."""
    release, values = VALUE_SETS[name]
    objs = objects(render(values, release=release))
    report = argo.check_documents(objs, binary=argocheck)
    assert report.valid, "\n".join(problems_of(report))


# --- the command line ---------------------------------------------------------------------


def test_lint_argo_runs_argos_validation(argocheck: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(argo.ENV, str(argocheck))
    good = sorted((ROOT / "examples" / "numbers" / "golden").glob("*.yaml"))
    result = CliRunner().invoke(cli.main, ["lint", "--argo", *map(str, good)])
    assert result.exit_code == 0, result.output
    assert "also by Argo's own validation" in result.output

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(many_tasks(201)), encoding="utf-8")
    result = CliRunner().invoke(cli.main, ["lint", "--argo", str(bad)])
    assert result.exit_code == 1
    assert "spec.templates[0].dag.tasks: Too many: 201: must have at most 200 items" \
        in result.output


def test_lint_argo_says_how_to_build_when_not_built(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(argo.ENV, raising=False)
    monkeypatch.setattr(argo, "BUILT", tmp_path / "bin" / "argocheck")
    monkeypatch.setenv("PATH", str(tmp_path))
    golden = ROOT / "examples" / "numbers" / "golden" / "numbers.workflow.yaml"
    result = CliRunner().invoke(cli.main, ["lint", "--argo", str(golden)])
    assert result.exit_code == 2
    line = result.output.strip().splitlines()[-1]
    assert "argocheck binary, which is not built" in line
    assert f"cd {argo.SOURCE} && go build -o bin/argocheck ." in line

    monkeypatch.setenv(argo.ENV, str(tmp_path / "nope"))
    result = CliRunner().invoke(cli.main, ["lint", "--argo", str(golden)])
    assert result.exit_code == 2
    assert f"{argo.ENV}={tmp_path / 'nope'} is not an executable file" in result.output


def test_compile_check_argo(argocheck: Path, tmp_path: Path, in_repo_root: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(argo.ENV, str(argocheck))
    pipeline = ROOT / "examples" / "numbers" / "numbers.yaml"
    args = ["compile", str(pipeline), "-a", str(ROOT / "examples" / "numbers" / "algorithms"),
            "--check-argo"]
    result = CliRunner().invoke(cli.main, [*args, "-o", str(tmp_path / "ok")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ok" / "numbers.workflow.yaml").is_file()

    real = compiler.compile_file  # cli imports it when compile runs

    def misspelled(*a: Any, **k: Any) -> Any:  # a compiler bug Argo would catch
        output = real(*a, **k)
        wf = copy.deepcopy(output.manifests.workflow)
        wf["spec"]["serviceAcountName"] = "x"
        return dataclasses.replace(output, manifests=dataclasses.replace(output.manifests,
                                                                         workflow=wf))

    monkeypatch.setattr(compiler, "compile_file", misspelled)
    result = CliRunner().invoke(cli.main, [*args, "-o", str(tmp_path / "bad")])
    assert result.exit_code == 1
    assert 'spec.serviceAcountName: unknown field "spec.serviceAcountName"' in result.output
    assert "nothing written" in result.output
    assert not (tmp_path / "bad").exists()


def test_report_reads_the_binarys_json(argocheck: Path) -> None:
    report = argo.check_documents([many_templates(1)], binary=argocheck, name="x")
    assert report.valid and report.versions == {
        "github.com/argoproj/argo-workflows/v4": "v4.0.5",
        "github.com/argoproj/argo-events": "v1.9.11"}
    assert json.loads(json.dumps(report.objects))[0]["source"] == "x"


def test_all_of_argo_workflows_examples(argocheck: Path) -> None:
    """Every example of the Argo Workflows module the binary is built with (read from the Go
    module cache, where its CRDs come from), in one input: all accepted but the two that are
    broken upstream (marked no-test there), which are refused for exactly that."""
    _, out, _ = run_binary(argocheck, "--version")
    crd = next(line.split(": ", 1)[1] for line in out.splitlines()
               if line.startswith("CRD Workflow:"))
    examples_dir = Path(crd).parents[4] / "examples"
    files = sorted(examples_dir.rglob("*.yaml"))
    assert len(files) > 150
    report = argo.check_files(files, binary=argocheck)
    invalid = {Path(o["source"]).name: [p["message"] for p in o["problems"]]
               for o in report.objects if o["status"] == "invalid"}
    assert sorted(invalid) == ["fun-with-gifs.yaml", "k8s-jobs.yaml"], invalid
    # fun-with-gifs puts generateName under labels; k8s-jobs has neither name nor generateName
    assert all("name or generateName is required" in m[0] for m in invalid.values())
    assert sum(o["status"] == "valid" for o in report.objects) > 200
