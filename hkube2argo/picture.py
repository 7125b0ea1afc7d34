"""The pipeline's DAG as a picture: Mermaid (renders on GitHub and in most Markdown
viewers) or Graphviz DOT (and SVG when Graphviz's ``dot`` is installed).

Drawn from the plan, so what you see is what compiles: batch nodes look different from
plain ones, and each edge says how the child waits (``@`` all of it, ``#@`` one task per
element or item, ``*@`` each item as soon as it is done, ``edges`` order only). Pipeline
triggers (cron, parent pipelines) appear as sources outside the DAG.
"""

from __future__ import annotations

import json
import shutil
import subprocess

from .plan import Plan, PlanNode

EDGE_TEXT = {"waitNode": "@", "waitBatch": "#@", "waitAny": "*@", "order": "order"}


def _label(node: PlanNode) -> str:
    what = node.algorithm or node.kind
    if node.batch is not None:
        what += f" · batch ({node.batch.operation})" if len(node.batch.sources) > 1 \
            else " · batch"
    elif node.wait_any:
        what += " · each item"
    return f"{node.name}\n{what}"


def _ids(plan: Plan) -> dict[str, str]:
    return {n.name: f"n{i}" for i, n in enumerate(plan.nodes)}


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("\n", "<br/>")


def mermaid(plan: Plan) -> str:
    ids = _ids(plan)
    lines = ["flowchart LR"]
    for node in plan.nodes:
        label = _mermaid_text(_label(node))
        shape = f'[["{label}"]]' if node.fans_out else f'["{label}"]'
        lines.append(f"  {ids[node.name]}{shape}")
    for dep in plan.dependencies:
        a, b = ids[dep.source], ids[dep.target]
        text = " ".join(EDGE_TEXT[r] for r in dep.relations)
        if dep.relations == ("order",):
            lines.append(f"  {a} -. order .-> {b}")
        elif "waitAny" in dep.relations:
            lines.append(f'  {a} -. "{text}" .-> {b}')
        elif "waitBatch" in dep.relations:
            lines.append(f'  {a} == "{text}" ==> {b}')
        else:
            lines.append(f'  {a} -- "{text}" --> {b}')
    roots = [ids[n.name] for n in plan.nodes if not n.parents]
    triggers = dict(plan.triggers)
    cron = triggers.get("cron")
    if cron:
        state = "" if cron.get("enabled") else " (disabled)"
        lines.append(f'  cron(["cron {_mermaid_text(cron["pattern"])}{state}"])')
        lines += [f"  cron -.-> {r}" for r in roots]
    for i, parent in enumerate(triggers.get("pipelines") or ()):
        lines.append(f'  p{i}{{{{"after pipeline {_mermaid_text(parent)}"}}}}')
        lines += [f"  p{i} -. flowInput.parent .-> {r}" for r in roots]
    for name in plan.results:
        lines.append(f"  style {ids[name]} stroke-width:3px")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # quotes and backslashes escaped, \n kept


def dot(plan: Plan) -> str:
    ids = _ids(plan)
    lines = [f"digraph {_dot_text(plan.name)} {{", "  rankdir=LR;",
             '  node [shape=box, style=rounded, fontname="Helvetica"];']
    for node in plan.nodes:
        attrs = [f"label={_dot_text(_label(node))}"]
        if node.fans_out:
            attrs.append("peripheries=2")
        if node.is_result:
            attrs.append("penwidth=2")
        lines.append(f"  {ids[node.name]} [{', '.join(attrs)}];")
    for dep in plan.dependencies:
        text = " ".join(EDGE_TEXT[r] for r in dep.relations)
        style = ("dotted" if dep.relations == ("order",) else
                 "dashed" if "waitAny" in dep.relations else
                 "bold" if "waitBatch" in dep.relations else "solid")
        lines.append(f"  {ids[dep.source]} -> {ids[dep.target]} "
                     f"[label={_dot_text(text)}, style={style}];")
    roots = [ids[n.name] for n in plan.nodes if not n.parents]
    triggers = dict(plan.triggers)
    cron = triggers.get("cron")
    if cron:
        lines.append(f"  cron [shape=ellipse, label={_dot_text('cron ' + cron['pattern'])}];")
        lines += [f"  cron -> {r} [style=dashed];" for r in roots]
    for i, parent in enumerate(triggers.get("pipelines") or ()):
        lines.append(f"  p{i} [shape=hexagon, label={_dot_text('after ' + parent)}];")
        lines += [f"  p{i} -> {r} [style=dashed, label=\"flowInput.parent\"];" for r in roots]
    lines.append("}")
    return "\n".join(lines) + "\n"


class NoGraphviz(RuntimeError):
    pass


def svg(plan: Plan) -> str:
    """SVG through Graphviz's ``dot`` (a system package, not a Python one)."""
    binary = shutil.which("dot")
    if binary is None:
        raise NoGraphviz("SVG needs Graphviz's 'dot' program (e.g. apt-get install graphviz); "
                         "--format mermaid or dot work without it")
    proc = subprocess.run([binary, "-Tsvg"], input=dot(plan), capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise NoGraphviz(f"dot failed: {proc.stderr.strip()}")
    return proc.stdout
