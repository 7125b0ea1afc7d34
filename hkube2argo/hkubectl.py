"""hkubectl's commands on hkube2argo: ``exec``, ``pipeline``, ``algorithm``, and ``graph``.

Same verbs and flags as hkubectl (its camelCase spellings are accepted too); output in
the shapes of HKube's REST API, as JSON (``-o yaml`` for YAML). The backend is Argo when
``ARGO_SERVER`` is set, else this machine (records in ``--state``, default
``.hkube2argo``). Every error is one line on stderr and exit status 1; descriptor
problems are printed as ``hkube2argo validate`` prints them.

``cli.py`` registers the groups: ``main.add_command(exec_group)`` and so on.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import yaml

from .backends.base import BackendError, NotFound
from .backends.records import TERMINAL
from .config import DEFAULT, DEFAULT_STATE
from .diagnostics import Diagnostic, ValidationFailed
from .loading import Descriptor, load_file, load_flow_input

# A verb imports the backend and the descriptor checks (pydantic models) when it runs, so
# `--help` and the other commands do not pay for them (tests/test_startup.py).
if TYPE_CHECKING:
    from .backends.base import Backend

F = TypeVar("F", bound=Callable[..., Any])
STATE_KEY = "hkube2argo.state"
CONTEXT = {"help_option_names": ["-h", "--help"]}


# --------------------------------------------------------------------------------- helpers


def _print_diagnostics(diags: list[Diagnostic]) -> None:
    """As ``hkube2argo validate`` prints them (``file:line: field.path: message``)."""
    for d in diags:
        click.echo(str(d), err=True)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _fail(message: str) -> None:
    click.echo(f"hkube2argo: {_one_line(message)}", err=True)
    sys.exit(1)


def _errors(func: F) -> F:
    """BackendError: one line, exit 1. ValidationFailed: every problem, exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationFailed as exc:
            _print_diagnostics(exc.diagnostics)
            click.echo(f"{len(exc.errors)} error(s)", err=True)
            sys.exit(1)
        except BackendError as exc:
            _fail(str(exc))
        except OSError as exc:  # the state folder cannot be written, and the like
            _fail(f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror or exc}")

    return wrapper  # type: ignore[return-value]


