"""The command line: exit codes, summaries, JSON plans, every error at once."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from hkube2argo.cli import main

NUMBERS = ["validate", "examples/numbers/numbers.yaml", "-a", "examples/numbers/algorithms"]


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_validate_numbers_summary(in_repo_root) -> None:
    result = run(*NUMBERS)
    assert result.exit_code == 0, result.output
    assert "pipeline 'numbers' is valid" in result.output
    assert "Range -> Multiply -> Reduce" in result.output
    assert "results: Reduce" in result.output


def test_validate_json_prints_the_plan(in_repo_root) -> None:
    result = run(*NUMBERS, "--json")
    assert result.exit_code == 0
    plan = json.loads(result.stdout)
    assert plan["name"] == "numbers" and plan["planVersion"] == 1


def test_without_algorithms_says_they_were_not_checked(in_repo_root) -> None:
    result = run("validate", "examples/numbers/numbers.yaml")
    assert result.exit_code == 0
    assert "algorithms: not checked" in result.output


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return str(path)


BAD = """\
name: p
nodes:
  - nodeName: A
    algorithName: range
    input: ["@Rnage"]
  - nodeName: Range
    algorithmName: range
priority: 9
"""


def test_all_errors_are_reported_with_lines(tmp_path: Path) -> None:
    result = run("validate", _write(tmp_path, BAD))
    assert result.exit_code == 1
    out = result.output
    assert "bad.yaml:3: nodes[0].algorithmName: algorithmName is required" in out
    assert "bad.yaml:5: nodes[0].input[0]: '@Rnage' refers to node 'Rnage'" in out
    assert "did you mean 'Range'?" in out
    assert "bad.yaml:8: priority: Input should be less than or equal to 5, got 9" in out
    assert "warning: nodes[0].algorithName: unknown key 'algorithName': did you mean " \
           "'algorithmName'?" in out
    assert "3 error(s)" in out
    assert "Traceback" not in out


def test_json_errors_are_machine_readable(tmp_path: Path) -> None:
    result = run("validate", _write(tmp_path, BAD), "--json")
    assert result.exit_code == 1
    errors = json.loads(result.stdout)["errors"]
    assert {e["path"] for e in errors} == {"nodes[0].algorithmName", "nodes[0].input[0]",
                                          "priority"}
    assert all(e["file"].endswith("bad.yaml") and e["line"] for e in errors)


def test_flow_input_check_can_be_skipped(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: p\nnodes:\n  - {nodeName: A, algorithmName: aa, "
                            "input: ['@flowInput.x']}\n")
    assert run("validate", path).exit_code == 1
    assert run("validate", path, "--no-flow-input-check").exit_code == 0


def test_bad_algorithm_files_fail_validation(tmp_path: Path, in_repo_root) -> None:
    alg = tmp_path / "a.yaml"
    alg.write_text("name: range\nimage: x\nmem: 512\n")
    result = run("validate", "examples/numbers/numbers.yaml", "-a", str(alg))
    assert result.exit_code == 1
    assert "a.yaml:3: mem: '512' is not a memory size" in result.output


def test_missing_file(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 1
    assert "nope.yaml: (document): no such file" in result.output


def test_schema_check_and_write(tmp_path: Path) -> None:
    assert run("schema", "--check", "-o", str(tmp_path)).exit_code == 1
    assert run("schema", "-o", str(tmp_path)).exit_code == 0
    assert run("schema", "--check", "-o", str(tmp_path)).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["algorithm.schema.json",
                                                         "pipeline.schema.json"]


def test_run_without_node_names_what_to_install(in_repo_root, tmp_path: Path,
                                                 monkeypatch) -> None:
    """A fresh machine without Node.js: one line saying what to install, no traceback and
    no job started (the numbers example's Reduce is a Node.js algorithm)."""
    monkeypatch.setenv("H2A_NODE", str(tmp_path / "no-such-node"))
    result = run("run", "examples/numbers/numbers.yaml", "-a", "examples/numbers/algorithms",
                 "--state", str(tmp_path / "state"))
    assert result.exit_code == 2, result.output
    assert "Node.js algorithms (reduce) need" in result.stderr
    assert "apt-get install nodejs" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "state" / "jobs").exists()


