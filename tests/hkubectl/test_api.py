"""The Python API (hkube2argo.api): the CLI's stages and verbs for notebooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from hkube2argo import api
from hkube2argo.plan import Plan

from .conftest import NUMBER_ALGORITHMS, NUMBERS


def test_run_numbers(tmp_path: Path) -> None:
    document = api.run(NUMBERS, NUMBER_ALGORITHMS, state=tmp_path / "state", workers=2)
    assert document["status"] == "completed"
    assert document["data"] == [{"nodeName": "Reduce", "algorithmName": "reduce",
                                 "result": 20}]
    # a dict pipeline and a flowInput that replaces the pipeline's
    again = api.run(api.load(NUMBERS), [NUMBER_ALGORITHMS], {"data": 10, "mul": 3},
                    state=tmp_path / "state", workers=2)
    assert again["data"][0]["result"] == 135


def test_validate_raises_with_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nnodes:\n  - {nodeName: Range, algorithmName: range, "
                   "input: [3]}\n  - {nodeName: Twice, algorithmName: twice, "
                   "input: ['#@Rnage']}\n")
    with pytest.raises(api.ValidationFailed) as caught:
        api.validate(bad, NUMBER_ALGORITHMS)
    text = str(caught.value)
    assert text.startswith("2 error(s):\n")
    assert f"{bad}:4: nodes[1].input[0]: '#@Rnage' refers to node 'Rnage'" in text
    assert "(did you mean 'Range'?)" in text
    assert "algorithm 'twice' is not in the given algorithm files" in text
    assert sorted(d.path for d in caught.value.errors) == ["nodes[1].algorithmName",
                                                           "nodes[1].input[0]"]


def test_validate_compile_graph() -> None:
    plan = api.validate(NUMBERS, NUMBER_ALGORITHMS)
    assert isinstance(plan, Plan) and [n.name for n in plan.nodes] == \
        ["Range", "Multiply", "Reduce"]
    unchecked = api.validate({"name": "tiny", "nodes": [
        {"nodeName": "A", "algorithmName": "anything", "input": [1]}]})
    assert unchecked.name == "tiny"
    manifests = api.compile(NUMBERS, NUMBER_ALGORITHMS)
    assert [m["kind"] for m in manifests] == ["WorkflowTemplate", "Workflow"]
    assert api.graph(plan).startswith("flowchart LR\n")
    assert api.graph(NUMBERS, "dot").startswith('digraph "numbers"')
    with pytest.raises(ValueError, match="mermaid, dot, svg"):
        api.graph(plan, "png")


def test_submit_status_wait_result(tmp_path: Path) -> None:
    state = tmp_path / "state"
    environ: dict[str, str] = {}  # no ARGO_SERVER: this machine
    for name in ("range", "multiply", "reduce"):
        answer = api.apply_algorithm(NUMBER_ALGORITHMS / f"{name}.yaml", state=state,
                                     environ=environ)
        assert answer["algorithm"]["type"] == "Code"
    assert api.store_pipeline(NUMBERS, state=state, environ=environ)["name"] == "numbers"
    job = api.submit_stored("numbers", {"data": 3, "mul": 5}, state=state, environ=environ)
    assert api.status(job, state=state, environ=environ)["jobId"] == job
    document = api.wait(job, timeout=60, state=state, environ=environ)
    assert document["data"][0]["result"] == 15  # (0 + 1 + 2) * 5
    assert api.result(job, state=state, environ=environ) == document
    with pytest.raises(api.NotFound, match="jobId nope Not Found"):
        api.status("nope", state=state, environ=environ)


# --- a dict is never a path (issue 12 D) ----------------------------------------------------

ECHO = Path(__file__).resolve().parents[2] / "examples" / "algorithms"


def test_a_dict_pipeline_is_never_read_from_a_file_of_its_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("p", "<p>"):
        Path(name).write_text("name: other\nnodes: [{nodeName: Z, algorithmName: echo}]\n")
    pipeline = {"name": "p", "nodes": [{"nodeName": "A", "algorithmName": "echo",
                                        "input": [1]}]}
    manifests = api.compile(pipeline, ECHO)
    assert manifests[1]["metadata"]["labels"]["hkube2argo.io/pipeline"] == "p"
    assert any(t["name"] == "A" for t in manifests[1]["spec"]["templates"][0]["dag"]["tasks"])


def test_a_dict_pipeline_with_a_very_long_name_is_not_taken_for_a_path() -> None:
    pipeline = {"name": "p" * 300, "nodes": [{"nodeName": "A", "algorithmName": "echo"}]}
    manifests = api.compile(pipeline, ECHO)  # was OSError: file name too long
    assert manifests[0]["metadata"]["annotations"]["hkube2argo.io/pipeline-name"] == "p" * 300


def test_surrogates_in_a_dict_pipeline_are_refused() -> None:
    pipeline = {"name": "p", "description": "\ud800",
                "nodes": [{"nodeName": "A", "algorithmName": "echo"}]}
    with pytest.raises(api.ValidationFailed, match="lone UTF-16 surrogate"):
        api.validate(pipeline)
