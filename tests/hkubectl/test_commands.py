"""exec, pipeline, algorithm and graph on the embedded backend, end to end: each exec
starts a detached runner process, as a user's command would."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from hkube2argo.backends.base import BackendError
from hkube2argo.backends.embedded import EmbeddedBackend
from hkube2argo.backends.select import backend_from_env
from hkube2argo.cli import main

from .conftest import (
    CLI,
    NUMBER_ALGORITHMS,
    NUMBERS,
    ROOT,
    gone,
    invoke,
    ok,
    one_line_error,
    until,
)

TERMINAL = ("completed", "failed", "stopped")


def _status(state: Path, job: str) -> dict:
    return json.loads(ok(invoke(state, "exec", "status", job)).stdout)


# ----------------------------------------------------------------------- store and apply


def test_algorithms_are_stored_with_their_code(stored: Path) -> None:
    algorithm = json.loads(ok(invoke(stored, "algorithm", "get", "range")).stdout)
    assert algorithm["name"] == "range" and algorithm["type"] == "Code"
    assert algorithm["env"] == "python" and algorithm["entryPoint"] == "range.py"
    digest = algorithm["fileInfo"]["checksum"]
    assert algorithm["codePath"] == f"../code/range/{digest}"
    assert algorithm["fileInfo"]["path"] == f"hkube2argo/algorithms/range/{digest}.tar.gz"
    assert (stored / "store" / "code" / "range" / digest / "range.py").is_file()
    assert (stored / "storage" / "hkube2argo" / algorithm["fileInfo"]["path"]).is_file()

    every = json.loads(ok(invoke(stored, "algorithm", "get")).stdout)
    assert [a["name"] for a in every] == ["multiply", "range", "reduce", "sleeper"]
    table = ok(invoke(stored, "algorithm", "list")).stdout.splitlines()
    assert table[0].split() == ["NAME", "TYPE", "ENV", "CPU", "MEM", "GPU", "VERSION"]
    assert table[3].split()[:5] == ["reduce", "Code", "nodejs", "0.5", "256Mi"]
    assert json.loads(ok(invoke(stored, "algorithm", "list", "--json")).stdout) == every

    again = json.loads(ok(invoke(stored, "algorithm", "apply", "-f",
                                 NUMBER_ALGORITHMS / "range.yaml")).stdout)
    assert again["messages"] == [f"algorithm range is up to date (version "
                                 f"{algorithm['version']})"]
    assert again["algorithm"] == algorithm


def test_pipelines_are_stored_with_defaults(stored: Path) -> None:
    pipeline = json.loads(ok(invoke(stored, "pipeline", "get", "numbers")).stdout)
    assert pipeline["options"] == {"ttl": 3600, "batchTolerance": 80,
                                   "progressVerbosityLevel": "info"}
    assert pipeline["priority"] == 3 and pipeline["experimentName"] == "main"
    assert pipeline["flowInput"] == {"data": 5, "mul": 2}
    assert {"created", "modified", "version"} <= set(pipeline)
    as_yaml = yaml.safe_load(ok(invoke(stored, "pipeline", "get", "numbers", "-o",
                                       "yaml")).stdout)
    assert as_yaml == pipeline
    assert json.loads(ok(invoke(stored, "pipeline", "get")).stdout) == [pipeline]
    table = ok(invoke(stored, "pipeline", "list")).stdout.splitlines()
    assert table[0].split() == ["NAME", "NODES", "TRIGGERS", "MODIFIED"]
    assert table[1].split()[:3] == ["numbers", "3", "-"]
    # storing again changes nothing (create-or-update, idempotent)
    again = json.loads(ok(invoke(stored, "pipeline", "store", "-f", NUMBERS)).stdout)
    assert again == pipeline


def test_algorithm_apply_flags_win_over_the_file(tmp_path: Path) -> None:
    state = tmp_path / "state"
    applied = json.loads(ok(invoke(
        state, "algorithm", "apply", "double", "--codePath",
        ROOT / "examples" / "algorithms" / "double", "--entryPoint", "double.py", "--env",
        "python", "--cpu", "0.2", "--mem", "128Mi")).stdout)["algorithm"]
    assert (applied["name"], applied["type"], applied["cpu"], applied["mem"]) == \
        ("double", "Code", 0.2, "128Mi")
    assert applied["entryPoint"] == "double.py"
    applied = json.loads(ok(invoke(state, "algorithm", "apply", "-f",
                                   NUMBER_ALGORITHMS / "range.yaml", "--cpu", "1",
                                   "--codeEntryPoint", "range.py")).stdout)["algorithm"]
    assert applied["cpu"] == 1.0 and applied["codePath"].startswith("../code/range/")
    image = json.loads(ok(invoke(state, "algorithm", "apply", "boxed", "--image",
                                 "hkube/boxed:1", "--mem", "64Mi")).stdout)["algorithm"]
    assert (image["type"], image["algorithmImage"]) == ("Image", "hkube/boxed:1")
    boxed = tmp_path / "boxed.yaml"
    boxed.write_text("name: boxed\nnodes:\n  - {nodeName: A, algorithmName: boxed, "
                     "input: [1]}\n")
    line = one_line_error(invoke(state, "exec", "raw", "-f", boxed))
    assert "image algorithms (boxed) run only on Argo" in line
    problem = invoke(state, "algorithm", "apply", "broken", "--env", "python")
    assert problem.exit_code == 1 and problem.stdout == ""
    assert problem.stderr.splitlines() == [
        "<command line>: --image: no image: build it or set --image, or give --code-path for "
        "a code algorithm", "1 error(s)"]  # the flags the user types, not descriptor fields
    from_file = tmp_path / "alg.yaml"
    from_file.write_text("name: filed\nenv: python\n")
    in_file = invoke(state, "algorithm", "apply", "-f", from_file)
    assert in_file.stderr.splitlines()[0].startswith(f"{from_file}:")
    assert "set algorithmImage (or image)" in in_file.stderr  # the file's words stay
    bad_mem = invoke(state, "algorithm", "apply", "-f", from_file, "--mem", "lots",
                     "--code-path", tmp_path)
    assert bad_mem.exit_code == 1 and ": --mem:" in bad_mem.stderr


# --------------------------------------------------------------------------------- exec


def test_exec_stored_numbers(stored: Path) -> None:
    job = json.loads(ok(invoke(stored, "exec", "stored", "numbers")).stdout)
    result = job["result"]
    assert result["jobId"] == job["jobId"] and result["status"] == "completed"
    assert result["data"] == [{"nodeName": "Reduce", "algorithmName": "reduce", "result": 20}]
    # --state also before the command, or from HKUBE2ARGO_STATE, as for every group
    before = ok(invoke(None, "exec", "--state", stored, "result", job["jobId"])).stdout
    assert json.loads(before) == result
    from_env = CliRunner().invoke(CLI, ["exec", "result", job["jobId"]],
                                  env={"HKUBE2ARGO_STATE": str(stored)})
    assert json.loads(ok(from_env).stdout) == result


def test_exec_stored_flow_input_replaces_the_stored_one(stored: Path, tmp_path: Path) -> None:
    body = tmp_path / "input.yaml"
    body.write_text("flowInput: {data: 10, mul: 3}\n")
    job = json.loads(ok(invoke(stored, "exec", "stored", "numbers", "-f", body)).stdout)
    assert job["result"]["data"][0]["result"] == 135  # range(10) summed, times 3
    executed = json.loads(ok(invoke(stored, "exec", "get", job["jobId"])).stdout)
    assert executed["flowInput"] == {"data": 10, "mul": 3}
    assert executed["types"] == ["stored"] and executed["jobId"] == job["jobId"]
    # replaced, not merged: without mul the stored mul (2) is not used, and the run is refused
    body.write_text("flowInput: {data: 10}\n")
    refused = invoke(stored, "exec", "stored", "numbers", "-f", body)
    assert refused.exit_code == 1 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        "stored pipeline numbers: nodes[1].input[1]: unable to find flowInput.mul: the "
        "pipeline's flowInput has no such path",
        "stored pipeline numbers: warning: nodes[1].input[1]: flowInput.mul is in the stored "
        "flowInput, but the given flowInput replaces the stored one whole (HKube's rule, no "
        "merge): give it too", "1 error(s)"]


def test_exec_stored_and_run_read_the_same_flow_input_files(stored: Path,
                                                            tmp_path: Path) -> None:
    """A bare flowInput object works in both, as does hkubectl's {name, flowInput} body."""
    bare = tmp_path / "bare.json"
    bare.write_text('{"data": 4, "mul": 10}')
    job = json.loads(ok(invoke(stored, "exec", "stored", "numbers", "-f", bare)).stdout)
    assert job["result"]["data"][0]["result"] == 60  # (0+1+2+3) x 10
    named = tmp_path / "named.yaml"
    named.write_text("name: numbers\nflowInput: {data: 4, mul: 10}\nextra: 1\n")
    again = ok(invoke(stored, "exec", "stored", "-f", named))
    assert json.loads(again.stdout)["result"]["data"][0]["result"] == 60
    assert "only name and flowInput are used; ignored: extra" in again.stderr
    for body in (bare, named):
        ran = ok(CliRunner().invoke(main, ["run", str(NUMBERS), "-a", str(NUMBER_ALGORITHMS),
                                           "--flow-input", str(body), "--state",
                                           str(tmp_path / "runs")]))
        assert json.loads(ran.stdout)["data"][0]["result"] == 60
    broken = tmp_path / "list.json"
    broken.write_text("[1, 2]")
    refused = CliRunner().invoke(main, ["run", str(NUMBERS), "-a", str(NUMBER_ALGORITHMS),
                                        "--flow-input", str(broken)])
    assert refused.exit_code == 1 and "must hold one object" in refused.stderr


