"""The bad-input corpus: every file in tests/corpus/bad must fail, with the right message
on the right file, field (and line), and never with a traceback.

Expectations live in tests/corpus/bad/expectations.yaml. Files named ``alg-*`` are
algorithm descriptors; every other file is a pipeline, validated against the small
catalogue in tests/corpus/algorithms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from hkube2argo.cli import main
from hkube2argo.diagnostics import Diagnostic, ValidationFailed
from hkube2argo.validate import Catalog, load_algorithms, validate_file

CORPUS = Path(__file__).resolve().parent / "corpus"
BAD = CORPUS / "bad"
ALGORITHMS = CORPUS / "algorithms"
EXPECTATIONS_FILE = BAD / "expectations.yaml"

CASES = sorted(p.name for p in BAD.iterdir() if p.is_file() and p != EXPECTATIONS_FILE)
ALGORITHM_CASES = [c for c in CASES if c.startswith("alg-")]
PIPELINE_CASES = [c for c in CASES if not c.startswith("alg-")]

# A valid pipeline over the corpus catalogue, to put bad algorithm files in front of the CLI.
GOOD_PIPELINE = """\
name: good
nodes:
  - nodeName: A
    algorithmName: green-alg
    input: ["#[1,2]"]
  - nodeName: B
    algorithmName: yellow-alg
    input: ["@A"]
