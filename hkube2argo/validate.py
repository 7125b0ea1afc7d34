"""Descriptors in, a plan (or every problem) out: the load -> validate -> plan stages.

Model validation and the graph checks both run, even when the other found errors, so
one run shows every mistake. Only a descriptor with no error becomes a plan.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from . import checks
from .cron import CronError, to_argo
from .diagnostics import Diagnostic, Loc, ValidationFailed
from .grammar import parse_input
from .loading import Descriptor, Source, expand_paths, first_problem, load_file, load_many
from .models import Algorithm, Node, Options, Pipeline
from .models.algorithm import fold_file_shape
from .models.base import OpenHKubeModel
from .models.errors import translate
from .plan import AlgorithmSpec, Plan
from .planner import algorithm_spec, build_plan, resolve_code_path
from .spelling import suggest


@dataclass
class Validated:
    """The outcome for one pipeline descriptor."""

    source: Source
    plan: Plan | None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]


@dataclass
class Catalog:
    """Algorithms by name, as given with ``-a`` (files or folders), or a whole store.

    A store of many algorithms often holds a stale or half-built one (HKube accepts an
    image algorithm stored before its image exists), so a problem fails only the pipelines
    that use that algorithm: ``owner`` says whose each error is, and ``judged_for`` turns
    the others into warnings."""

    specs: dict[str, AlgorithmSpec] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    owner: dict[Diagnostic, str] = field(default_factory=dict)  # error -> algorithm name
    broken: set[str] = field(default_factory=set)  # named, but failed: their errors say why

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def judged_for(self, used: set[str]) -> list[Diagnostic]:
        """The diagnostics as one pipeline sees them: errors of the algorithms it uses stay
        errors; those of other algorithms become warnings; an error of a file whose
        algorithm could not even be named stays an error only while a used algorithm is
        missing (that file may be where it was meant to be)."""
        missing = used - set(self.specs) - set(self.owner.values())
        out = []
        for d in self.diagnostics:
            name = self.owner.get(d)
            if d.severity != "error" or (name in used if name else missing):
                out.append(d)
            elif name:
                out.append(dataclasses.replace(
                    d, severity="warning",
                    message=f"{d.message} (algorithm {name} is not used here, so this pipeline "
                            "does not fail on it)"))
            else:
                out.append(dataclasses.replace(
                    d, severity="warning",
                    message=f"{d.message} (skipped: every algorithm this pipeline uses was "
                            "found elsewhere)"))
        return out


def used_algorithms(data: Any) -> set[str]:
    """The algorithm names a pipeline descriptor's nodes name (whatever else is wrong)."""
    nodes = data.get("nodes") if isinstance(data, dict) else None
    return {name for node in (nodes if isinstance(nodes, list) else [])
            if isinstance(node, dict) and (name := _name(node.get("algorithmName")))}

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]


def _known_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


# What becomes of an unknown key, by where it stands: HKube validates none of these objects
# with additionalProperties false, so it keeps the key; only a node's keys travel on, in the
# task's data that becomes the algorithm's args (runtime/tasks.py ``_args``).
FATE = {"pipeline": "kept in the stored pipeline, and ignored, as HKube does",
        "options": "kept, and ignored: no option of that name exists, so it has no effect",
        "node": "kept, and passed to the algorithm in its args, as HKube does",
        "algorithm": "kept in the stored algorithm, and ignored, as HKube does"}


def spelling_warnings(data: Any, model: type[OpenHKubeModel], source: Source,
                      loc: Loc = (), where: str = "pipeline") -> Iterable[Diagnostic]:
    """Warn on unknown keys that look like misspellings; they are kept either way, and the
    warning says what that means where the key stands (``FATE``)."""
    if not isinstance(data, dict):
        return
    known = _known_keys(model)
    for key in data:
        if key in known or key in model.quiet_keys:
            continue
        hint = suggest(key, known)
        if hint:
            yield source.diag(f"unknown key '{key}': did you mean '{hint}'? ({FATE[where]})",
                              (*loc, key), "warning")