def test_exec_raw_no_wait_then_status_result_get(stored: Path) -> None:
    job = json.loads(ok(invoke(stored, "exec", "raw", "-f", NUMBERS, "--no-wait")).stdout)
    job_id = job["jobId"]
    assert job_id.startswith("numbers-")
    status = until(lambda: (s := _status(stored, job_id))["status"] in TERMINAL and s,
                   what="the job to end")
    assert status["status"] == "completed" and status["pipeline"] == "numbers"
    assert status["data"] == {"progress": 100.0, "states": {"succeed": 7},
                              "details": "100% completed, 7 succeed"}  # 1 + 5 + 1 tasks
    assert status["level"] == "info" and "netTimeTook" in status
    as_yaml = yaml.safe_load(ok(invoke(stored, "exec", "status", job_id, "-o", "yaml")).stdout)
    assert as_yaml["status"] == "completed"
    result = json.loads(ok(invoke(stored, "exec", "result", job_id)).stdout)
    assert result["data"][0]["result"] == 20 and result["pipeline"] == "numbers"
    executed = json.loads(ok(invoke(stored, "exec", "get", job_id)).stdout)
    assert executed["name"] == "numbers" and executed["types"] == ["raw"]
    assert executed["options"]["ttl"] == 3600  # HKube's defaults filled in
    assert executed["nodes"][1]["input"] == ["#@Range", "@flowInput.mul"]


