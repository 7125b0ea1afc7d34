"""The ``hkube2argo`` command line: thin, all work is in the stages it calls."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__, schemas
from .diagnostics import Diagnostic, ValidationFailed
from .plan import Plan
from .validate import Catalog, load_algorithms, validate_file


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
    catalog = load_algorithms(list(algorithm_paths)) if algorithm_paths else None
    diags: list[Diagnostic] = list(catalog.diagnostics) if catalog else []
    try:
        results = validate_file(pipeline, catalog, check_flow_input=not no_flow_input_check)
    except ValidationFailed as exc:
        results = []
        diags.extend(exc.diagnostics)
    for r in results:
        diags.extend(r.diagnostics)
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


@main.command()
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("schemas"), show_default=True, help="Folder to write into.")
@click.option("--check", is_flag=True, help="Only report whether the files differ.")
def schema(out: Path, check: bool) -> None:
    """Write the JSON Schemas of pipeline and algorithm descriptors (for editors)."""
    if check:
        stale = schemas.drift(out)
        for name in stale:
            click.echo(f"{out / name} differs from the models; run 'hkube2argo schema'", err=True)
        sys.exit(1 if stale else 0)
    for path in schemas.write(out):
        click.echo(f"wrote {path}")


if __name__ == "__main__":
    main()
