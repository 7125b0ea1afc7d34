"""Reading descriptor files: YAML or JSON, one or many descriptors per file.

HKube reads descriptors with js-yaml, whose schema knows only JSON's types. PyYAML's
default YAML 1.1 rules would turn ``on``/``no`` into booleans and ``2024-01-01`` into a
date, silently changing a flowInput. So YAML is read here with JSON-only semantics:
booleans are ``true``/``false``, timestamps stay strings, duplicate keys are an error
(as in js-yaml) and every value is plain JSON. While building values we record the line
of every path, so later stages can point at ``file:line``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .diagnostics import Diagnostic, Loc, ValidationFailed

YAML_SUFFIXES = (".yaml", ".yml")
JSON_SUFFIXES = (".json",)
DESCRIPTOR_SUFFIXES = YAML_SUFFIXES + JSON_SUFFIXES
# Alias expansion can blow a small file up exponentially ("billion laughs").
MAX_VALUES = 2_000_000
# Descriptor files larger than this are refused before they are read: a compiled
# Workflow, flowInput included, must fit Argo's 1 MiB object, and reading a 44 MB JSON
# descriptor costs ~30 CPU-s and 2.6 GB (line numbers, models, checks).
MAX_FILE_BYTES = 8 * 1024 * 1024
# Deeper nesting than this is refused with a clear error rather than a RecursionError
# somewhere downstream; no real descriptor comes near it.
MAX_DEPTH = 100


# libyaml's parser when PyYAML has it (about 10x faster on big pipelines), else pure Python.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _JsonishLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """SafeLoader whose implicit types are JSON's (as js-yaml's default schema)."""


_JsonishLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (
        "tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_JsonishLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
# YAML 1.2 core floats (js-yaml too): ``1e5`` is a number, which YAML 1.1 reads as a string.
_JsonishLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?
                |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                |[-+]?\.(?:inf|Inf|INF)
                |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


@dataclass
class Source:
    """Where a descriptor came from: the file, its offset inside the file, and line numbers.

    ``lines`` may be given lazily (``line_finder``): JSON needs a second parse to learn
    lines, worth paying only when there is something to report."""

    file: str
    base: Loc = ()
    lines: dict[Loc, int] = field(default_factory=dict)
    line_finder: Callable[[], dict[Loc, int]] | None = None

    def line_of(self, loc: Loc) -> int | None:
        """Line of the deepest recorded ancestor of ``loc`` (fields that are absent have none)."""
        if self.line_finder is not None:
            self.lines, self.line_finder = self.line_finder(), None
        full = self.base + tuple(loc)
        while True:
            if full in self.lines:
                return self.lines[full]
            if not full:
                return None
            full = full[:-1]

    def diag(self, message: str, loc: Loc = (), severity: str = "error") -> Diagnostic:
        full = self.base + tuple(loc)
        return Diagnostic(message=message, loc=full, file=self.file,
                          line=self.line_of(loc), severity=severity)  # type: ignore[arg-type]


@dataclass
class Descriptor:
    """One descriptor object (a pipeline or an algorithm) with its source."""

    data: Any
    source: Source


class _Builder:
    """Turns a composed YAML node tree into JSON values, recording a line per path."""

    def __init__(self, loader: _JsonishLoader, file: str):
        self.loader = loader
        self.file = file
        self.lines: dict[Loc, int] = {}
        self.count = 0
        self.open: set[int] = set()  # nodes being built: one seen again is a recursive alias

    def fail(self, node: yaml.Node, loc: Loc, message: str) -> ValidationFailed:
        return ValidationFailed([Diagnostic(message, loc, self.file, node.start_mark.line + 1)])

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise self.fail(node, loc, f"document expands to more than {MAX_VALUES} values "
                                       "(YAML aliases?)")
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if len(loc) > MAX_DEPTH:
            raise self.fail(node, loc, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            if id(node) in self.open:
                raise self.fail(node, loc, "recursive YAML alias: a value contains itself")
            self.open.add(id(node))
            try:
                return self.container(node, loc)
            finally:
                self.open.discard(id(node))
        return self.scalar(node, loc)

    def container(self, node: yaml.Node, loc: Loc) -> Any:
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.fail(key_node, loc, "mapping keys must be plain values")
                key = _js_key(self.scalar(key_node, loc))
                if key in out:
                    raise self.fail(key_node, (*loc, key), f"duplicated mapping key '{key}'")
                out[key] = self.build(value_node, (*loc, key))
            return out
        return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]

    def _number(self, node: yaml.Node, loc: Loc, construct: Callable[[Any], Any],
                what: str) -> Any:
        try:
            return construct(node)
        except (ValueError, IndexError, TypeError):  # an explicit !!int on a non-number
            raise self.fail(node, loc, f"'{node.value}' is not {what}") from None

    def scalar(self, node: yaml.Node, loc: Loc) -> Any:
        tag = node.tag
        if tag == "tag:yaml.org,2002:str":
            return node.value
        if tag == "tag:yaml.org,2002:null":
            return None
        if tag == "tag:yaml.org,2002:bool":
            return node.value.lower() == "true"
        if tag == "tag:yaml.org,2002:int":
            return self._number(node, loc, self.loader.construct_yaml_int, "an integer")
        if tag == "tag:yaml.org,2002:float":
            value = self._number(node, loc, self.loader.construct_yaml_float, "a number")
            if math.isinf(value) or math.isnan(value):
                raise self.fail(node, loc, f"'{node.value}' is not a JSON number")
            return value
        raise self.fail(node, loc, f"unsupported YAML tag {tag}: descriptors hold JSON values only")


def _js_key(key: Any) -> str:
    """Mapping keys become strings the way JavaScript would print them."""
    if isinstance(key, str):
        return key
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def _yaml_documents(text: str, file: str) -> Iterator[tuple[Any, dict[Loc, int]]]:
    loader = _JsonishLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            builder = _Builder(loader, file)
            yield builder.build(node, ()), builder.lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        if "nesting depth" in problem:  # PyYAML >= 6.0.4 stops very deep documents itself
            raise ValidationFailed([Diagnostic(f"nested more than {MAX_DEPTH} levels deep",
                                               (), file, line)]) from None
        if "cannot start any token" in problem and mark is not None \
                and _char_at(text, mark.line, mark.column) in ("@", "`"):
            problem += (": quote values that start with @ (YAML reserves @ and `), as in "
                        "input: ['@flowInput.a'] or input: [\"@Range\"]")
        raise ValidationFailed([Diagnostic(f"invalid YAML: {problem}", (), file, line)]) from None
    except yaml.YAMLError as exc:
        raise ValidationFailed([Diagnostic(f"invalid YAML: {exc}", (), file)]) from None
    finally:
        loader.dispose()


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    return lines[line][column:column + 1] if 0 <= line < len(lines) else ""


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicated key '{key}'")
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"'{name}' is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is too large for a JSON number")
    return value


# Learning a JSON file's lines costs a YAML parse of it all (~15 CPU-s for 7 MB): past
# this size, messages about a JSON file name the field without its line.
JSON_LINES_MAX = 1024 * 1024


def _json_lines(text: str, file: str) -> dict[Loc, int]:
    """JSON is (nearly) YAML: reuse the YAML composer only to learn line numbers."""
    if len(text) > JSON_LINES_MAX:
        return {}
    try:
        docs = list(_yaml_documents(text, file))
    except ValidationFailed:
        return {}
    return docs[0][1] if len(docs) == 1 else {}


def _json_document(text: str, file: str) -> Any:
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicates,
                          parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise ValidationFailed([Diagnostic(f"invalid JSON: {exc.msg}", (), file, exc.lineno)]) \
            from None
    except ValueError as exc:
        # The YAML reading of the same text knows where a duplicated key is.
        if "duplicated key" in str(exc):
            list(_yaml_documents(text, file))
        raise ValidationFailed([Diagnostic(f"invalid JSON: {exc}", (), file)]) from None
    except RecursionError:
        list(_yaml_documents(text, file))  # stops at MAX_DEPTH, with the place and line
        raise ValidationFailed([Diagnostic(f"nested more than {MAX_DEPTH} levels deep", (),
                                           file)]) from None
    problem = first_problem(data)
    if problem is not None:
        where, message = problem
        raise ValidationFailed([Diagnostic(message, where, file,
                                           _json_lines(text, file).get(where))])
    return data


# JSON's "\ud800" escapes (and YAML's) can give a string a lone UTF-16 surrogate, which no
# UTF-8 text can hold: Kubernetes, Argo and object storage would all refuse or mangle it.
_SURROGATE = re.compile("[\ud800-\udfff]")
NOT_UNICODE = ("holds a lone UTF-16 surrogate (an escape such as \\ud800 that is not half of "
               "a pair), which is not Unicode text and cannot be stored or sent")


def first_problem(data: Any) -> tuple[Loc, str] | None:
    """The first place nested deeper than MAX_DEPTH or holding a string (value or key)
    with a lone surrogate, with what is wrong; one iterative walk (no recursion limit)."""
    stack: list[tuple[Loc, Any]] = [((), data)]
    while stack:
        loc, value = stack.pop()
        if len(loc) > MAX_DEPTH:
            return loc, f"nested more than {MAX_DEPTH} levels deep"
        if isinstance(value, str):
            if not value.isascii() and _SURROGATE.search(value):
                return loc, NOT_UNICODE
        elif isinstance(value, dict):
            for key, item in value.items():
                if not key.isascii() and _SURROGATE.search(key):
                    return (*loc, key), NOT_UNICODE
                stack.append(((*loc, key), item))
        elif isinstance(value, list):
            stack.extend(((*loc, i), v) for i, v in enumerate(value))
    return None


def _sources(file: str, base: Loc, data: Any, lines: dict[Loc, int],
             finder: Callable[[], dict[Loc, int]] | None) -> list[Descriptor]:
    if isinstance(data, list):
        return [Descriptor(item, Source(file, (*base, i), lines, finder))
                for i, item in enumerate(data)]
    return [Descriptor(data, Source(file, base, lines, finder))]


def _too_large(size: float, file: str) -> ValidationFailed:
    return ValidationFailed([Diagnostic(
        f"the file is {size / 1024 / 1024:.1f} MiB; descriptors are read up to "
        f"{MAX_FILE_BYTES // 1024 // 1024} MiB (a compiled Workflow, flowInput included, must "
        "fit Argo's 1 MiB object): keep large data in object storage and pass its key",
        (), file)])


def parse_text(text: str, file: str, fmt: str = "yaml") -> list[Descriptor]:
    """Parse one file's text into descriptors; a top-level list holds several."""
    if len(text) > MAX_FILE_BYTES:  # characters: at least as many bytes
        raise _too_large(len(text), file)
    out: list[Descriptor] = []
    if fmt == "json":
        data = _json_document(text, file)
        if data is not None:
            out = _sources(file, (), data, {}, lambda: _json_lines(text, file))
    else:
        documents = list(_yaml_documents(text, file))
        many = len(documents) > 1
        for index, (data, lines) in enumerate(documents):
            if data is None:
                continue
            base: Loc = (f"document {index + 1}",) if many else ()
            if many:
                lines = {base + k: v for k, v in lines.items()}
            out.extend(_sources(file, base, data, lines, None))
    if not out:
        raise ValidationFailed([Diagnostic("the file holds no descriptor", (), file)])
    if fmt != "json":  # JSON's walk is in _json_document
        for desc in out:
            problem = first_problem(desc.data)
            if problem is not None:
                raise ValidationFailed([desc.source.diag(problem[1], problem[0])])
    return out


