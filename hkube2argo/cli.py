"""The ``hkube2argo`` command line: thin, all work is in the stages it calls."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import __version__
from .config import DEFAULT, POD_GC, ClusterConfig
from .diagnostics import Diagnostic, ValidationFailed
from .hkubectl import algorithm_group, exec_group, graph_command, pipeline_group

# Each command imports what it uses when it runs: `--help`, `validate` and the hkubectl
# verbs need neither the compiler, the schema lint (jsonschema) nor the runner
# (tests/test_startup.py guards this; bench/startup.py measures it).
if TYPE_CHECKING:
    from .lint import argo
    from .plan import Plan
    from .runner.run import Runner, RunResult, StorageSpec
    from .validate import Catalog


def _print_diagnostics(diags: list[Diagnostic]) -> None:
    for d in diags:
        click.echo(str(d), err=True)


def _summary(plan: Plan, catalog: Catalog | None) -> str:
    batch = [n.name for n in plan.nodes if n.batch is not None]
    waits = [n.name for n in plan.nodes if n.wait_any]
    lines = [
        f"{plan.source}: pipeline '{plan.name}' is valid",
        f"  nodes ({len(plan.nodes)}, run order): {' -> '.join(n.name for n in plan.nodes)}",
    ]
    if batch:
        lines.append(f"  batch nodes: {', '.join(batch)}")
    if waits:
        lines.append(f"  wait-any nodes: {', '.join(waits)}")
    lines.append(f"  results: {', '.join(plan.results)}")
    if catalog is None:
        lines.append("  algorithms: not checked (give -a FILE|FOLDER)")
    else:
        lines.append(f"  algorithms: {', '.join(a.name for a in plan.algorithms) or 'none'}")
    return "\n".join(lines)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hkube2argo")
def main() -> None:
    """Run HKube pipelines on Argo Workflows."""


@main.command()
@click.argument("pipeline", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-a", "--algorithms", "algorithm_paths", multiple=True,
              type=click.Path(path_type=Path),
              help="Algorithm descriptor file or folder (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--no-flow-input-check", is_flag=True,
              help="Do not require @flowInput paths to exist (a stored pipeline that gets its "
                   "flowInput at run time).")
def validate(pipeline: Path, algorithm_paths: tuple[Path, ...], as_json: bool,
             no_flow_input_check: bool) -> None:
    """Check PIPELINE (and its algorithms); print every problem, or a summary."""
    from .loading import load_file
    from .validate import load_algorithms, validate_with_algorithms

    catalog = load_algorithms(list(algorithm_paths)) if algorithm_paths else None
    diags: list[Diagnostic] = []
    try:
        descriptors = load_file(pipeline)
    except ValidationFailed as exc:
        descriptors = []
        diags.extend(exc.diagnostics)
    # each pipeline sees the algorithm files' problems as they concern it (only the
    # algorithms it uses can fail it); a file of several pipelines shows each problem once
    results = [validate_with_algorithms(d, catalog, check_flow_input=not no_flow_input_check)
               for d in descriptors]
    diags = list(dict.fromkeys([*diags, *(d for r in results for d in r.diagnostics)]))
    errors = [d for d in diags if d.severity == "error"]
    if as_json:
        if errors:
            click.echo(json.dumps({"errors": [d.to_dict() for d in errors]}, indent=2))
        else:
            plans = [r.plan.to_json() for r in results if r.plan is not None]
            click.echo(json.dumps(plans[0] if len(plans) == 1 else plans, indent=2))
        _print_diagnostics([d for d in diags if d.severity == "warning"])
        sys.exit(1 if errors else 0)
    _print_diagnostics(diags)
    if errors:
        click.echo(f"{len(errors)} error(s)", err=True)
        sys.exit(1)
    for r in results:
        assert r.plan is not None
        click.echo(_summary(r.plan, catalog))


def _timezone(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        from .emit.cron import check_timezone
        from .emit.templates import EmitError

        try:
            check_timezone(value)
        except EmitError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


def cluster_options(func):  # type: ignore[no-untyped-def]
    """What differs between clusters; defaults are the Helm chart's (hkube2argo.config)."""
    options = [
        click.option("--namespace", help="metadata.namespace of the manifests."),
        click.option("--service-account", "workflow_service_account",
                     help=f"Pods' service account [{DEFAULT.workflow_service_account}]."),
        click.option("--artifact-repository", "artifact_repository",
                     help="CONFIGMAP:KEY of the artifact repository "
                          f"[{DEFAULT.artifact_repository_configmap}:"
                          f"{DEFAULT.artifact_repository_key}]."),
        click.option("--key-prefix", help=f"Object key prefix [{DEFAULT.key_prefix}]."),
        click.option("--bucket", help=f"Bucket (for runs and uploads) [{DEFAULT.bucket}]."),
        click.option("--python-image", help=f"Runtime image [{DEFAULT.python_image}]."),
        click.option("--nodejs-image", help=f"Node.js runtime image [{DEFAULT.nodejs_image}]."),
        click.option("--image-pull-policy", type=click.Choice(["Always", "IfNotPresent",
                                                               "Never"]),
                     help="imagePullPolicy of every container "
                          f"[{DEFAULT.image_pull_policy}]."),
        click.option("--limit-factor", type=click.FloatRange(min=0),
                     help="Limits = factor x requests; 0 sets no limits [2]."),
        click.option("--timezone", callback=_timezone,
                     help="IANA time zone of triggers.cron schedules (CronWorkflow "
                          f"spec.timezone) [{DEFAULT.timezone}]."),
        click.option("--pod-gc", type=click.Choice(list(POD_GC)),
                     help="When Argo deletes a run's pods (podGC.strategy); Never keeps "
                          f"them, with their logs [{DEFAULT.pod_gc}]."),
        click.option("--workflow-ttl", type=click.IntRange(min=0), metavar="SECONDS",
                     help="Delete a finished run this long after it ended "
                          "(ttlStrategy.secondsAfterCompletion); 0 keeps it "
                          f"[{DEFAULT.workflow_ttl}, 7 days]."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def cluster_config(artifact_repository: str | None = None, **values: object) -> ClusterConfig:
    if artifact_repository:
        configmap, _, key = artifact_repository.partition(":")
        if not configmap or not key:
            raise click.BadParameter("use CONFIGMAP:KEY", param_hint="--artifact-repository")
        values.update(artifact_repository_configmap=configmap, artifact_repository_key=key)
    try:
        return DEFAULT.with_overrides(**values)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--limit-factor") from None


@main.command(name="compile")
@click.argument("pipeline", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-a", "--algorithms", "algorithm_paths", multiple=True, required=True,
              type=click.Path(path_type=Path), help="Algorithm file or folder (repeatable).")
@click.option("-o", "--out", default="-", show_default=True,
              help="Folder for <name>.workflowtemplate.yaml and <name>.workflow.yaml (and, "
                   "with triggers, <name>.cronworkflow.yaml and <name>.triggers.yaml), or - "
                   "for one multi-document stream on stdout.")
@click.option("--check-argo", is_flag=True,
              help="Validate the manifests with Argo's own code (the argocheck binary built "
                   "from tools/argocheck) before writing them; nothing is written if it fails.")
@cluster_options
def compile_command(pipeline: Path, algorithm_paths: tuple[Path, ...], out: str,
                    check_argo: bool, **options: object) -> None:
    """Compile PIPELINE into an Argo WorkflowTemplate and Workflow; triggers.cron adds a
    CronWorkflow, triggers.pipelines an Argo Events Sensor (on the chart's shared
    EventSource)."""
    from .compiler import compile_file

    config = cluster_config(**options)  # type: ignore[arg-type]
    try:
        output = compile_file(pipeline, list(algorithm_paths), config)
    except ValidationFailed as exc:
        _print_diagnostics(exc.diagnostics)
        click.echo(f"{len(exc.errors)} error(s)", err=True)
        sys.exit(1)
    _print_diagnostics(list(output.warnings))
    if output.note():
        click.echo(output.note(), err=True)
    if check_argo:
        from .lint import argo

        report = _argo_check(lambda: argo.check_documents(
            output.manifests.documents(), name=str(pipeline), namespace=config.namespace))
        if not report.valid:
            click.echo(f"{len(report.problems)} problem(s) found by Argo's own validation; "
                       "nothing written", err=True)
            sys.exit(1)
    if out == "-":
        click.echo(output.text(), nl=False)
        return
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in output.files().items():
            (folder / name).write_text(text, encoding="utf-8")
            click.echo(f"wrote {folder / name}")
    except OSError as exc:
        raise click.BadParameter(_os_problem(exc, "cannot write"), param_hint="-o") from None


def _storage(storage: str | None, endpoint: str | None, secure: bool) -> StorageSpec:
    from .runner.run import StorageSpec

    if storage and storage.startswith("s3://"):
        if not endpoint:
            raise click.BadParameter("s3:// storage needs --endpoint HOST:PORT",
                                     param_hint="--storage")
        return StorageSpec(bucket=storage[5:].strip("/") or None, endpoint=endpoint,
                           secure=secure)
    return StorageSpec(folder=Path(storage) if storage else None)


def _os_problem(exc: OSError, what: str) -> str:
    where = f" {exc.filename}" if exc.filename else ""
    return f"{what}{where}: {exc.strerror or exc}"


def _writable_folder(folder: Path, option: str) -> None:
    """A folder the run writes into: made if missing; refused in words if it cannot be."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.BadParameter(_os_problem(exc, "cannot create"), param_hint=option) \
            from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise click.BadParameter(f"cannot write {folder}: permission denied",
                                 param_hint=option)


def _json_value(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _print_results(results: list[RunResult], fmt: str, chained: bool) -> None:
    """One parseable document: a run's result, or with --pipelines the list of every run's
    (the first, then those it triggered); YAML documents are separated by ``---``."""
    from . import serialize

    documents = [r.document for r in results]
    if fmt == "yaml":  # strings a YAML 1.1 reader would take for another type are quoted
        click.echo("".join(f"---\n{serialize.dump(d)}" for d in documents), nl=False)
    else:
        value = documents if chained else documents[0]
        click.echo(json.dumps(value, indent=2, ensure_ascii=False))


@main.command(name="run")
@click.argument("pipeline", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("-a", "--algorithms", "algorithm_paths", multiple=True,
              type=click.Path(path_type=Path), help="Algorithm file or folder (repeatable).")
@click.option("--flow-input", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A YAML/JSON file whose flowInput (or whole content) replaces the "
                   "pipeline's, as HKube's exec stored does.")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE",
              help="Set a top-level flowInput key (VALUE read as JSON when it parses).")
@click.option("--workers", type=click.IntRange(min=1),
              help="Tasks in parallel, 1 or more [number of cores].")
@click.option("--storage", help="A folder, or s3://BUCKET with --endpoint [.hkube2argo/storage].")
@click.option("--endpoint", help="S3 endpoint HOST:PORT (credentials from AWS_ACCESS_KEY_ID "
                                 "and AWS_SECRET_ACCESS_KEY).")
@click.option("--secure/--insecure", default=False, help="TLS to the S3 endpoint.")
@click.option("--state", "state_dir", type=click.Path(file_okay=False, path_type=Path),
              envvar="HKUBE2ARGO_STATE", default=Path(".hkube2argo"), show_default=True,
              help="Where jobs are kept (also HKUBE2ARGO_STATE).")
@click.option("--resume", "resume_job", metavar="JOBID",
              help="Continue a job that was interrupted; finished tasks are not run again.")
@click.option("--from-job", metavar="JOBID",
              help="With --nodes: rerun those nodes (and what depends on them), reusing that "
                   "job's results for the others.")
@click.option("--nodes", help="Comma-separated node names for --from-job.")
@click.option("--debug-node", metavar="NAME",
              help="Run this node's algorithm inside this process, so breakpoints work.")
@click.option("--pipelines", "pipelines_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of stored pipelines: when a run completes, the pipelines whose "
                   "triggers.pipelines name it run next, with flowInput.parent.")
@click.option("--cold", is_flag=True,
              help="Start a new Python process per task instead of forking warm workers.")
@click.option("-o", "--output", "fmt", type=click.Choice(["json", "yaml"]), default="json",
              show_default=True, help="Format of the result document on stdout.")
def run_command(pipeline: Path | None, algorithm_paths: tuple[Path, ...],
                flow_input: Path | None, params: tuple[str, ...], workers: int | None,
                storage: str | None, endpoint: str | None, secure: bool, state_dir: Path,
                resume_job: str | None, from_job: str | None, nodes: str | None,
                debug_node: str | None, pipelines_dir: Path | None, cold: bool,
                fmt: str) -> None:
    """Run PIPELINE here, with no cluster: compile it, then execute the compiled Workflow
    with the same runtime wrapper as on Argo. Prints HKube's result document."""
    from .loading import load_flow_input
    from .runner.progress import Progress
    from .runner.run import Interrupted, RunError, Runner

    overrides: dict[str, object] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: use KEY=VALUE", param_hint="-p")
        overrides[key] = _json_value(value)
    given = None
    if flow_input is not None:
        try:
            given = load_flow_input(flow_input).flow_input
        except ValidationFailed as exc:
            _print_diagnostics(exc.diagnostics)
            click.echo(f"{len(exc.errors)} error(s)", err=True)
            sys.exit(1)
    if bool(from_job) != bool(nodes):
        raise click.UsageError("--from-job and --nodes go together")
    _writable_folder(state_dir, "--state")
    if storage and not storage.startswith("s3://"):
        _writable_folder(Path(storage), "--storage")
    progress = Progress()
    runner = Runner(state_dir, workers, on_event=progress, warm=not cold, debug_node=debug_node,
                    on_warnings=_print_diagnostics, on_job=progress.job)
    storage_spec = _storage(storage, endpoint, secure)
    results: list[RunResult] = []
    presses = []

    def on_ctrl_c(*_: object) -> None:
        """First Ctrl-C: stop within seconds, keeping what finished; second: at once."""
        presses.append(1)
        if len(presses) == 1:
            click.echo("\nstopping: tasks get SIGTERM, then SIGKILL after 3 s "
                       "(Ctrl-C again: at once)", err=True)
            runner.interrupt()
            return
        from .runner.executor import kill_running

        kill_running()
        os._exit(130)

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        if resume_job:
            result = runner.resume(resume_job)
            if result.already:
                click.echo(f"job {resume_job} had completed already: its stored result, "
                           "nothing run again", err=True)
        else:
            if pipeline is None or not algorithm_paths:
                raise click.UsageError("give PIPELINE and -a ALGORITHMS (or --resume JOBID)")
            rerun = [n.strip() for n in (nodes or "").split(",") if n.strip()]
            result = runner.start(pipeline, list(algorithm_paths), storage_spec, given,
                                  overrides, from_job=from_job, rerun=rerun)
        results.append(result)
        if pipelines_dir is not None:
            results += _run_triggered(runner, result, pipelines_dir, list(algorithm_paths),
                                      storage_spec)
    except ValidationFailed as exc:
        _print_diagnostics(exc.diagnostics)
        click.echo(f"{len(exc.errors)} error(s)", err=True)
        sys.exit(1)
    except RunError as exc:
        click.echo(f"hkube2argo run: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:  # the state or storage folder became unusable meanwhile
        click.echo(f"hkube2argo run: {_os_problem(exc, 'cannot use')}", err=True)
        sys.exit(2)
    except Interrupted as exc:
        progress.close()
        click.echo(f"interrupted: resume with hkube2argo run --resume {exc.job_id}"
                   + (f" --state {state_dir}" if state_dir != Path(".hkube2argo") else ""),
                   err=True)
        sys.exit(130)
    finally:
        signal.signal(signal.SIGINT, previous)
        progress.close()
    failed = False
    _print_results(results, fmt, pipelines_dir is not None)
    for result in results:
        if result.status != "completed":
            failed = True
            click.echo(f"job {result.job_id} failed at node {result.node}: {result.error}",
                       err=True)
            if result.log_tail:
                click.echo("--- log tail ---\n" + result.log_tail, err=True)
        else:
            click.echo(f"job {result.job_id} completed ({result.folder})", err=True)
    if failed:
        sys.exit(1)


MAX_TRIGGERED = 100  # a trigger cycle (A starts B starts A) would never end, as in HKube


def _run_triggered(runner: Runner, first: RunResult, folder: Path,
                   algorithms: list[Path], storage: StorageSpec) -> list[RunResult]:
    """Each completed run starts the stored pipelines it triggers, breadth first."""
    from .runner.run import triggered_by

    done: list[RunResult] = []
    queue = [first]
    while queue:
        parent = queue.pop(0)
        for path in triggered_by(parent, folder):
            if len(done) >= MAX_TRIGGERED:
                click.echo(f"stopping after {MAX_TRIGGERED} triggered runs (a trigger cycle?)",
                           err=True)
                return done
            child = runner.start(path, algorithms, storage, parent=parent)
            done.append(child)
            queue.append(child)
    return done


@main.command(name="lint")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--argo", "with_argo", is_flag=True,
              help="Also validate with Argo's own code (the argocheck binary built from "
                   "tools/argocheck): Argo's full CRDs, workflow/validate, Argo Events.")
def lint_command(files: tuple[str, ...], with_argo: bool) -> None:
    """Check Argo manifests strictly against Argo's own schemas (unknown fields rejected),
    and that every string reads as a string in kubectl's YAML decoder too."""
    from . import lint
    from .lint.reading import Unreadable, read_manifests

    failed = 0
    for name in files:
        try:
            docs, misread = read_manifests(Path(name).read_bytes())
        except Unreadable as exc:
            click.echo(f"{name}: {exc}", err=True)
            failed += 1
            continue
        except OSError as exc:
            click.echo(f"{name}: cannot read: {exc.strerror}", err=True)
            failed += 1
            continue
        for scalar in misread:
            click.echo(f"{name}: {scalar}", err=True)
            failed += 1
        if not docs:
            click.echo(f"{name}: no manifests in this file", err=True)
            failed += 1
        for problem in lint.lint(docs):
            click.echo(f"{name}: {problem}", err=True)
            failed += 1
    if with_argo:
        from .lint import argo

        report = _argo_check(lambda: argo.check_files(files))
        failed += len(report.problems)
    if failed:
        click.echo(f"{failed} problem(s)", err=True)
        sys.exit(1)
    click.echo(f"{len(files)} file(s) valid" + (" (also by Argo's own validation)"
                                                 if with_argo else ""))


def _argo_check(check: Callable[[], argo.ArgoReport]) -> argo.ArgoReport:
    """Run Argo's own validation; its problems go to stderr. Exit 2 when it cannot run."""
    from .lint import argo

    try:
        report = check()
    except argo.ArgoCheckUnavailable as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    except argo.ArgoCheckFailed as exc:
        click.echo(f"Argo's own validation could not run: {exc}", err=True)
        sys.exit(2)
    for note in report.notes():
        click.echo(f"note: {note}", err=True)
    for problem in report.problems:
        click.echo(str(problem), err=True)
    return report


@main.command()
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("schemas"), show_default=True, help="Folder to write into.")
@click.option("--check", is_flag=True, help="Only report whether the files differ.")
def schema(out: Path, check: bool) -> None:
    """Write the JSON Schemas of pipeline and algorithm descriptors (for editors)."""
    from . import schemas

    if check:
        stale = schemas.drift(out)
        for name in stale:
            click.echo(f"{out / name} differs from the models; run 'hkube2argo schema'", err=True)
        sys.exit(1 if stale else 0)
    for path in schemas.write(out):
        click.echo(f"wrote {path}")


@main.command("migrate")
@click.argument("source", required=False)
@click.option("-o", "--out", "out", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="The bundle folder to write (made anew on each run).")
@click.option("--hkube-url", metavar="URL",
              help="Read the store of a running HKube through its API (for example "
                   "https://host/hkube/api-server) instead of SOURCE.")
@click.option("--hkube-token", envvar="HKUBE_TOKEN", metavar="TOKEN",
              help="Bearer token for --hkube-url [HKUBE_TOKEN].")
@click.option("--apply", "apply_bundle", is_flag=True,
              help="Also store the bundle's algorithms and pipelines (algorithm apply, "
                   "pipeline store) on Argo when ARGO_SERVER is set, else in the local "
                   "state; what is stored unchanged is left alone.")
@click.option("--state", "state_dir", type=click.Path(file_okay=False, path_type=Path),
              envvar="HKUBE2ARGO_STATE", default=Path(".hkube2argo"), show_default=True,
              help="With --apply and no ARGO_SERVER: the local state folder.")
@cluster_options
def migrate_command(source: str | None, out: Path, hkube_url: str | None,
                    hkube_token: str | None, apply_bundle: bool, state_dir: Path,
                    **options: object) -> None:
    """Turn a whole HKube store into one Argo bundle with a compatibility report.

    SOURCE is a folder of pipeline and algorithm descriptors (its pipelines/ and
    algorithms/ folders too) or a JSON export {pipelines: [...], algorithms: [...]}; or
    give --hkube-url. The bundle holds each pipeline's WorkflowTemplate, CronWorkflow and
    triggers, the concurrentPipelines ConfigMap and a kustomization.yaml (kubectl apply -k
    OUT), the algorithms ready for `algorithm apply`, and report.md / report.json.

    Exit codes: 0 every pipeline exact, 3 some approximated (they run; what differs on
    Argo is in the report), 1 some unsupported or unreadable."""
    from .migrate import SourceError, migrate

    if bool(source) == bool(hkube_url):
        raise click.UsageError("give SOURCE (a folder or an export file) or --hkube-url URL")
    if not options.get("namespace"):
        options["namespace"] = "pipelines"  # the chart README's install namespace
    config = cluster_config(**options)  # type: ignore[arg-type]
    tty = sys.stderr.isatty()

    def progress(done: int, total: int, name: str) -> None:
        if tty:
            click.echo(f"\r\033[Kpipeline {done} of {total}: {name}", err=True,
                       nl=done == total)

    try:
        migration = migrate(hkube_url or str(source), out, config, hkube_token, progress)
    except SourceError as exc:
        click.echo(f"hkube2argo migrate: {exc}", err=True)
        sys.exit(1)
    except (FileExistsError, OSError) as exc:
        click.echo(f"hkube2argo migrate: {exc}", err=True)
        sys.exit(1)
    report = migration.report
    for problem in report.problems:
        click.echo(str(problem), err=True)
    click.echo(f"{report.summary()}; bundle in {out} (report: {out / 'report.md'})", err=True)
    if apply_bundle:
        from .backends.base import BackendError
        from .backends.select import backend_from_env
        from .migrate.apply import apply

        try:
            applied = apply(migration, out, backend_from_env(state_dir, config),
                            lambda line: click.echo(line, err=True))
        except BackendError as exc:
            click.echo(f"hkube2argo migrate --apply: {exc}", err=True)
            sys.exit(1)
        except ValidationFailed as exc:  # the backend refused one: every reason, then stop
            _print_diagnostics(exc.diagnostics)
            click.echo(f"hkube2argo migrate --apply: {len(exc.errors)} error(s)", err=True)
            sys.exit(1)
        click.echo(applied.summary(), err=True)
    sys.exit(report.exit_code())


@main.group("jobs", context_settings={"help_option_names": ["-h", "--help"]})
def jobs_group() -> None:
    """Local job records (<state>/jobs/<jobId>/ and their stored data): list and prune."""


STATE_OPTION = click.option(
    "--state", "state_dir", type=click.Path(file_okay=False, path_type=Path),
    envvar="HKUBE2ARGO_STATE", default=Path(".hkube2argo"), show_default=True,
    help="Where jobs are kept (also HKUBE2ARGO_STATE).")


@jobs_group.command("list")
@STATE_OPTION
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="A table for people, or JSON.")
def jobs_list(state_dir: Path, fmt: str) -> None:
    """Every local job, oldest first, with its status and size on disk."""
    from .runner.housekeeping import list_jobs

    jobs = list_jobs(state_dir)
    if fmt == "json":
        click.echo(json.dumps([j.to_json() for j in jobs], indent=2))
        return
    if not jobs:
        click.echo(f"no jobs in {state_dir / 'jobs'}", err=True)
        return
    import time as _time

    rows = [[j.job_id, j.pipeline, j.status,
             _time.strftime("%Y-%m-%d %H:%M:%S", _time.localtime(j.started)),
             f"{j.size / 1024:.0f} KiB"] for j in jobs]
    from .hkubectl import _table  # the same table as pipeline/algorithm list

    _table(rows, ["JOB", "PIPELINE", "STATUS", "STARTED", "SIZE"])