def _model_errors(model: type[BaseModel], data: Any, source: Source,
                  moved: dict[str, tuple[str, ...]] | None = None) -> \
        tuple[Any, list[Diagnostic]]:
    """Validate; errors on fields that were moved from the file shape point at the key the
    user wrote (``resources.cpu``, not ``cpu``)."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        moved = moved or {}
        out = []
        for loc, msg in translate(exc, model, data):
            if loc and loc[0] in moved:
                loc = (*moved[str(loc[0])], *loc[1:])
            out.append(source.diag(msg, loc))
        return None, out


def load_algorithms(paths: Sequence[str | Path]) -> Catalog:
    """Algorithm files and folders into a catalogue; every problem is collected."""
    descriptors, load_errors = load_many(list(paths))
    empty = [Diagnostic("this folder holds no algorithm files (*.yaml, *.yml or *.json "
                        "directly in it; sub-folders hold code and are not read)", (), str(path),
                        severity="warning")
             for path in map(Path, paths) if path.is_dir() and not expand_paths([path])]
    return catalog_of(descriptors, [*load_errors, *empty])


def catalog_of(descriptors: Sequence[Descriptor],
               diagnostics: Sequence[Diagnostic] = ()) -> Catalog:
    """Algorithm descriptors, from files or from a store's export, into a catalogue."""
    catalog = Catalog(diagnostics=list(diagnostics))
    origin: dict[str, Source] = {}
    for desc in descriptors:
        src = desc.source
        if not isinstance(desc.data, dict):
            catalog.diagnostics.append(src.diag("an algorithm descriptor must be an object"))
            continue
        before = len(catalog.diagnostics)
        _load_one(desc, src, catalog, origin)
        name = _name(desc.data.get("name"))
        mine = [d for d in catalog.diagnostics[before:] if d.severity == "error"]
        if name and mine:
            catalog.owner.update((d, name) for d in mine)
            catalog.broken.add(name)
    return catalog


def _load_one(desc: Descriptor, src: Source, catalog: Catalog,
              origin: dict[str, Source]) -> None:
    """One algorithm descriptor into the catalogue, or its problems into its diagnostics."""
    folded, moved, problems = fold_file_shape(desc.data)
    catalog.diagnostics.extend(src.diag(msg, loc) for loc, msg in problems)
    if problems:
        return
    folded = _legacy(folded, src, catalog.diagnostics)
    algorithm, errors = _model_errors(Algorithm, folded, src, moved)
    catalog.diagnostics.extend(errors)
    catalog.diagnostics.extend(_algorithm_key_warnings(desc.data, src))
    if algorithm is None:
        return
    kube = list(_kubernetes_problems(folded))
    catalog.diagnostics.extend(src.diag(msg, loc) for loc, msg in kube)
    if kube:
        return
    unrunnable = algorithm.runnable_problems()
    catalog.diagnostics.extend(src.diag(msg, moved.get(field, (field,)))
                               for field, msg in unrunnable)
    if unrunnable:
        return
    if algorithm.name in origin:
        first = origin[algorithm.name]
        catalog.diagnostics.append(src.diag(
            f"algorithm '{algorithm.name}' is defined twice (first in {first.file}"
            f"{':' + str(first.line_of(('name',))) if first.line_of(('name',)) else ''})",
            ("name",)))
        return
    origin[algorithm.name] = src
    code_path = resolve_code_path(algorithm.code_path, src.file)
    if code_path is not None and not os.path.exists(code_path):
        catalog.diagnostics.append(src.diag(
            f"code.path '{algorithm.code_path}' does not exist (looked for {code_path})",
            moved.get("codePath", ("codePath",))))
        return
    if algorithm.reserved_memory is not None:
        catalog.diagnostics.append(src.diag(
            "reservedMemory is HKube's data cache, which pods here do not have: "
            "accepted and ignored", ("reservedMemory",), "warning"))
    catalog.specs[algorithm.name] = algorithm_spec(algorithm, code_path)


def _legacy(data: dict[str, Any], src: Source, out: list[Diagnostic]) -> dict[str, Any]:
    """Fields of older HKube versions that its current API ignores or drops: a warning,
    never an error, so a whole old store can be read (docs/hkube-semantics.md)."""
    if data.get("kind") == "debug":
        out.append(src.diag("kind debug (older HKube's debug algorithms) is dropped: on Argo "
                            "the algorithm runs as a plain batch algorithm", ("kind",),
                            "warning"))
        data = {k: v for k, v in data.items() if k != "kind"}
    options = data.get("options")
    if isinstance(options, dict) and options.get("devMode"):
        out.append(src.diag("devMode mounts the algorithm's sources into HKube's workers; "
                            "Argo pods run the stored code or image, so it is ignored",
                            ("options", "devMode"), "warning"))
    return data


# Fields HKube passes to Kubernetes as they are: checked here against the schema the
# manifests are linted with (unknown keys rejected), so a bad one is a file:line error at
# load time rather than a failure when the pipeline is compiled.
_KUBERNETES_LISTS = {"volumes": ("io.k8s.api.core.v1.Volume", "{name: data, emptyDir: {}}"),
                     "volumeMounts": ("io.k8s.api.core.v1.VolumeMount",
                                      "{name: data, mountPath: /data}")}
_ENV_FIELDS = ("algorithmEnv", "workerEnv")


