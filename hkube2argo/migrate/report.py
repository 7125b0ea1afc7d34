"""The compatibility report: ``report.json`` for tools, ``report.md`` for people.

Totals first, then every pipeline with what differs on Argo or why it cannot run there,
every algorithm with how it will run, and the trigger graph between pipelines.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..diagnostics import Diagnostic
from .verdicts import AlgorithmVerdict, PipelineVerdict

EXIT = {"exact": 0, "approximated": 3, "unsupported": 1}  # the migrate command's exit codes
BADGE = {"exact": "exact", "approximated": "approximated", "unsupported": "**unsupported**"}


@dataclass(frozen=True)
class Report:
    source: str
    pipelines: tuple[PipelineVerdict, ...]
    algorithms: tuple[AlgorithmVerdict, ...]
    problems: tuple[Diagnostic, ...] = ()  # files or entries that could not be read

    def totals(self) -> dict[str, int]:
        counts = Counter(p.status for p in self.pipelines)
        return {k: counts.get(k, 0) for k in ("exact", "approximated", "unsupported")}

    def exit_code(self) -> int:
        """0 when every pipeline is exact, 3 when some are approximated, 1 when some are
        unsupported (or the source had entries that could not be read)."""
        unreadable = any(d.severity == "error" for d in self.problems)
        if unreadable or any(p.status == "unsupported" for p in self.pipelines):
            return 1
        return 3 if any(p.status == "approximated" for p in self.pipelines) else 0

    def summary(self) -> str:
        t = self.totals()
        kinds = Counter(a.status for a in self.algorithms)
        algorithms = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        return (f"{len(self.pipelines)} pipeline(s): {t['exact']} exact, {t['approximated']} "
                f"approximated, {t['unsupported']} unsupported; {len(self.algorithms)} "
                f"algorithm(s){': ' + algorithms if algorithms else ''}")

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "totals": self.totals(),
                "exitCode": self.exit_code(),
                "pipelines": [p.to_json() for p in self.pipelines],
                "algorithms": [a.to_json() for a in self.algorithms],
                "triggers": [{"parent": parent, "child": p.name}
                             for p in self.pipelines for parent in p.parents],
                "unreadable": [d.to_dict() for d in self.problems]}

    def json_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    def markdown(self) -> str:
        t = self.totals()
        lines = [f"# Moving {self.source} to Argo Workflows", "",
                 f"**{len(self.pipelines)} pipeline(s): {t['exact']} exact, {t['approximated']} "
                 f"approximated, {t['unsupported']} unsupported.** "
                 f"{len(self.algorithms)} algorithm(s).", "",
                 "- *exact*: the compiled manifests do what HKube does.",
                 "- *approximated*: they run on Argo, and what differs is listed.",
                 "- *unsupported*: not compiled; the reasons are listed.", ""]
        if self.problems:
            lines += ["## Entries that were not read", ""]
            lines += [f"- `{d}`" for d in self.problems] + [""]
        lines += ["## Pipelines", "", "| pipeline | verdict | algorithms | notes |",
                  "|---|---|---|---|"]
        for p in self.pipelines:
            notes = "<br>".join(_cell(r) for r in p.reasons) or ""
            lines.append(f"| {_cell(p.name)} | {BADGE[p.status]} | "
                         f"{_cell(', '.join(p.algorithms))} | {notes} |")
        lines += ["", "## Algorithms", "", "| algorithm | runs as | used by |", "|---|---|---|"]
        for a in self.algorithms:
            lines.append(f"| {_cell(a.name)} | {a.status}: {_cell(a.detail)} | "
                         f"{_cell(', '.join(a.used_by)) or 'no pipeline'} |")
        edges = [(parent, p.name) for p in self.pipelines for parent in p.parents]
        if edges:
            lines += ["", "## Triggers", "", "A completed run of the parent starts the child "
                      "(Argo Events: the chart's shared EventSource on Workflows, a Sensor that "
                      "submits the child).", "", "```mermaid", "flowchart LR"]
            ids = {name: f"p{i}" for i, name in enumerate(sorted({n for e in edges for n in e}))}
            lines += [f'  {ids[n]}["{_label(n)}"]' for n in sorted(ids)]
            lines += [f"  {ids[a]} --> {ids[b]}" for a, b in edges]
            lines.append("```")
        return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _label(text: str) -> str:
    return text.replace('"', "'")