def load_file(path: str | Path) -> list[Descriptor]:
    """Read a descriptor file; the suffix picks JSON, anything else is read as YAML."""
    p = Path(path)
    try:
        if p.is_file() and p.stat().st_size > MAX_FILE_BYTES:
            raise _too_large(p.stat().st_size, str(path))
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationFailed([Diagnostic("no such file", (), str(path))]) from None
    except IsADirectoryError:
        raise ValidationFailed([Diagnostic("is a folder, expected a file", (), str(path))]) \
            from None
    except UnicodeDecodeError as exc:
        raise ValidationFailed([Diagnostic(f"not UTF-8 text: {exc.reason}", (), str(path))]) \
            from None
    except OSError as exc:
        raise ValidationFailed([Diagnostic(f"cannot read: {exc.strerror}", (), str(path))]) \
            from None
    fmt = "json" if p.suffix.lower() in JSON_SUFFIXES else "yaml"
    return parse_text(text, str(path), fmt)


def expand_paths(paths: list[str | Path]) -> list[Path]:
    """Files as given; a folder contributes its descriptor files (not its sub-folders,
    which hold algorithm code such as ``package.json``)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(sorted(c for c in p.iterdir()
                              if c.is_file() and c.suffix.lower() in DESCRIPTOR_SUFFIXES))
        else:
            out.append(p)
    return out


def load_many(paths: list[str | Path]) -> tuple[list[Descriptor], list[Diagnostic]]:
    """Load every file, collecting the errors of all of them rather than stopping."""
    descriptors: list[Descriptor] = []
    errors: list[Diagnostic] = []
    for p in expand_paths(paths):
        try:
            descriptors.extend(load_file(p))
        except ValidationFailed as exc:
            errors.extend(exc.diagnostics)
    return descriptors, errors


@dataclass(frozen=True)
class FlowInputBody:
    """A run-time flowInput as a file gives it: hkubectl's ``exec stored`` body
    (``{name, flowInput}``) or a bare flowInput object, read the same way by ``run
    --flow-input`` and ``exec stored -f`` so one file serves both."""

    flow_input: dict[str, Any]
    name: str | None = None
    ignored: tuple[str, ...] = ()  # keys of a {name, flowInput} body that are not used


def load_flow_input(path: str | Path) -> FlowInputBody:
    found = load_file(path)
    if len(found) != 1 or not isinstance(found[0].data, dict):
        raise ValidationFailed([Diagnostic(
            "must hold one object: a flowInput, or {name: PIPELINE, flowInput: {...}} as "
            "hkubectl's exec stored takes it", (), str(path))])
    body = found[0].data
    if "flowInput" not in body:
        return FlowInputBody(body)
    if not isinstance(body["flowInput"], dict):
        raise ValidationFailed([found[0].source.diag("flowInput must be an object",
                                                     ("flowInput",))])
    name = body.get("name") if isinstance(body.get("name"), str) else None
    return FlowInputBody(body["flowInput"], name,
                         tuple(sorted(set(body) - {"name", "flowInput"})))