def test_exec_raw_follows_the_job_until_it_ends(stored: Path) -> None:
    followed = ok(invoke(stored, "exec", "raw", "-f", NUMBERS))
    job = json.loads(followed.stdout)  # one JSON document: the standard parser reads it
    assert job["result"]["jobId"] == job["jobId"] and job["result"]["data"][0]["result"] == 20
    assert f"job {job['jobId']} submitted" in followed.stderr
    as_yaml = list(yaml.safe_load_all(ok(invoke(stored, "exec", "raw", "-f", NUMBERS, "-o",
                                                "yaml")).stdout))
    assert len(as_yaml) == 1 and as_yaml[0]["result"]["data"][0]["result"] == 20
    only = json.loads(ok(invoke(stored, "exec", "raw", "-f", NUMBERS, "--noResult")).stdout)
    assert set(only) == {"jobId"}
    assert _status(stored, only["jobId"])["status"] == "completed"


def test_exec_stop_kills_the_runner_and_its_tasks(stored: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "sleeper.pid"
    slow = tmp_path / "slow.yaml"
    slow.write_text(yaml.safe_dump({
        "name": "slow", "flowInput": {"pidFile": str(pid_file), "seconds": 120},
        "nodes": [{"nodeName": "Sleep", "algorithmName": "sleeper",
                   "input": ["@flowInput.pidFile", "@flowInput.seconds"]}]}))
    job = json.loads(ok(invoke(stored, "exec", "raw", "-f", slow, "--noWait")).stdout)
    job_id = job["jobId"]
    until(lambda: pid_file.is_file() and pid_file.read_text(), what="the task to start")
    task = int(pid_file.read_text())
    runner = json.loads((stored / "jobs" / job_id / "runner.json").read_text())["pid"]
    status = _status(stored, job_id)
    assert status["status"] == "active"
    assert status["data"]["states"] == {"active": 1}
    assert one_line_error(invoke(stored, "exec", "result", job_id)) == (
        "hkube2argo: unable to get results for pipeline slow because its in active status")

    answer = json.loads(ok(invoke(stored, "exec", "stop", job_id, "enough sleep")).stdout)
    assert answer == {"stoppedJobIds": [job_id]}
    status = _status(stored, job_id)
    assert status["status"] == "stopped" and status["reason"] == "enough sleep"
    until(lambda: gone(runner), 10, "the runner process to be gone")
    until(lambda: gone(task), 10, "the algorithm's process to be gone")
    result = json.loads(ok(invoke(stored, "exec", "result", job_id)).stdout)
    assert (result["status"], result["reason"]) == ("stopped", "enough sleep")
    assert "data" not in result  # stopped jobs have no data (HKube)
    assert "it is stopped" in one_line_error(invoke(stored, "exec", "stop", job_id))


def test_a_completed_run_triggers_stored_pipelines(fresh: Path, tmp_path: Path) -> None:
    ok(invoke(fresh, "algorithm", "apply", "-f", ROOT / "examples" / "algorithms" / "echo.yaml"))
    child = tmp_path / "child.yaml"
    child.write_text("name: child\ntriggers: {pipelines: [numbers], cron: {pattern: '0 * * * *',"
                     " enabled: true}}\nflowInput: {note: stored}\nnodes:\n  - {nodeName: Show,"
                     " algorithmName: echo, input: ['@flowInput.parent.0.result', "
                     "'@flowInput.note']}\n")
    stored_child = ok(invoke(fresh, "pipeline", "store", "-f", child))
    assert "triggers.cron fires only on Argo" in stored_child.stderr
    ok(invoke(fresh, "exec", "stored", "numbers", "--no-result"))
    jobs = fresh / "jobs"
    folder = until(lambda: next((p for p in jobs.glob("child-*") if (p / "result.json").is_file()),
                                None), what="the triggered run")
    result = json.loads(ok(invoke(fresh, "exec", "result", folder.name)).stdout)
    assert result["data"][0]["result"] == [20, "stored"]  # flowInput.parent merged in
    executed = json.loads(ok(invoke(fresh, "exec", "get", folder.name)).stdout)
    assert executed["types"] == ["stored", "trigger"]


# ------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("args", [
    ("exec", "status", "nope"), ("exec", "result", "nope"), ("exec", "stop", "nope"),
    ("exec", "get", "nope"), ("exec", "stored", "nope"), ("pipeline", "get", "nope"),
    ("pipeline", "delete", "nope"), ("algorithm", "get", "nope"),
    ("algorithm", "delete", "nope"), ("graph", "nope"),
], ids=" ".join)
def test_unknown_names_are_one_line_errors(tmp_path: Path, args: tuple[str, ...]) -> None:
    line = one_line_error(invoke(tmp_path / "state", *args))
    assert line.startswith("hkube2argo: ") and "nope" in line


