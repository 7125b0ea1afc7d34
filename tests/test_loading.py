"""Loading descriptor files: JSON-only YAML semantics, many per file, errors with lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hkube2argo.diagnostics import ValidationFailed
from hkube2argo.loading import expand_paths, load_file, load_many, parse_text


def one(text: str, fmt: str = "yaml"):
    (desc,) = parse_text(text, "t." + fmt, fmt)
    return desc.data


@pytest.mark.parametrize("text,value", [
    ("on", "on"), ("yes", "yes"), ("No", "No"), ("true", True), ("False", False),
    ("2024-01-01", "2024-01-01"), ("1e5", 100000.0), ("1.5", 1.5), ("12", 12),
    ("0x10", 16), ("~", None), ("null", None), ("'12'", "12"), ("-3", -3), (".5", 0.5),
])
def test_yaml_scalars_have_json_types(text: str, value: object) -> None:
    assert one(f"v: {text}") == {"v": value}
    assert type(one(f"v: {text}")["v"]) is type(value)


def test_non_string_keys_become_javascript_strings() -> None:
    assert one("1: a\ntrue: b\n~: c") == {"1": "a", "true": "b", "null": "c"}


@pytest.mark.parametrize("text,line,needle", [
    ("a: 1\nb: [1,\n", 3, "invalid YAML"),
    ("a: 1\na: 2\n", 2, "duplicated mapping key 'a'"),
    ("a: .inf\n", 1, "not a JSON number"),
    ("a: !!binary aGVsbG8=\n", 1, "unsupported YAML tag"),
    ("a: !custom x\n", 1, "unsupported YAML tag"),
])
def test_yaml_errors_carry_the_line(text: str, line: int, needle: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_text(text, "bad.yaml")
    (diag,) = caught.value.errors
    assert diag.file == "bad.yaml" and diag.line == line and needle in diag.message


def test_json_errors_and_duplicates() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_text('{\n "a": 1,\n "a": 2\n}', "d.json", "json")
    (diag,) = caught.value.errors
    assert (diag.message, diag.path, diag.line) == ("duplicated mapping key 'a'", "a", 3)
    with pytest.raises(ValidationFailed) as caught:
        parse_text('{\n "a": [1,\n}', "d.json", "json")
    assert caught.value.errors[0].line == 3
    with pytest.raises(ValidationFailed):
        parse_text('{"a": NaN}', "d.json", "json")


def test_json_numbers_and_lines() -> None:
    (desc,) = parse_text('{\n "a": 1e5,\n "b": [1, 2]\n}', "d.json", "json")
    assert desc.data == {"a": 100000.0, "b": [1, 2]}
    assert desc.source.line_of(("b", 1)) == 3
    assert desc.source.line_of(("b", 7, "missing")) == 3  # nearest recorded ancestor


def test_many_descriptors_per_file() -> None:
    docs = parse_text("name: a\n---\nname: b\n", "m.yaml")
    assert [d.data["name"] for d in docs] == ["a", "b"]
    assert docs[1].source.diag("x", ("name",)).line == 3
    listed = parse_text("- name: a\n- name: b\n", "l.yaml")
    assert [d.source.base for d in listed] == [(0,), (1,)]
    assert str(listed[1].source.diag("bad", ("name",))) == "l.yaml:2: [1].name: bad"


def test_empty_file_is_an_error() -> None:
    with pytest.raises(ValidationFailed, match="holds no descriptor"):
        parse_text("# only a comment\n", "e.yaml")


def test_alias_bomb_is_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i, prev in zip("bcdefgh", "abcdefg", strict=True):
        bomb += f"{i}: &{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, " \
                f"*{prev}, *{prev}, *{prev}]\n"
    with pytest.raises(ValidationFailed, match="expands to more than"):
        parse_text(bomb, "bomb.yaml")


def test_files_and_folders(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: a\n")
    (tmp_path / "b.json").write_text(json.dumps({"name": "b"}))
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "package.json").write_text("{}")  # code folders are not descriptors
    assert [p.name for p in expand_paths([tmp_path])] == ["a.yaml", "b.json"]
    descriptors, errors = load_many([tmp_path, tmp_path / "missing.yaml"])
    assert sorted(d.data["name"] for d in descriptors) == ["a", "b"]
    assert [e.message for e in errors] == ["no such file"]
    (tmp_path / "latin1.yaml").write_bytes(b"name: \xe9\n")
    with pytest.raises(ValidationFailed, match="not UTF-8"):
        load_file(tmp_path / "latin1.yaml")


@pytest.mark.parametrize("depth", [150, 1200])
def test_too_deep_is_one_clear_error_whatever_the_parser(depth: int) -> None:
    """Past 100 levels: our message, whether our builder or PyYAML (6.0.4 limits depth
    itself) or json's recursion stops first."""
    for text, fmt in (("a: " + "[" * depth + "]" * depth, "yaml"),
                      ('{"a": ' + "[" * depth + "]" * depth + "}", "json")):
        with pytest.raises(ValidationFailed) as caught:
            parse_text(text, "deep." + fmt, fmt)
        assert "nested more than 100 levels deep" in caught.value.errors[0].message


# --- text that is not Unicode (issue 12 D) -------------------------------------------------

SURROGATES = [
    ('{"name": "p", "description": "\\ud800"}', "description"),
    ('{"name": "p", "flowInput": {"a": ["x\\udfff"]}}', "flowInput.a[0]"),
    ('{"name": "p", "nodes": [{"input": ["\\ud800"]}]}', "nodes[0].input[0]"),
    ('{"name": "alg", "cpu": "\\ud800"}', "cpu"),
    ('{"name": "p", "flowInput": {"\\udc00": 1}}', "flowInput.\udc00"),
]


@pytest.mark.parametrize(("text", "where"), SURROGATES)
def test_lone_surrogates_are_refused_where_they_are(text: str, where: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_text(text, "x.json", "json")
    (diag,) = caught.value.diagnostics
    assert "lone UTF-16 surrogate" in diag.message
    assert str(diag).startswith(f"x.json: {where}: ") or f": {where}: " in str(diag)


def test_a_surrogate_pair_is_plain_text() -> None:
    (desc,) = parse_text('{"name": "p", "description": "\\ud83d\\ude00"}', "x.json", "json")
    assert desc.data["description"] == "\U0001f600"


# --- size (issue 12: a 44 MB descriptor took ~31 CPU-s and 2.6 GB) -------------------------


def test_files_over_the_size_limit_are_refused_before_reading(tmp_path: Path) -> None:
    from hkube2argo.loading import MAX_FILE_BYTES

    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(ValidationFailed) as caught:
        load_file(big)
    (diag,) = caught.value.diagnostics
    assert "descriptors are read up to 8 MiB" in diag.message
    with pytest.raises(ValidationFailed, match="read up to 8 MiB"):
        parse_text(" " * (MAX_FILE_BYTES + 1), "x.yaml")


def test_a_large_json_file_is_not_parsed_twice_for_line_numbers() -> None:
    from hkube2argo.loading import JSON_LINES_MAX

    padding = ["x" * 100] * (JSON_LINES_MAX // 100)
    text = json.dumps({"name": "p", "flowInput": {"pad": padding}, "nodes": [{"x": "\ud800"}]})
    with pytest.raises(ValidationFailed) as caught:
        parse_text(text, "x.json", "json")
    (diag,) = caught.value.diagnostics
    assert diag.loc == ("nodes", 0, "x") and diag.line is None