def _remember_state(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.meta[STATE_KEY] = value


def _group_state(func: F) -> F:
    return click.option(
        "--state", type=click.Path(file_okay=False, path_type=Path), envvar="HKUBE2ARGO_STATE",
        expose_value=False, callback=_remember_state, is_eager=True,
        help=f"Folder of the local records (no ARGO_SERVER) [{DEFAULT_STATE}; "
             "HKUBE2ARGO_STATE].")(func)


def _options(func: F, table: bool = False) -> F:
    """``--state`` (also accepted before the command) and the output format; a listing
    (``table``) prints a table unless a format is asked for."""
    func = click.option("--json", "as_json", is_flag=True,
                        help="JSON output (hkubectl's -j)" + ("." if table else
                                                              " (the default).")
                        )(func)
    func = click.option("-o", "--output", "fmt", type=click.Choice(["json", "yaml"]),
                        default="json", show_default=not table,
                        help="Output format [default: a table]." if table
                        else "Output format.")(func)
    return click.option(
        "--state", "state_dir", type=click.Path(file_okay=False, path_type=Path),
        help=f"Folder of the local records when ARGO_SERVER is not set [{DEFAULT_STATE}].",
    )(func)


def _backend(state_dir: Path | None) -> Backend:
    ctx = click.get_current_context()
    from .backends.select import backend_from_env

    state = state_dir or ctx.meta.get(STATE_KEY) or DEFAULT_STATE
    return backend_from_env(state, DEFAULT)


def _emit(value: Any, fmt: str, as_json: bool = False) -> None:
    if fmt == "yaml" and not as_json:
        click.echo(yaml.safe_dump(value, sort_keys=False, allow_unicode=True,
                                  explicit_start=True), nl=False)
    else:
        click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _one(path: Path, what: str) -> Descriptor:
    found = load_file(path)
    if len(found) != 1:
        raise ValidationFailed([Diagnostic(f"expected one {what}, the file holds {len(found)}",
                                           (), str(path))])
    if not isinstance(found[0].data, dict):
        raise ValidationFailed([found[0].source.diag(f"a {what} must be an object")])
    return found[0]


def _warnings(desc: Descriptor) -> None:
    """Spelling warnings (``algorithName``) before the backend sees the pipeline; its
    errors are the backend's to report."""
    from .validate import validate_descriptor

    result = validate_descriptor(desc, None, check_flow_input=False)
    _print_diagnostics(result.warnings)


def _follow(backend: Backend, job_id: str, no_wait: bool, no_result: bool, fmt: str,
            as_json: bool) -> None:
    """Unless --no-wait, poll the job's status until it ends (as hkubectl). Standard output
    gets one document that the standard parsers read: ``{jobId}`` with --no-wait or
    --no-result, else ``{jobId, result}``; the jobId is also said on stderr at once, so a
    person sees it while waiting. A job that did not complete exits 1."""
    if no_wait:
        _emit({"jobId": job_id}, fmt, as_json)
        return
    click.echo(f"job {job_id} submitted; following it (Ctrl-C stops following)", err=True)
    interval = float(getattr(backend, "poll_interval", 1.0))
    try:
        while True:
            status = backend.status(job_id)
            if status.get("status") in TERMINAL:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        _emit({"jobId": job_id}, fmt, as_json)
        click.echo(f"no longer following job {job_id}; it goes on "
                   f"(hkube2argo exec status {job_id})", err=True)
        sys.exit(130)
    if no_result:
        _emit({"jobId": job_id}, fmt, as_json)
    else:
        _emit({"jobId": job_id, "result": backend.result(job_id)}, fmt, as_json)
    if status["status"] != "completed":
        why = status.get("error") or status.get("reason") or ""
        where = f" at node {status['nodeName']}" if status.get("nodeName") else ""
        click.echo(_one_line(f"job {job_id} {status['status']}{where}"
                             f"{': ' + why if why else ''}"), err=True)
        sys.exit(1)


def _replaced(stored: dict[str, Any], given: dict[str, Any],
              exc: ValidationFailed) -> list[Diagnostic]:
    """Say so when a path the pipeline needs was in the stored flowInput: HKube replaces
    it with the given one, it does not merge them."""
    had = stored.get("flowInput") if isinstance(stored.get("flowInput"), dict) else {}
    out = []
    for diag in exc.errors:
        if not diag.message.startswith("unable to find flowInput."):
            continue
        path = diag.message[len("unable to find flowInput."):].split(":", 1)[0]
        value: Any = had
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            out.append(Diagnostic(
                f"flowInput.{path} is in the stored flowInput, but the given flowInput "
                "replaces the stored one whole (HKube's rule, no merge): give it too",
                diag.loc, diag.file, diag.line, severity="warning"))
    return out


def _table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _when(ms: Any) -> str:
    if not isinstance(ms, int | float):
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _listed(items: list[dict[str, Any]], fmt: str, as_json: bool, explicit: bool,
            header: list[str], row: Callable[[dict[str, Any]], list[str]]) -> None:
    if explicit or as_json:
        _emit(items, fmt, as_json)
    elif not items:
        click.echo("nothing stored", err=True)
    else:
        _table([row(i) for i in items], header)


def _output_given() -> bool:
    source = click.get_current_context().get_parameter_source("fmt")
    return source is not None and source.name != "DEFAULT"


# ------------------------------------------------------------------------------------ exec


@click.group("exec", context_settings=CONTEXT)
@_group_state
def exec_group() -> None:
    """Run pipelines and follow their jobs (hkubectl exec)."""


@exec_group.command("raw")
@click.option("-f", "--file", "file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The pipeline descriptor (YAML or JSON).")
@click.option("--no-wait", "--noWait", "no_wait", is_flag=True,
              help="Print the jobId and return; do not follow the job.")
@click.option("--no-result", "--noResult", "no_result", is_flag=True,
              help="Follow the job but do not print its result.")
@_options
@_errors
def exec_raw(file: Path, no_wait: bool, no_result: bool, state_dir: Path | None, fmt: str,
             as_json: bool) -> None:
    """Run a pipeline file (POST /exec/raw).

    Uses the stored algorithms. Prints the jobId, follows the job's status until it
    ends, then prints its result."""
    desc = _one(file, "pipeline descriptor")
    _warnings(desc)
    backend = _backend(state_dir)
    submitted = backend.exec_raw(desc.data, str(file))
    _follow(backend, submitted.job_id, no_wait, no_result, fmt, as_json)


@exec_group.command("stored")
@click.argument("name", required=False)
@click.option("-f", "--file", "file", type=click.Path(exists=True, dir_okay=False,
                                                      path_type=Path),
              help="YAML/JSON body; its flowInput REPLACES the stored one (HKube's rule), "
                   "and may name the pipeline.")
@click.option("--no-wait", "--noWait", "no_wait", is_flag=True,
              help="Print the jobId and return; do not follow the job.")
@click.option("--no-result", "--noResult", "no_result", is_flag=True,
              help="Follow the job but do not print its result.")
@_options
@_errors
def exec_stored(name: str | None, file: Path | None, no_wait: bool, no_result: bool,
                state_dir: Path | None, fmt: str, as_json: bool) -> None:
    """Run a stored pipeline (POST /exec/stored).

    A flowInput given with -f replaces the stored one entirely (HKube's rule). Prints
    the jobId, follows the job's status until it ends, then prints its result."""
    flow_input = None
    if file is not None:
        body = load_flow_input(file)
        name, flow_input = name or body.name, body.flow_input
        if body.ignored:
            click.echo(f"hkube2argo: -f {file}: only name and flowInput are used; ignored: "
                       f"{', '.join(body.ignored)}", err=True)
    if not name:
        raise click.UsageError("give the stored pipeline's NAME (or a -f file with name)")
    backend = _backend(state_dir)
    try:
        submitted = backend.exec_stored(name, flow_input)
    except ValidationFailed as exc:
        if flow_input is not None:
            exc.diagnostics.extend(_replaced(backend.get_pipeline(name), flow_input, exc))
        raise
    _follow(backend, submitted.job_id, no_wait, no_result, fmt, as_json)


@exec_group.command("status")
@click.argument("job_id", metavar="JOBID")
@_options
@_errors
def exec_status(job_id: str, state_dir: Path | None, fmt: str, as_json: bool) -> None:
    """A job's status and progress (GET /exec/status)."""
    _emit(_backend(state_dir).status(job_id), fmt, as_json)


@exec_group.command("result")
@click.argument("job_id", metavar="JOBID")
@_options
@_errors
def exec_result(job_id: str, state_dir: Path | None, fmt: str, as_json: bool) -> None:
    """A job's result (GET /exec/results).

    Before the job ends: HKube's error "unable to get results ... because its in
    <status> status"."""
    _emit(_backend(state_dir).result(job_id), fmt, as_json)


@exec_group.command("stop")
@click.argument("job_id", metavar="JOBID")
@click.argument("reason", required=False)
@_options
@_errors
def exec_stop(job_id: str, reason: str | None, state_dir: Path | None, fmt: str,
              as_json: bool) -> None:
    """Stop a job (POST /exec/stop), with a REASON.

    The job's runner and running tasks are killed; its status becomes stopped."""
    _emit(_backend(state_dir).stop(job_id, reason), fmt, as_json)


@exec_group.command("get")
@click.argument("job_id", metavar="JOBID")
@_options
@_errors
def exec_get(job_id: str, state_dir: Path | None, fmt: str, as_json: bool) -> None:
    """The pipeline a job ran (GET /exec/pipelines).

    With HKube's defaults filled in and the flowInput it got."""
    _emit(_backend(state_dir).get(job_id), fmt, as_json)


# -------------------------------------------------------------------------------- pipeline


@click.group("pipeline", context_settings=CONTEXT)
@_group_state
def pipeline_group() -> None:
    """Stored pipelines (hkubectl pipeline)."""


@pipeline_group.command("store")
@click.option("-f", "--file", "file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Pipeline descriptor(s), YAML or JSON.")
@_options
@_errors
def pipeline_store(file: Path, state_dir: Path | None, fmt: str, as_json: bool) -> None:
    """Store pipelines (POST /store/pipelines).

    Creates or updates each pipeline in FILE; the algorithms it names must be stored."""
    found = load_file(file)
    for desc in found:
        _warnings(desc)
    backend = _backend(state_dir)
    stored = [backend.store_pipeline(d.data, str(file)) for d in found]
    _emit(stored[0] if len(stored) == 1 else stored, fmt, as_json)
    if getattr(backend, "name", "") == "embedded":
        for pipeline in stored:
            cron = (pipeline.get("triggers") or {}).get("cron") or {}
            if cron.get("enabled"):
                click.echo(f"hkube2argo: note: {pipeline['name']}: triggers.cron fires only on "
                           "Argo (ARGO_SERVER); here, run it with exec stored", err=True)


@pipeline_group.command("get")
@click.argument("name", required=False)
@_options
@_errors
def pipeline_get(name: str | None, state_dir: Path | None, fmt: str, as_json: bool) -> None:
    """A stored pipeline, or all (GET /store/pipelines)."""
    backend = _backend(state_dir)
    _emit(backend.get_pipeline(name) if name else backend.list_pipelines(), fmt, as_json)


@pipeline_group.command("list")
@functools.partial(_options, table=True)
@_errors
def pipeline_list(state_dir: Path | None, fmt: str, as_json: bool) -> None:
    """The stored pipelines, as a table.

    With -o json|yaml (or --json): GET /store/pipelines."""
    _listed(_backend(state_dir).list_pipelines(), fmt, as_json, _output_given(),
            ["NAME", "NODES", "TRIGGERS", "MODIFIED"],
            lambda p: [str(p.get("name")), str(len(p.get("nodes") or [])),
                       ",".join(sorted((p.get("triggers") or {}).keys())) or "-",
                       _when(p.get("modified"))])


@pipeline_group.command("delete")
@click.argument("name")
@_options
@_errors
def pipeline_delete(name: str, state_dir: Path | None, fmt: str, as_json: bool) -> None:
    """Delete a stored pipeline (DELETE /store/pipelines)."""
    _emit(_backend(state_dir).delete_pipeline(name), fmt, as_json)


# ------------------------------------------------------------------------------- algorithm


@click.group("algorithm", context_settings=CONTEXT)
@_group_state
def algorithm_group() -> None:
    """Stored algorithms and their code (hkubectl algorithm)."""


@algorithm_group.command("apply")
@click.argument("name", required=False)
@click.option("-f", "--file", "file", type=click.Path(exists=True, dir_okay=False,
                                                      path_type=Path),
              help="Algorithm descriptor (hkubectl file shape or REST shape).")
@click.option("--code-path", "--codePath", "code_path",
              type=click.Path(exists=True, path_type=Path),
              help="The code: a folder, .zip or .tar.gz (packed and stored by content).")
@click.option("--entry-point", "--codeEntryPoint", "--entryPoint", "entry_point",
              help="The file the wrapper starts (e.g. main.py).")
@click.option("--env", type=click.Choice(["python", "nodejs"]),
              help="The code's language.")
@click.option("--image", help="A container image instead of code (runs only on Argo).")
@click.option("--cpu", type=float, help="Cores (e.g. 0.5).")
@click.option("--mem", help="Memory with a unit (e.g. 512Mi).")
@click.option("--gpu", type=float, help="GPUs.")
@click.option("--build", is_flag=True,
              help="Also build the algorithm's image from its code on Argo (kaniko) and push "
                   "it to --registry; compiles use it once the build has succeeded.")
@click.option("--forceBuild", "--force-build", "force_build", is_flag=True,
              help="With --build: build even when this code and recipe were built already.")
@click.option("--registry", envvar="HKUBE2ARGO_REGISTRY", metavar="HOST/NAMESPACE",
              help="Where --build pushes <registry>/<algorithm>:<version>: the chart's "
                   "registry.registry/registry.namespace, e.g. registry.example.com/my-team "
                   "or docker.io/my-user [HKUBE2ARGO_REGISTRY].")
@_options
@_errors
def algorithm_apply(name: str | None, file: Path | None, code_path: Path | None,
                    entry_point: str | None, env: str | None, image: str | None,
                    cpu: float | None, mem: str | None, gpu: float | None, build: bool,
                    force_build: bool, registry: str | None,
                    state_dir: Path | None, fmt: str, as_json: bool) -> None:
    """Store an algorithm (POST /store/algorithms/apply).

    Creates or updates it from FILE and/or the flags, which win over the file. Code (a
    folder, .zip or .tar.gz) is packed and stored under its content key.

    With --build (Argo only), an Argo Workflow builds the algorithm's image from the
    code (requirements.txt or package.json installed, or dependencyInstallCmd run) and
    pushes it to --registry with the registry Secret of the chart. `algorithm get NAME`
    shows the build's status; once it has succeeded, compiles (exec raw, pipeline store)
    run the algorithm from that image. A pipeline stored before must be stored again."""
    if force_build and not build:
        raise click.UsageError("--forceBuild goes with --build")
    flags = {"name": name, "env": env, "entryPoint": entry_point, "algorithmImage": image,
             "cpu": cpu, "mem": mem, "gpu": gpu,
             "codePath": str(code_path.resolve()) if code_path else None}
    flags = {k: v for k, v in flags.items() if v is not None}
    if file is None and not name:
        raise click.UsageError("give -f FILE, or NAME with flags such as --code-path")
    found = load_file(file) if file is not None else []
    if len(found) > 1 and flags:
        raise click.UsageError("NAME and flags apply to one algorithm; FILE holds "
                               f"{len(found)}")
    source = str(file) if file is not None else "<command line>"
    bodies: list[Any] = [d.data for d in found] or [{}]
    backend = _backend(state_dir)
    answers = []
    for body in bodies:
        if flags and isinstance(body, dict):
            from .models.algorithm import fold_file_shape

            folded, _moved, problems = fold_file_shape(body)
            if problems:
                raise ValidationFailed([Diagnostic(msg, loc, source) for loc, msg in problems])
            if "codePath" in folded and file is not None and "codePath" not in flags:
                folded["codePath"] = str((file.parent / folded["codePath"]).resolve())
            body = {**folded, **flags}
        try:
            if build:
                if "build" not in inspect.signature(backend.apply_algorithm).parameters:
                    raise BackendError(f"the {backend.name} backend cannot build images")
                answers.append(backend.apply_algorithm(  # type: ignore[call-arg]
                    body, source, build=True, registry=registry, force_build=force_build))
            else:
                answers.append(backend.apply_algorithm(body, source))
        except ValidationFailed as exc:
            raise ValidationFailed([_as_flags(d, flags, file is None)
                                    for d in exc.diagnostics]) from None
    _emit(answers[0] if len(answers) == 1 else answers, fmt, as_json)


# descriptor field -> the flag that sets it, and how messages name that field
FLAGS = {"name": ("NAME", ()), "algorithmImage": ("--image", ("algorithmImage (or image)",
                                                               "algorithmImage")),
         "codePath": ("--code-path", ("code.path", "codePath")),
         "entryPoint": ("--entry-point", ("code.entryPoint", "entryPoint")),
         "env": ("--env", ()), "cpu": ("--cpu", ()), "mem": ("--mem", ()), "gpu": ("--gpu", ())}


def _as_flags(diag: Diagnostic, flags: dict[str, Any], no_file: bool) -> Diagnostic:
    """Errors in the words the user typed: a field set by a flag (or, with no file, any
    field a flag could have set) is named by its flag, not by the descriptor's key."""
    field = diag.loc[0] if diag.loc else None
    if not isinstance(field, str) or field not in FLAGS or not (no_file or field in flags):
        return diag
    flag, spellings = FLAGS[field]
    message = diag.message
    for spelling in spellings:
        message = message.replace(spelling, flag)
    if no_file:  # the other fields a flag sets are named as flags too
        for other, (other_flag, other_spellings) in FLAGS.items():
            if other != field:
                for spelling in other_spellings:
                    message = message.replace(spelling, other_flag)
    return dataclasses.replace(diag, loc=(flag, *diag.loc[1:]), message=message)


@algorithm_group.command("get")
@click.argument("name", required=False)
@_options
@_errors
def algorithm_get(name: str | None, state_dir: Path | None, fmt: str, as_json: bool) -> None:
    """A stored algorithm, or all (GET /store/algorithms)."""
    backend = _backend(state_dir)
    _emit(backend.get_algorithm(name) if name else backend.list_algorithms(), fmt, as_json)


@algorithm_group.command("list")
@functools.partial(_options, table=True)
@_errors
def algorithm_list(state_dir: Path | None, fmt: str, as_json: bool) -> None:
    """The stored algorithms, as a table.

    With -o json|yaml (or --json): GET /store/algorithms."""
    _listed(_backend(state_dir).list_algorithms(), fmt, as_json, _output_given(),
            ["NAME", "TYPE", "ENV", "CPU", "MEM", "GPU", "VERSION"],
            lambda a: [str(a.get("name")), str(a.get("type") or "-"), str(a.get("env") or "-"),
                       f"{a.get('cpu', '-')}", str(a.get("mem") or "-"),
                       f"{a.get('gpu', '-')}", str(a.get("version") or "-")])


@algorithm_group.command("delete")
@click.argument("name")
@click.option("--force", is_flag=True,
              help="Delete even when stored pipelines use it.")
@_options
@_errors
def algorithm_delete(name: str, force: bool, state_dir: Path | None, fmt: str,
                     as_json: bool) -> None:
    """Delete a stored algorithm (DELETE /store/algorithms)."""
    backend = _backend(state_dir)
    if force and "force" in inspect.signature(backend.delete_algorithm).parameters:
        answer = backend.delete_algorithm(name, force=True)  # type: ignore[call-arg]
    else:  # a backend without the option never refuses
        answer = backend.delete_algorithm(name)
    _emit(answer, fmt, as_json)


# ----------------------------------------------------------------------------------- graph


@click.command("graph", context_settings=CONTEXT)
@click.argument("pipeline")
@click.option("-a", "--algorithms", "algorithm_paths", multiple=True,
              type=click.Path(path_type=Path),
              help="Algorithm file or folder (repeatable; optional, checks the names).")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot", "svg"]),
              default="mermaid", show_default=True,
              help="Mermaid and DOT always; SVG needs Graphviz's dot program.")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of stdout.")