def test_bad_descriptors_are_reported_like_validate(stored: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nnodes:\n  - nodeName: Range\n    algorithmName: range\n"
                   "    input: [3]\n  - nodeName: Twice\n    algorithmName: multiply\n"
                   "    input: ['#@Rnage', 2]\n")
    for args in (("exec", "raw", "-f", bad), ("pipeline", "store", "-f", bad)):
        result = invoke(stored, *args)
        assert result.exit_code == 1 and result.stdout == ""
        assert result.stderr.splitlines() == [
            f"{bad}:8: nodes[1].input[0]: '#@Rnage' refers to node 'Rnage', which is not a "
            "node of this pipeline (did you mean 'Range'?)", "1 error(s)"]
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("name: unknown\nnodes:\n  - {nodeName: A, algorithmName: nowhere, "
                       "input: [1]}\n")
    result = invoke(stored, "pipeline", "store", "-f", unknown)
    assert result.exit_code == 1
    assert "algorithm 'nowhere' is not stored (hkube2argo algorithm apply -f FILE)" in \
        result.stderr


def test_delete_pipelines_and_algorithms(fresh: Path) -> None:
    refused = one_line_error(invoke(fresh, "algorithm", "delete", "multiply"))
    assert "used by stored pipelines numbers" in refused
    assert json.loads(ok(invoke(fresh, "pipeline", "delete", "numbers")).stdout) == {
        "message": "pipeline numbers successfully deleted from store"}
    assert json.loads(ok(invoke(fresh, "pipeline", "list", "--json")).stdout) == []
    assert "nothing stored" in ok(invoke(fresh, "pipeline", "list")).stderr
    ok(invoke(fresh, "algorithm", "delete", "multiply"))
    ok(invoke(fresh, "algorithm", "delete", "sleeper", "--force"))
    names = [a["name"] for a in
             json.loads(ok(invoke(fresh, "algorithm", "list", "-o", "json")).stdout)]
    assert names == ["range", "reduce"]
    assert not (fresh / "store" / "code" / "multiply").exists()