def _kubernetes_problems(folded: dict[str, Any]) -> Iterable[tuple[Loc, str]]:
    def problems(definition: str, value: Any, loc: Loc, shape: str,
                 model: str) -> Iterable[tuple[Loc, str]]:
        # imported here, for the few algorithms that carry such values: the schema lint
        # (jsonschema) and Hera's models cost about a second to import
        from .lint import check_object

        found = check_object(definition, value)
        for path, message in found[:3]:
            yield (*loc, *path), f"{message} (a Kubernetes {definition.rsplit('.', 1)[1]} " \
                                 f"such as {shape})"
        if not found:
            from hera.workflows import models as m

            try:
                getattr(m, model).model_validate(value)
            except ValidationError as exc:
                for err in exc.errors()[:3]:
                    yield (*loc, *err["loc"]), f"{err['msg']} ({shape})"

    models = {"volumes": "Volume", "volumeMounts": "VolumeMount"}
    for key, (definition, shape) in _KUBERNETES_LISTS.items():
        items = folded.get(key)
        for i, item in enumerate(items if isinstance(items, list) else []):
            yield from problems(definition, item, (key, i), shape, models[key])
    for key in _ENV_FIELDS:
        env = folded.get(key)
        for name, value in (env.items() if isinstance(env, dict) else ()):
            if isinstance(value, dict):
                yield from problems("io.k8s.api.core.v1.EnvVarSource", value, (key, name),
                                    "{secretKeyRef: {name: creds, key: token}}",
                                    "EnvVarSource")


def _algorithm_key_warnings(data: dict[str, Any], src: Source) -> Iterable[Diagnostic]:
    # The file shape's own keys (resources, code, image) are known too.
    shaped = {k: v for k, v in data.items() if k not in ("resources", "code", "image")}
    yield from spelling_warnings(shaped, Algorithm, src, where="algorithm")


def _node_views(raw_nodes: Any) -> list[checks.NodeView]:
    views: list[checks.NodeView] = []
    if not isinstance(raw_nodes, list):
        return views
    for i, raw in enumerate(raw_nodes):
        if not isinstance(raw, dict):
            continue
        name = raw.get("nodeName")
        kind = raw.get("kind", "algorithm")
        algorithm = raw.get("algorithmName")
        raw_input = raw.get("input", [])
        views.append(checks.NodeView(
            position=i,
            name=_name(name),
            kind=kind if isinstance(kind, str) else "algorithm",
            algorithm=_name(algorithm),
            parsed=parse_input(raw_input if isinstance(raw_input, list) else []),
        ))
    return views


def _name(value: Any) -> str | None:
    """A name as the model reads it: strings, and numbers turned into strings (ajv's
    coerceTypes); anything else is left to the model's own error."""
    if isinstance(value, bool) or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return Node.model_validate({"nodeName": value}).node_name
    return None


def _edge_views(raw_edges: Any) -> list[checks.EdgeView]:
    if not isinstance(raw_edges, list):
        return []
    return [checks.EdgeView(i, _name(e.get("source")), _name(e.get("target")))
            for i, e in enumerate(raw_edges) if isinstance(e, dict)]


def _pipeline_warnings(data: dict[str, Any], src: Source) -> Iterable[Diagnostic]:
    yield from spelling_warnings(data, Pipeline, src)
    yield from spelling_warnings(data.get("options"), Options, src, ("options",), "options")
    nodes = data.get("nodes")
    for i, node in enumerate(nodes if isinstance(nodes, list) else []):
        yield from spelling_warnings(node, Node, src, ("nodes", i), "node")
        if isinstance(node, dict) and "includeInResult" in node:
            yield src.diag("HKube ignores includeInResult (singular); hkube2argo honours it like "
                           "includeInResults", ("nodes", i, "includeInResult"), "warning")


def _cron_errors(data: dict[str, Any], src: Source) -> Iterable[Diagnostic]:
    triggers = data.get("triggers")
    cron_trigger = triggers.get("cron") if isinstance(triggers, dict) else None
    pattern = cron_trigger.get("pattern") if isinstance(cron_trigger, dict) else None
    if isinstance(pattern, str) and pattern:
        try:
            to_argo(pattern)
        except CronError as exc:
            yield src.diag(str(exc), ("triggers", "cron", "pattern"))