@jobs_group.command("prune")
@STATE_OPTION
@click.option("--keep", type=click.IntRange(min=0), help="Keep the newest N ended jobs.")
@click.option("--older-than", help="Remove ended jobs started longer ago than this (7d, 12h, "
                                   "1d12h, 30m).")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
def jobs_prune(state_dir: Path, keep: int | None, older_than: str | None,
               dry_run: bool) -> None:
    """Remove ended jobs' folders and their data in the local storage folder. Unfinished
    jobs (running, or waiting for --resume) are never removed; data in S3 is left to the
    bucket's lifecycle rules."""
    from .runner.housekeeping import list_jobs, parse_duration, remove, select_prunable

    try:
        seconds = parse_duration(older_than) if older_than is not None else None
        chosen = select_prunable(list_jobs(state_dir), keep, seconds)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    freed = count = 0
    for job in chosen:
        if not dry_run and not remove(job):
            click.echo(f"kept {job.job_id}: a runner holds it (being resumed)", err=True)
            continue
        freed += job.size
        count += 1
        click.echo(f"{'would remove' if dry_run else 'removed'} {job.job_id} ({job.status})")
    click.echo(f"{count} job(s), {freed / 1024:.0f} KiB"
               f"{' would be' if dry_run else ''} freed", err=True)


# hkubectl's verbs (exec, pipeline, algorithm) and the DAG picture live in hkubectl.py
main.add_command(exec_group)
main.add_command(pipeline_group)
main.add_command(algorithm_group)
main.add_command(graph_command)


if __name__ == "__main__":
    main()