def test_argo_server_without_the_argo_backend(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(backend_from_env(tmp_path, None, {}), EmbeddedBackend)
    assert isinstance(backend_from_env(tmp_path, None, {"ARGO_SERVER": ""}), EmbeddedBackend)
    monkeypatch.setitem(sys.modules, "hkube2argo.backends.argo", None)  # not there (yet)
    with pytest.raises(BackendError, match="unset ARGO_SERVER to run on this machine"):
        backend_from_env(tmp_path, None, {"ARGO_SERVER": "localhost:2746"})
    monkeypatch.setenv("ARGO_SERVER", "localhost:2746")
    line = one_line_error(invoke(tmp_path, "exec", "status", "x"))
    assert "hkube2argo.backends.argo is missing" in line


# --------------------------------------------------------------------------------- help


def _commands() -> list[tuple[list[str], click.Command]]:
    out: list[tuple[list[str], click.Command]] = []
    for name, command in CLI.commands.items():
        out.append(([name], command))
        if isinstance(command, click.Group):
            out += [([name, sub], c) for sub, c in command.commands.items()]
    return out


@pytest.mark.parametrize("path,command", _commands(),
                         ids=[" ".join(path) for path, _ in _commands()])
def test_help_lists_every_flag(path: list[str], command: click.Command) -> None:
    text = ok(invoke(None, *path, "--help")).stdout
    assert text.startswith(f"Usage: main {' '.join(path)} ")
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            for flag in param.opts + param.secondary_opts:
                assert flag in text, f"{flag} missing from {' '.join(path)} --help"
        elif isinstance(param, click.Argument):
            assert param.human_readable_name in text
    if isinstance(command, click.Group):
        for sub in command.commands:
            assert f"  {sub} " in text
    assert max(len(line) for line in text.splitlines()) <= 80  # readable in a terminal


def test_hkubectl_spellings_are_accepted() -> None:
    raw = ok(invoke(None, "exec", "raw", "--help")).stdout
    assert "--no-wait, --noWait" in raw and "--no-result, --noResult" in raw
    apply = ok(invoke(None, "algorithm", "apply", "--help")).stdout
    assert "--code-path, --codePath" in apply
    assert "--entry-point, --codeEntryPoint, --entryPoint" in apply


# -------------------------------------------------------------------------------- graph


def test_graph_mermaid_and_dot(stored: Path, tmp_path: Path) -> None:
    mermaid = ok(invoke(None, "graph", NUMBERS)).stdout
    assert mermaid.startswith("flowchart LR\n") and 'n0 == "#@" ==> n1' in mermaid
    assert ok(invoke(stored, "graph", "numbers")).stdout == mermaid  # a stored pipeline
    dot = ok(invoke(None, "graph", NUMBERS, "--format", "dot", "-a", NUMBER_ALGORITHMS)).stdout
    assert dot.startswith('digraph "numbers" {') and "peripheries=2" in dot
    out = tmp_path / "numbers.mmd"
    assert ok(invoke(None, "graph", NUMBERS, "-o", out)).stderr == f"wrote {out}\n"
    assert out.read_text() == mermaid


@pytest.mark.skipif(shutil.which("dot") is None,
                    reason="Graphviz's dot program is not installed (apt-get install graphviz)")
def test_graph_svg() -> None:
    assert "<svg" in ok(invoke(None, "graph", NUMBERS, "--format", "svg")).stdout


def test_graph_svg_without_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    line = one_line_error(invoke(None, "graph", NUMBERS, "--format", "svg"))
    assert "apt-get install graphviz" in line
