"""Diagnostics: what the user sees when a descriptor is wrong.

Every stage reports problems as :class:`Diagnostic` values instead of raising on the
first one, so a user fixing a descriptor sees all of its mistakes in one run. A
diagnostic always names the file and the field path (``nodes[1].input[0]``); the line
is added when the parser could tell it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]
Loc = tuple[str | int, ...]


def format_loc(loc: Loc) -> str:
    """Render a location tuple the way a user would write it: ``nodes[1].input[0].k``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(document)"


@dataclass(frozen=True)
class Diagnostic:
    """One problem (or warning) in one descriptor file."""

    message: str
    loc: Loc = ()
    file: str = "<input>"
    line: int | None = None
    severity: Severity = "error"

    @property
    def path(self) -> str:
        return format_loc(self.loc)

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        tag = "" if self.severity == "error" else "warning: "
        return f"{where}: {tag}{self.path}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "path": self.path,
            "message": self.message,
        }


class ValidationFailed(Exception):
    """Raised at a stage boundary when a descriptor has errors; carries all of them."""

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        self.diagnostics = list(diagnostics)
        errors = [d for d in self.diagnostics if d.severity == "error"]
        head = "\n".join(str(d) for d in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} error(s):\n{head}{more}")

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]