def test_an_empty_algorithm_folder_is_named(in_repo_root, tmp_path: Path) -> None:
    result = run("validate", "examples/numbers/numbers.yaml", "-a", str(tmp_path))
    assert result.exit_code == 1
    assert f"{tmp_path}: warning: (document): this folder holds no algorithm files" \
        in result.stderr
    assert "'range' is not in the given algorithm files (they define no algorithm at all)" \
        in result.stderr
    assert "known: none" not in result.stderr


def test_an_unquoted_at_sign_gets_the_fix(tmp_path: Path) -> None:
    result = run("validate", _write(tmp_path, "name: p\nnodes:\n  - nodeName: A\n"
                                              "    algorithmName: range\n"
                                              "    input: [@flowInput.a]\n"))
    assert result.exit_code == 1
    assert "bad.yaml:5:" in result.stderr
    assert "quote values that start with @" in result.stderr


def test_run_rejects_no_workers_and_suggests_node_names(in_repo_root, tmp_path: Path) -> None:
    for bad in ("0", "-1"):
        refused = run("run", "examples/numbers/numbers.yaml", "-a",
                      "examples/numbers/algorithms", "--workers", bad)
        assert refused.exit_code == 2 and "--workers" in refused.stderr
    state = str(tmp_path / "state")
    first = run("run", "examples/numbers/numbers.yaml", "-a", "examples/numbers/algorithms",
                "--state", state)
    job = json.loads(first.stdout)["jobId"]
    rerun = run("run", "examples/numbers/numbers.yaml", "-a", "examples/numbers/algorithms",
                "--state", state, "--from-job", job, "--nodes", "Reduc")
    assert rerun.exit_code == 2
    assert "--nodes: Reduc (did you mean Reduce?) not in pipeline numbers" in rerun.stderr


def test_help_texts_say_what_the_commands_do() -> None:
    for group in ("pipeline", "algorithm"):
        listing = run(group, "list", "--help").stdout
        assert "[default: a table]" in listing and "default: json" not in listing
    run_help = " ".join(run("run", "--help").stdout.split())
    assert "Format of the result document" in run_help
    compile_help = " ".join(run("compile", "--help").stdout.split())
    assert "imagePullPolicy of every container [IfNotPresent]" in compile_help


TYPO = """\
name: typo
flowInput: {n: 2}
options: {batchTolerence: 50}
nodes:
  - nodeName: A
    algorithmName: range
    input: ["@flowInput.n"]
"""


def test_every_command_that_reads_descriptors_shows_their_warnings(in_repo_root,
                                                                  tmp_path: Path) -> None:
    """validate, compile and run all say what a misspelled key means where it stands."""
    pipeline = tmp_path / "typo.yaml"
    pipeline.write_text(TYPO)
    expected = ("typo.yaml:3: warning: options.batchTolerence: unknown key 'batchTolerence': "
                "did you mean 'batchTolerance'? (kept, and ignored: no option of that name "
                "exists, so it has no effect)")
    algorithms = "examples/numbers/algorithms"
    for args in (("validate", str(pipeline), "-a", algorithms),
                 ("compile", str(pipeline), "-a", algorithms, "-o", str(tmp_path / "out")),
                 ("run", str(pipeline), "-a", algorithms, "--state", str(tmp_path / "s"))):
        result = run(*args)
        assert result.exit_code == 0, result.output
        assert expected in result.stderr, args


