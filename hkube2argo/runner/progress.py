"""The live progress line of ``hkube2argo run``: per node, items done / started, failures."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from .engine import Event


class Progress:
    """Counts container starts and ends per HKube node; redraws one line on a terminal,
    prints nothing otherwise (logs stay clean in CI)."""

    def __init__(self, nodes: dict[str, str] | None = None, stream: TextIO = sys.stderr):
        self.nodes = nodes or {}
        self.stream = stream
        self.live = stream.isatty()
        self.counts: dict[str, list[int]] = {}  # node -> [started, done, failed]
        self._lock = threading.Lock()

    def node_of(self, path: str) -> str:
        task = path.rsplit("/", 1)[-1].split("(", 1)[0]
        return self.nodes.get(task, task)

    def __call__(self, event: Event) -> None:
        with self._lock:
            row = self.counts.setdefault(self.node_of(event.node), [0, 0, 0])
            if event.kind == "started":
                row[0] += 1
            else:
                row[1] += 1
                row[2] += event.phase != "Succeeded"
            if self.live:
                self.stream.write("\r\x1b[K" + self.line())
                self.stream.flush()

    def line(self) -> str:
        parts = []
        for node, (started, done, failed) in self.counts.items():
            text = f"{node} {done}/{started}"
            if failed:
                text += f" ({failed} failed)"
            parts.append(text)
        return "  ".join(parts)

    def close(self) -> None:
        if self.live and self.counts:
            self.stream.write("\r\x1b[K" + self.line() + "\n")
            self.stream.flush()