@click.option("--state", "state_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where stored pipelines are kept, for a PIPELINE that is a stored name "
                   f"[{DEFAULT_STATE}].")
@_errors
def graph_command(pipeline: str, algorithm_paths: tuple[Path, ...], fmt: str,
                  out: Path | None, state_dir: Path | None) -> None:
    """Draw a pipeline's DAG (Mermaid, DOT or SVG).

    PIPELINE is a descriptor file or the name of a stored pipeline. Batch nodes, fan-ins,
    wait-any and ordering edges and triggers are each drawn their own way."""
    from . import picture
    from .backends.select import backend_from_env
    from .loading import Source
    from .validate import load_algorithms, plan_pipeline, validate_with_algorithms

    if Path(pipeline).is_file():
        plan = plan_pipeline(pipeline, list(algorithm_paths), check_flow_input=False)
    else:
        try:
            stored = backend_from_env(state_dir or DEFAULT_STATE, DEFAULT).get_pipeline(
                pipeline)
        except NotFound:
            raise BackendError(f"{pipeline}: no such file, and no stored pipeline of that "
                               "name") from None
        catalog = load_algorithms(list(algorithm_paths)) if algorithm_paths else None
        result = validate_with_algorithms(
            Descriptor(stored, Source(f"stored pipeline {pipeline}")), catalog,
            check_flow_input=False)
        if result.plan is None:
            raise ValidationFailed(result.diagnostics)
        plan = result.plan
    try:
        text = {"mermaid": picture.mermaid, "dot": picture.dot, "svg": picture.svg}[fmt](plan)
    except picture.NoGraphviz as exc:
        raise BackendError(str(exc)) from None
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)


COMMANDS = (exec_group, pipeline_group, algorithm_group, graph_command)