def validate_descriptor(desc: Descriptor, algorithms: Catalog | None = None, *,
                        check_flow_input: bool = True, triggered_runs: bool = False) -> Validated:
    """One pipeline descriptor through models, graph checks and, if clean, the planner.

    ``triggered_runs``: check the pipeline for the runs its ``triggers.pipelines`` start
    (compile does): those get ``flowInput.parent`` at run time, so ``@flowInput.parent...``
    paths are not looked up in the stored flowInput."""
    src = desc.source
    data = desc.data
    if not isinstance(data, dict):
        return Validated(src, None, [src.diag("a pipeline descriptor must be an object")])
    problem = first_problem(data)
    if problem is not None:
        return Validated(src, None, [src.diag(problem[1], problem[0])])
    pipeline, diags = _model_errors(Pipeline, data, src)
    diags.extend(_pipeline_warnings(data, src))
    if data.get("kind") == "stream":
        diags.append(src.diag("stream pipelines are not supported yet (kind: stream)", ("kind",)))
    elif data.get("streaming") is not None:
        diags.append(src.diag("streaming flow is only allowed in stream pipelines, which "
                              "hkube2argo does not support yet", ("streaming",)))
    diags.extend(_cron_errors(data, src))
    views = _node_views(data.get("nodes"))
    edges = _edge_views(data.get("edges"))
    options = data.get("options") if isinstance(data.get("options"), dict) else {}
    triggers = data.get("triggers") if isinstance(data.get("triggers"), dict) else {}
    findings, deps = checks.run_all(
        views, edges, flow_input=data.get("flowInput"), check_flow_input=check_flow_input,
        algorithms=algorithms.specs if algorithms is not None else None,
        broken=algorithms.broken if algorithms is not None else (),
        debug_override=options.get("debugOverride"),
        triggered=triggered_runs and bool(triggers.get("pipelines")),
        has_parents=bool(triggers.get("pipelines")))
    diags.extend(src.diag(f.message, f.loc, f.severity) for f in findings)
    diags.sort(key=lambda d: (d.severity != "error", d.line or 0))
    if pipeline is None or any(d.severity == "error" for d in diags):
        return Validated(src, None, diags)
    specs = algorithms.specs if algorithms is not None else {}
    plan = build_plan(pipeline, views, deps, specs, src.file)
    return Validated(src, plan, diags)


def validate_with_algorithms(desc: Descriptor, algorithms: Catalog | None, *,
                             check_flow_input: bool = True,
                             triggered_runs: bool = False) -> Validated:
    """``validate_descriptor`` plus the algorithm files' problems as this pipeline sees
    them (``Catalog.judged_for``): only the algorithms it uses can fail it."""
    result = validate_descriptor(desc, algorithms, check_flow_input=check_flow_input,
                                 triggered_runs=triggered_runs)
    if algorithms is None:
        return result
    theirs = algorithms.judged_for(used_algorithms(desc.data))
    failed = any(d.severity == "error" for d in theirs)
    return Validated(result.source, None if failed else result.plan,
                     [*theirs, *result.diagnostics])


def validate_file(path: str | Path, algorithms: Catalog | None = None, *,
                  check_flow_input: bool = True, triggered_runs: bool = False) -> list[Validated]:
    """Every pipeline in a file; a file that cannot be read raises ValidationFailed."""
    return [validate_descriptor(d, algorithms, check_flow_input=check_flow_input,
                                triggered_runs=triggered_runs)
            for d in load_file(path)]


def plan_pipeline(path: str | Path, algorithm_paths: Sequence[str | Path] = (), *,
                  check_flow_input: bool = True, triggered_runs: bool = False) -> Plan:
    """The one plan in ``path``, or ValidationFailed with every error (library entry point)."""
    return plan_with_warnings(path, algorithm_paths, check_flow_input=check_flow_input,
                              triggered_runs=triggered_runs)[0]


def plan_with_warnings(path: str | Path, algorithm_paths: Sequence[str | Path] = (), *,
                       check_flow_input: bool = True, triggered_runs: bool = False) -> \
        tuple[Plan, list[Diagnostic]]:
    """``plan_pipeline`` and the warnings of the pipeline and algorithm files, which a
    command shows even when everything is valid."""
    catalog = load_algorithms(algorithm_paths) if algorithm_paths else None
    return plan_descriptor(one_pipeline(path), catalog, check_flow_input=check_flow_input,
                           triggered_runs=triggered_runs)


def one_pipeline(path: str | Path) -> Descriptor:
    """The single pipeline descriptor a file must hold."""
    descriptors = load_file(path)
    if len(descriptors) != 1:
        raise ValidationFailed([Diagnostic(f"expected one pipeline, the file holds "
                                           f"{len(descriptors)}", (), str(path))])
    return descriptors[0]


def plan_descriptor(desc: Descriptor, catalog: Catalog | None, *,
                    check_flow_input: bool = True,
                    triggered_runs: bool = False) -> tuple[Plan, list[Diagnostic]]:
    """One descriptor's plan and warnings, or ValidationFailed with every problem."""
    result = validate_with_algorithms(desc, catalog, check_flow_input=check_flow_input,
                                      triggered_runs=triggered_runs)
    if result.plan is None:
        raise ValidationFailed(result.diagnostics)
    return result.plan, result.warnings