"""


def _expectations() -> dict[str, list[dict[str, Any]]]:
    raw = yaml.safe_load(EXPECTATIONS_FILE.read_text(encoding="utf-8")) or {}
    return {case: value if isinstance(value, list) else [value] for case, value in raw.items()}


EXPECTED = _expectations()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    cat = load_algorithms([ALGORITHMS])
    assert not cat.diagnostics, [str(d) for d in cat.diagnostics]
    assert set(cat.specs) >= {"green-alg", "yellow-alg", "black-alg"}
    return cat


def diagnostics_of(case: str, catalog: Catalog) -> list[Diagnostic]:
    """Everything the library reports for one case file (errors and warnings)."""
    path = BAD / case
    if case.startswith("alg-"):
        return load_algorithms([path]).diagnostics
    try:
        results = validate_file(path, catalog)
    except ValidationFailed as exc:
        return exc.diagnostics
    return [d for r in results for d in r.diagnostics]


def _show(diags: list[Diagnostic]) -> str:
    return "\n".join(f"  {d}" for d in diags) or "  (none)"


def _matches(diag: Diagnostic, case: str, want: dict[str, Any]) -> bool:
    return (diag.severity == "error"
            and Path(diag.file).name == case
            and diag.path == want["path"]
            and want["message"] in diag.message
            and ("line" not in want or diag.line == want["line"]))


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 45
    assert len(ALGORITHM_CASES) >= 10
    assert sum(len(v) >= 2 for v in EXPECTED.values()) >= 3


def test_every_case_has_an_expectation_and_vice_versa() -> None:
    missing = sorted(set(CASES) - set(EXPECTED))
    stale = sorted(set(EXPECTED) - set(CASES))
    assert not missing, f"case files without an entry in expectations.yaml: {missing}"
    assert not stale, f"expectations for files that do not exist: {stale}"


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_expectations_are_well_formed(case: str) -> None:
    for want in EXPECTED[case]:
        assert isinstance(want, dict), want
        assert set(want) <= {"path", "message", "line"}, want
        assert isinstance(want.get("path"), str) and want["path"], want
        assert isinstance(want.get("message"), str) and want["message"], want
        assert isinstance(want.get("line", 1), int), want


@pytest.mark.parametrize("case", CASES)
def test_case_reports_the_expected_errors(case: str, catalog: Catalog) -> None:
    diags = diagnostics_of(case, catalog)
    errors = [d for d in diags if d.severity == "error"]
    assert errors, f"{case} passed validation, but it is bad:\n{_show(diags)}"
    for err in errors:
        assert Path(err.file).name == case, f"error names the wrong file: {err}"
    for want in EXPECTED.get(case, []):
        assert any(_matches(d, case, want) for d in errors), (
            f"{case}: no error at path {want['path']!r}"
            + (f" line {want['line']}" if "line" in want else "")
            + f" containing {want['message']!r}; got:\n{_show(errors)}")


@pytest.mark.parametrize("case", CASES)
def test_case_reports_each_mistake_once(case: str, catalog: Catalog) -> None:
    """No more errors than listed mistakes: no mistake reported twice, no error on a
    made-up path. (Missing or misplaced errors fail the test above.)"""
    errors = [d for d in diagnostics_of(case, catalog) if d.severity == "error"]
    wanted = EXPECTED.get(case, [])
    assert len(errors) <= len(wanted), (
        f"{case}: {len(wanted)} mistake(s) listed, {len(errors)} error(s) reported:\n"
        f"{_show(errors)}")


def _named_in(case: str) -> str | None:
    """The algorithm name a bad algorithm file defines, when it can be read at all."""
    try:
        docs = list(yaml.safe_load_all((BAD / case).read_text(encoding="utf-8")))
    except yaml.YAMLError:
        return None
    first = docs[0] if docs else None
    name = first.get("name") if isinstance(first, dict) else None
    return name if isinstance(name, str) else None


def _cli(case: str, tmp_path: Path, use_it: bool = True):
    """``hkube2argo validate`` on one case: a pipeline case against the corpus catalogue,
    an algorithm case as an extra ``-a`` file next to a good pipeline that uses the
    algorithm the file defines (or, when the file names none, one no file defines), since
    only the algorithms a pipeline uses can fail it."""
    if case.startswith("alg-"):
        good = tmp_path / "good.yaml"
        name = _named_in(case) or "defined-nowhere"
        text = GOOD_PIPELINE + (f"  - nodeName: C\n    algorithmName: {name}\n"
                                "    input: [1]\n" if use_it else "")
        good.write_text(text, encoding="utf-8")
        args = ["validate", str(good), "-a", str(ALGORITHMS), "-a", str(BAD / case)]
    else:
        args = ["validate", str(BAD / case), "-a", str(ALGORITHMS)]
    return CliRunner().invoke(main, args)


def test_good_pipeline_is_valid_against_the_corpus_catalogue(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(GOOD_PIPELINE, encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(good), "-a", str(ALGORITHMS)])
    assert result.exit_code == 0, result.output
    assert "pipeline 'good' is valid" in result.output


@pytest.mark.parametrize("case", CASES)
def test_cli_fails_cleanly(case: str, tmp_path: Path) -> None:
    result = _cli(case, tmp_path)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{case}: uncaught {type(result.exception).__name__}: {result.exception}")
    assert "Traceback" not in result.output
    assert result.exit_code == 1, result.output
    assert case in result.output, result.output


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("alg-") and _named_in(c)])
def test_a_broken_algorithm_fails_only_the_pipelines_that_use_it(case: str,
                                                                 tmp_path: Path) -> None:
    """A store often holds a stale algorithm: it warns, and the pipeline that does not use
    it is valid."""
    result = _cli(case, tmp_path, use_it=False)
    assert result.exit_code == 0, result.output
    assert f"{case}:" in result.stderr and "warning: " in result.stderr
    assert "is not used here, so this pipeline does not fail on it" in result.stderr


@pytest.mark.parametrize("case", [
    "yaml-tab-indent.yaml",
    "json-broken.json",
    "priority-six.yaml",
    "unknown-ref-did-you-mean.yaml",
    "cycle-three.yaml",
    "multi-field-errors.yaml",
    "alg-mem-no-unit.yaml",
    "alg-gpu-word.yaml",
])
def test_cli_prints_file_line_path_and_message(case: str, tmp_path: Path) -> None:
    result = _cli(case, tmp_path)
    assert result.exit_code == 1, result.output
    for want in EXPECTED[case]:
        where = f"{case}:{want['line']}" if "line" in want else case
        lines = [ln for ln in result.output.splitlines()
                 if where in ln and f" {want['path']}: " in ln and want["message"] in ln]
        assert lines, f"no '{where}: {want['path']}: ...{want['message']}...' in:\n" \
                      f"{result.output}"
    errors = len(EXPECTED[case])
    assert f"{errors} error(s)" in result.output
