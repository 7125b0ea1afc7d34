"""The Python API: what the command line does, for notebooks and other tools.

Pipelines and algorithms are given as descriptor files (YAML or JSON), folders of
algorithm files, or plain dicts in either of HKube's shapes. Bad descriptors raise
:class:`ValidationFailed`, whose ``diagnostics`` hold every problem (``str(exc)`` lists
them as ``file:line: field.path: message``); what a backend refuses (unknown jobId,
server unreachable...) raises :class:`BackendError`.

Example::

    from hkube2argo import api

    plan = api.validate("examples/numbers/numbers.yaml", "examples/numbers/algorithms")
    print(api.graph(plan))                      # Mermaid; "dot" and "svg" too

    doc = api.run("examples/numbers/numbers.yaml", "examples/numbers/algorithms",
                  flow_input={"data": 10, "mul": 3})
    doc["data"][0]["result"]                    # 135: HKube's /exec/results document

    # hkubectl's verbs: stored algorithms and pipelines, jobs followed by id. On Argo when
    # ARGO_SERVER is set, else on this machine (records in ``state``).
    for name in ("range", "multiply", "reduce"):
        api.apply_algorithm(f"examples/numbers/algorithms/{name}.yaml")
    api.store_pipeline("examples/numbers/numbers.yaml")
    job = api.submit_stored("numbers", {"data": 3, "mul": 5})
    api.status(job)["data"]["progress"]
    api.wait(job)["data"]                       # the result, once the job has ended

``compile`` gives the Argo manifests as dicts (WorkflowTemplate, Workflow, and
CronWorkflow, EventSource, Sensor for pipelines with triggers).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .backends.base import Backend, BackendError, NotFound
from .backends.embedded import TERMINAL, absolute_code_path
from .backends.select import backend_from_env
from .config import DEFAULT, ClusterConfig
from .diagnostics import Diagnostic, ValidationFailed
from .loading import Descriptor, Source, load_file
from .plan import Plan
from .runner.run import DEFAULT_STATE, Runner, StorageSpec
from .validate import load_algorithms, validate_with_algorithms

__all__ = [
    "BackendError", "NotFound", "Plan", "ValidationFailed", "apply_algorithm", "backend",
    "compile", "graph", "load", "load_all", "result", "run", "status", "stop",
    "store_pipeline", "submit", "submit_stored", "validate", "wait",
]

PathLike = str | os.PathLike[str]
PipelineLike = PathLike | Mapping[str, Any]
AlgorithmsLike = PathLike | Mapping[str, Any] | Sequence[PathLike | Mapping[str, Any]]


# ------------------------------------------------------------------------------- loading


def load_all(path: PathLike) -> list[Any]:
    """Every descriptor in a YAML or JSON file, as plain JSON values (HKube's js-yaml
    reading: ``on``/``yes`` stay strings, dates stay strings)."""
    return [d.data for d in load_file(path)]


def load(path: PathLike) -> dict[str, Any]:
    """The one descriptor in a file, as a dict."""
    found = load_file(path)
    if len(found) != 1 or not isinstance(found[0].data, dict):
        raise ValidationFailed([Diagnostic(
            f"expected one descriptor object, the file holds {len(found)} descriptor(s) "
            "(use load_all)", (), str(path))])
    return found[0].data  # type: ignore[no-any-return]


class _Given(Source):
    """The source of a descriptor given as a dict: its name is a label, never a path."""


def _pipeline(pipeline: PipelineLike) -> Descriptor:
    if isinstance(pipeline, Mapping):
        name = pipeline.get("name")
        label = f"<{name[:64]}>" if isinstance(name, str) else "<descriptor>"
        return Descriptor(dict(pipeline), _Given(label))
    found = load_file(pipeline)
    if len(found) != 1:
        raise ValidationFailed([Diagnostic(f"expected one descriptor, the file holds "
                                           f"{len(found)}", (), os.fspath(pipeline))])
    return found[0]


@contextlib.contextmanager
def _algorithm_paths(algorithms: AlgorithmsLike | None) -> Iterator[list[Path]]:
    """Paths for the catalogue; dicts are written to a temporary folder meanwhile (their
    code paths read from the current folder)."""
    if algorithms is None:
        items: list[Any] = []
    elif isinstance(algorithms, str | os.PathLike | Mapping):
        items = [algorithms]
    else:
        items = list(algorithms)
    with tempfile.TemporaryDirectory(prefix="h2a-api-") as tmp:
        paths = []
        for i, item in enumerate(items):
            if isinstance(item, Mapping):
                path = Path(tmp) / f"algorithm-{i}.json"
                path.write_text(json.dumps(absolute_code_path(dict(item), Path.cwd())),
                                encoding="utf-8")
                paths.append(path)
            else:
                paths.append(Path(item))
        yield paths


@contextlib.contextmanager
def _pipeline_file(desc: Descriptor) -> Iterator[Path]:
    """The pipeline as a file, for the stages that read files."""
    if not isinstance(desc.source, _Given) and not desc.source.base \
            and Path(desc.source.file).is_file():
        yield Path(desc.source.file)
        return
    with tempfile.TemporaryDirectory(prefix="h2a-api-") as tmp:
        path = Path(tmp) / "pipeline.json"
        path.write_text(json.dumps(desc.data), encoding="utf-8")
        yield path


def _plan(desc: Descriptor, paths: Sequence[Path], *, check_flow_input: bool = True,
          triggered_runs: bool = False) -> Plan:
    catalog = load_algorithms(list(paths)) if paths else None
    result = validate_with_algorithms(desc, catalog, check_flow_input=check_flow_input,
                                      triggered_runs=triggered_runs)
    if result.plan is None:
        raise ValidationFailed(result.diagnostics)
    return result.plan


# ------------------------------------------------------------------------------- stages


def validate(pipeline: PipelineLike, algorithms: AlgorithmsLike | None = None, *,
             check_flow_input: bool = True) -> Plan:
    """The pipeline's plan, or :class:`ValidationFailed` with every problem. Without
    ``algorithms`` the algorithm names are not checked (``hkube2argo validate``)."""
    with _algorithm_paths(algorithms) as paths:
        return _plan(_pipeline(pipeline), paths, check_flow_input=check_flow_input)


def compile(pipeline: PipelineLike, algorithms: AlgorithmsLike,
            config: ClusterConfig | None = None) -> list[dict[str, Any]]:
    """The Argo manifests ``hkube2argo compile`` writes, as dicts."""
    from .compiler import compile_file

    desc = _pipeline(pipeline)
    with _algorithm_paths(algorithms) as paths, _pipeline_file(desc) as path:
        # messages name the caller's pipeline; a flowInput that comes at run time leaves
        # out the raw-run Workflow (compile_file), as on the command line
        _plan(desc, paths, triggered_runs=True, check_flow_input=False)
        output = compile_file(path, paths, config or DEFAULT)
    return copy.deepcopy(output.documents())


def run(pipeline: PipelineLike, algorithms: AlgorithmsLike,
        flow_input: Mapping[str, Any] | None = None, *, state: PathLike = DEFAULT_STATE,
        workers: int | None = None) -> dict[str, Any]:
    """Run here, as ``hkube2argo run`` (waits); HKube's ``/exec/results`` document.
    A given ``flow_input`` replaces the pipeline's. A failed run is a document too:
    ``status`` is ``failed``, with ``error`` and ``nodeName``."""
    desc = _pipeline(pipeline)
    given = dict(flow_input) if flow_input is not None else None
    with _algorithm_paths(algorithms) as paths:
        checked = desc
        if given is not None and isinstance(desc.data, dict):
            checked = Descriptor({**desc.data, "flowInput": given}, desc.source)
        _plan(checked, paths)
        with _pipeline_file(desc) as path:
            result = Runner(Path(state), workers).start(path, paths, StorageSpec(),
                                                        flow_input=given)
    return result.document


def graph(pipeline: PipelineLike | Plan, format: str = "mermaid",
          algorithms: AlgorithmsLike | None = None) -> str:
    """The DAG drawn as ``mermaid``, ``dot`` or ``svg`` text (SVG needs Graphviz's
    ``dot``; :class:`hkube2argo.picture.NoGraphviz` otherwise)."""
    from . import picture

    plan = pipeline if isinstance(pipeline, Plan) else validate(pipeline, algorithms,
                                                                check_flow_input=False)
    draw = {"mermaid": picture.mermaid, "dot": picture.dot, "svg": picture.svg}
    if format not in draw:
        raise ValueError(f"format must be one of {', '.join(draw)}, not {format!r}")
    return draw[format](plan)


# ------------------------------------------------------------------------------ backends


def backend(state: PathLike = DEFAULT_STATE, config: ClusterConfig | None = None,
            environ: Mapping[str, str] | None = None) -> Backend:
    """Argo when ``ARGO_SERVER`` is set in ``environ`` (default: this process's
    environment), else the embedded backend with its records in ``state``."""
    return backend_from_env(Path(state), config or DEFAULT,
                            os.environ if environ is None else environ)


def _source(pipeline: PipelineLike) -> tuple[dict[str, Any], str]:
    desc = _pipeline(pipeline)
    if not isinstance(desc.data, dict):
        raise ValidationFailed([desc.source.diag("a descriptor must be an object")])
    return desc.data, desc.source.file


def apply_algorithm(algorithm: PipelineLike, *, state: PathLike = DEFAULT_STATE,
                    environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``hkube2argo algorithm apply -f FILE`` (a file or a dict)."""
    data, source = _source(algorithm)
    if isinstance(algorithm, Mapping):  # code paths of a dict: from the current folder
        data = absolute_code_path(data, Path.cwd())
    return backend(state, environ=environ).apply_algorithm(data, source)