def test_a_store_of_algorithms_fails_only_the_pipelines_that_use_a_broken_one(
        in_repo_root, tmp_path: Path) -> None:
    """HKube's own test store holds an image algorithm stored before its image exists
    (no-image-alg) and older algorithms with kind: debug; a pipeline that uses neither is
    valid, and one that uses the imageless one is told why."""
    store = tmp_path / "store"
    store.mkdir()
    for name in ("range", "multiply", "reduce"):
        (store / f"{name}.yaml").write_text(
            (Path("examples/numbers/algorithms") / f"{name}.yaml").read_text()
            .replace("path: ", f"path: {Path.cwd() / 'examples/numbers/algorithms'}/"))
    (store / "no-image-alg.json").write_text('{"name": "no-image-alg", "type": "Image"}')
    (store / "old-debug.json").write_text('{"name": "old-debug", "kind": "debug", '
                                          '"algorithmImage": "hkube/x", '
                                          '"options": {"devMode": true}}')
    result = run("validate", "examples/numbers/numbers.yaml", "-a", str(store))
    assert result.exit_code == 0, result.output
    assert "no-image-alg.json:1: warning: algorithmImage: no image: build it or set " \
           "algorithmImage" in result.stderr
    assert "(algorithm no-image-alg is not used here" in result.stderr
    assert "old-debug.json:1: warning: kind: kind debug" in result.stderr
    assert "old-debug.json:1: warning: options.devMode:" in result.stderr
    uses = tmp_path / "uses.yaml"
    uses.write_text("name: uses\nnodes:\n  - {nodeName: A, algorithmName: no-image-alg, "
                    "input: [1]}\n  - {nodeName: B, algorithmName: old-debug, input: [2]}\n")
    refused = run("validate", str(uses), "-a", str(store))
    assert refused.exit_code == 1
    errors = [ln for ln in refused.stderr.splitlines() if ": warning: " not in ln]
    assert errors == [f"{store / 'no-image-alg.json'}:1: algorithmImage: no image: build it or "
                      "set algorithmImage (or image), or give code.path for a code algorithm",
                      "1 error(s)"]


