"""The fuzz campaign's fast profile (the long one: ``bench/fuzz_campaign.py``), and the
properties of the two output guards it leans on: the ``{{`` neutraliser and YAML quoting.

Cases and oracle are in ``tests/fuzzing.py``: nothing raises but ``ValidationFailed``,
compiled manifests are lint-clean and deterministic, no plain YAML scalar another decoder
misreads, no user ``{{`` in text Argo substitutes. Derandomized, no example database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hkube2argo import serialize
from hkube2argo.cli import main
from hkube2argo.compiler import compile_manifests
from hkube2argo.emit.workflow import inert, restore
from hkube2argo.loading import Descriptor, Source

from . import fuzzing

FAST = settings(derandomize=True, database=None, deadline=None, print_blob=False,
                phases=[Phase.explicit, Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def space() -> Iterator[fuzzing.Workspace]:
    with fuzzing.workspace() as made:
        yield made


@settings(FAST, max_examples=200)
@given(case=fuzzing.pipeline_cases)
def test_pipeline_cases(space: fuzzing.Workspace, case: tuple[str, Any]) -> None:
    fuzzing.check_pipeline_case(case, space.catalog)


@settings(FAST, max_examples=60)
@given(data=fuzzing.algorithm_values(), fmt=st.sampled_from(["yaml", "json"]))
def test_algorithm_cases(space: fuzzing.Workspace, data: Any, fmt: str) -> None:
    fuzzing.check_algorithm_case(data, fmt, space.folder)


# --- the neutraliser (issue 12 B) ---------------------------------------------------------

braces = st.text(alphabet="{}\u200bx ", max_size=30) | st.text(max_size=30)


@settings(FAST, max_examples=500)
@given(braces)
def test_no_tag_survives_the_neutraliser_and_the_text_comes_back(text: str) -> None:
    shown = inert(text)
    assert "{{" not in shown
    assert restore(shown) == text


@pytest.mark.parametrize("text", ["{{{workflow.name}}}", "{{{{x}}}}", "{\u200b{x}}", "a{{b"])
def test_user_tags_in_description_and_tags_stay_inert(space: fuzzing.Workspace,
                                                      text: str) -> None:
    data = {"name": "p", "description": text, "tags": [text],
            "nodes": [{"nodeName": "A", "algorithmName": "alg", "input": [1]}]}
    result = fuzzing.validate_descriptor(Descriptor(data, Source("p.yaml")), space.catalog)
    assert result.plan is not None
    workflow = compile_manifests(result.plan, fuzzing.CONFIG).workflow
    annotations = workflow["metadata"]["annotations"]
    assert restore(annotations["workflows.argoproj.io/description"]) == text
    assert json.loads(restore(annotations["hkube2argo.io/tags"])) == [text]
    assert fuzzing.tag_count(annotations) == 0


# --- YAML every decoder reads alike (issue 12 C) ------------------------------------------

MISREAD = ["y", "N", "yes", "on", "1e5", "+1E5", "1.0e5", "0o7", "0O7", "0x1F", "0b1", "1_000",
           ".inf", "-.Inf", ".nan", "~", "null", "", "2024-01-01", "12:30", "=", "<<", "0777",
           "1.", ".5", "-0"]


@pytest.mark.parametrize("text", MISREAD)
def test_strings_other_decoders_misread_are_quoted(text: str) -> None:
    written = serialize.dump({"k": text, text: "v"})
    assert fuzzing.plain_strings_misread(written) == []
    assert yaml.safe_load(written) == {"k": text, text: "v"}


@settings(FAST, max_examples=300)
@given(st.text(alphabet="0123456789.eE+-_xob:yYnN~", max_size=8) | st.text(max_size=8))
def test_any_string_reads_back_as_that_string(text: str) -> None:
    written = serialize.dump({"k": [text]})
    assert fuzzing.plain_strings_misread(written) == []
    assert yaml.safe_load(written) == {"k": [text]}


def test_a_pipeline_named_1e5_described_y_compiles_to_quoted_strings(
        space: fuzzing.Workspace) -> None:
    data = {"name": "1e5", "description": "y", "experimentName": "0o7",
            "nodes": [{"nodeName": "A", "algorithmName": "alg", "input": [1]}]}
    outcome = fuzzing.check_descriptor(Descriptor(data, Source("p.yaml")), space.catalog)
    assert outcome.kind == "compiled"


def test_run_yaml_output_quotes_them_too(tmp_path: Any, in_repo_root: Any) -> None:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("name: p\nnodes:\n  - {nodeName: A, algorithmName: echo, "
                        "input: ['y', '1e5', '0o7']}\n")
    result = CliRunner().invoke(main, ["run", str(pipeline), "-a", "examples/algorithms",
                                       "--state", str(tmp_path / "state"), "-o", "yaml"])
    assert result.exit_code == 0, result.output
    assert fuzzing.plain_strings_misread(result.stdout) == []
    assert yaml.safe_load(result.stdout)["data"][0]["result"] == ["y", "1e5", "0o7"]