def store_pipeline(pipeline: PipelineLike, *, state: PathLike = DEFAULT_STATE,
                   environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``hkube2argo pipeline store -f FILE`` (a file or a dict)."""
    data, source = _source(pipeline)
    return backend(state, environ=environ).store_pipeline(data, source)


def submit(pipeline: PipelineLike, *, state: PathLike = DEFAULT_STATE,
           environ: Mapping[str, str] | None = None) -> str:
    """``exec raw --no-wait``: start the pipeline with the stored algorithms; its jobId."""
    data, source = _source(pipeline)
    return backend(state, environ=environ).exec_raw(data, source).job_id


def submit_stored(name: str, flow_input: Mapping[str, Any] | None = None, *,
                  state: PathLike = DEFAULT_STATE,
                  environ: Mapping[str, str] | None = None) -> str:
    """``exec stored --no-wait``: a given flowInput replaces the stored one; the jobId."""
    given = dict(flow_input) if flow_input is not None else None
    return backend(state, environ=environ).exec_stored(name, given).job_id


def status(job_id: str, *, state: PathLike = DEFAULT_STATE,
           environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """HKube's ``/exec/status`` object: ``status``, ``data.progress``, ``data.states``."""
    return backend(state, environ=environ).status(job_id)


def result(job_id: str, *, state: PathLike = DEFAULT_STATE,
           environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """HKube's ``/exec/results`` document; :class:`BackendError` while the job runs."""
    return backend(state, environ=environ).result(job_id)


def stop(job_id: str, reason: str | None = None, *, state: PathLike = DEFAULT_STATE,
         environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Stop a pending or active job."""
    return backend(state, environ=environ).stop(job_id, reason)


def wait(job_id: str, timeout: float | None = None, *, state: PathLike = DEFAULT_STATE,
         environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Poll the job's status until it ends; its result document. :class:`TimeoutError`
    after ``timeout`` seconds (the job goes on)."""
    chosen = backend(state, environ=environ)
    interval = float(getattr(chosen, "poll_interval", 1.0))
    deadline = None if timeout is None else time.monotonic() + timeout
    while chosen.status(job_id).get("status") not in TERMINAL:
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still runs after {timeout:g} s")
        time.sleep(interval)
    return chosen.result(job_id)