def test_a_stored_pipeline_compiles_without_its_run_time_flow_input(in_repo_root,
                                                                     tmp_path: Path) -> None:
    """Its WorkflowTemplate (and CronWorkflow) are written; the raw run is left out with a
    note, because HKube checks @flowInput paths when the pipeline runs."""
    pipeline = tmp_path / "later.yaml"
    pipeline.write_text("name: later\ntriggers: {cron: {pattern: '0 * * * *'}}\nnodes:\n"
                        "  - {nodeName: A, algorithmName: range, input: ['@flowInput.data']}\n")
    out = tmp_path / "out"
    result = run("compile", str(pipeline), "-a", "examples/numbers/algorithms", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["later.cronworkflow.yaml",
                                                     "later.workflowtemplate.yaml"]
    assert "note: no later.workflow.yaml (a raw run): its flowInput lacks what the pipeline " \
           "reads (flowInput.data)" in result.stderr
    stream = run("compile", str(pipeline), "-a", "examples/numbers/algorithms")
    kinds = [d["kind"] for d in yaml.safe_load_all(stream.stdout)]
    assert kinds == ["WorkflowTemplate", "CronWorkflow"]
    # any other mistake still fails the compile, with the flowInput errors beside it
    pipeline.write_text(pipeline.read_text().replace("algorithmName: range",
                                                     "algorithmName: nope"))
    failed = run("compile", str(pipeline), "-a", "examples/numbers/algorithms")
    assert failed.exit_code == 1
    assert "'nope' is not in the given algorithm files" in failed.stderr
    assert "'@flowInput.data' needs a flowInput" in failed.stderr


# --- no tracebacks (issue 12 J) ----------------------------------------------------------

A1 = "name: p\nnodes:\n  - {nodeName: A, algorithmName: echo, input: [1]}\n"
ECHO = "examples/algorithms"


def _refused(result, option: str, words: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"Invalid value for {option}" in result.output and words in result.output


def test_unusable_state_storage_and_output_folders_are_refused(tmp_path: Path,
                                                               in_repo_root) -> None:
    pipeline = _write(tmp_path, A1)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")  # a folder cannot be made here, even by root
    _refused(run("run", pipeline, "-a", ECHO, "--state", str(blocker / "s")), "--state",
             "Not a directory")
    _refused(run("run", pipeline, "-a", ECHO, "--state", str(tmp_path / "state"),
                 "--storage", str(blocker)), "--storage", "File exists")
    _refused(run("compile", pipeline, "-a", ECHO, "-o", str(blocker / "out")), "-o",
             "Not a directory")


def test_an_unreadable_flow_input_file_is_refused(tmp_path: Path, in_repo_root) -> None:
    bad = tmp_path / "flow.json"
    for content, words in ((b"\xff{", "not UTF-8"), (b"{", "invalid JSON")):
        bad.write_bytes(content)
        result = run("run", _write(tmp_path, A1), "-a", ECHO, "--flow-input", str(bad),
                     "--state", str(tmp_path / "state"))
        assert result.exit_code == 1, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert words in result.output


def test_a_negative_or_infinite_limit_factor_is_refused(tmp_path: Path, in_repo_root) -> None:
    pipeline = _write(tmp_path, A1)
    _refused(run("compile", pipeline, "-a", ECHO, "--limit-factor", "-1"), "'--limit-factor'",
             "x>=0")
    _refused(run("compile", pipeline, "-a", ECHO, "--limit-factor", "inf"), "--limit-factor",
             "finite")


def test_lint_refuses_non_utf8_and_alias_bombs_quickly(tmp_path: Path) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"kind: Workflow\n\xff\xfe")
    bomb = tmp_path / "bomb.yaml"
    rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        rows.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    bomb.write_text("\n".join(rows) + "\n")  # 9**9 values once expanded
    result = run("lint", str(binary), str(bomb))
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "binary.yaml: not UTF-8 text" in result.output
    assert "bomb.yaml: line 7: the document expands to more than 2000000 values" \
        in result.output
    assert len(result.output) < 1000


def test_lint_names_plain_strings_kubectl_reads_as_other_types(tmp_path: Path) -> None:
    manifest = tmp_path / "wf.yaml"
    manifest.write_text("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\n"
                        "metadata: {generateName: x-, annotations: {a: y, b: 1e5, c: '0o7'}}\n"
                        "spec: {entrypoint: main, templates: []}\n")
    result = run("lint", str(manifest))
    assert result.exit_code == 1
    assert "wf.yaml: line 3: plain 'y' is a string here" in result.output
    assert "plain '1e5'" in result.output and "0o7" not in result.output


def test_kubernetes_objects_in_algorithm_files_are_checked_at_load_time(
        tmp_path: Path, in_repo_root) -> None:
    algorithm = tmp_path / "alg.yaml"
    algorithm.write_text("name: echo\nalgorithmImage: x/echo:1\nvolumes:\n  - {}\n"
                         "volumeMounts: [{}]\nalgorithmEnv:\n"
                         "  TOKEN: {secretKeyRef: {name: creds}}\n")
    result = run("compile", _write(tmp_path, A1), "-a", str(algorithm))
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{algorithm}:4: volumes[0]: 'name' is a required property" in result.output
    assert f"{algorithm}:5: volumeMounts[0]: 'mountPath' is a required property" \
        in result.output
    assert f"{algorithm}:7: algorithmEnv.TOKEN.secretKeyRef: 'key' is a required property" \
        in result.output


def test_lint_says_what_a_file_is_when_it_is_no_manifest(in_repo_root, tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert run("lint", str(empty)).stderr.splitlines() == [
        f"{empty}: no manifests in this file", "1 problem(s)"]
    pipeline = run("lint", "examples/numbers/numbers.yaml")
    assert pipeline.exit_code == 1
    assert "this is an HKube pipeline descriptor, not an Argo manifest: compile it" \
        in pipeline.stderr
    algorithm = run("lint", "examples/numbers/algorithms/range.yaml")
    assert "this is an HKube algorithm descriptor" in algorithm.stderr
    typo = tmp_path / "typo.yaml"
    typo.write_text("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: "
                    "{generateName: x-}\nspec:\n  entryPoint: main\n  templates: []\n")
    assert "(did you mean 'entryPoint' -> 'entrypoint'?)" in run("lint", str(typo)).stderr
