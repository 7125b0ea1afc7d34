"""The progress of ``hkube2argo run``: the jobId first, then per HKube node the items
done of all it will run (a batch counted item by item once its size is known), failures,
and the time since the start.

On a terminal one line is redrawn; elsewhere (CI, a pipe) a line is printed when a node
completes and at most every ``QUIET_EVERY`` seconds in between, so a long run is not
silent and a log is not flooded. Internal steps (prepare, ``X--collect``, results, the
progress reporter) are not shown: only the nodes of the pipeline.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import yaml

from ..runtime import jobstatus
from .engine import Event
from .journal import Journal

QUIET_EVERY = 5.0  # seconds between lines off a terminal
TOTALS_EVERY = 1.0  # seconds between readings of the journal for loop sizes ...
UNKNOWN_EVERY = 0.1  # ... or while a loop's size is still unknown


class Progress:
    def __init__(self, stream: TextIO = sys.stderr, live: bool | None = None,
                 clock: Any = time.monotonic):
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self.clock = clock
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.job_id = ""
        self.folder: Path | None = None
        self.workflow: dict[str, Any] = {}
        self.tasks: dict[str, str] = {}  # DAG task -> HKube node
        self.order: list[str] = []  # HKube nodes, in the pipeline's order
        self.done: dict[str, int] = {}
        self.failed: dict[str, int] = {}
        self.totals: dict[str, int | None] = {}
        self.started = self.clock()
        self._printed = self._measured = float("-inf")
        self._last = ""
        self._closed = False

    def job(self, job_id: str, folder: Path) -> None:
        """The runner's ``on_job``: a new job starts (a triggered chain runs several)."""
        with self._lock:
            if self.job_id and self.live:
                self._write(self.line() + "\n")
            self._reset()
            self.job_id, self.folder = job_id, folder
            try:
                nodes = json.loads((folder / "job.json").read_text(encoding="utf-8"))["nodes"]
                self.workflow = yaml.safe_load(
                    (folder / "workflow.yaml").read_text(encoding="utf-8")) or {}
            except (OSError, ValueError, KeyError, yaml.YAMLError):
                nodes = {}
            self.tasks = {t: n for t, n in nodes.items() if jobstatus.MARK not in t}
            self.order = list(dict.fromkeys(self.tasks.values()))
            self._totals(force=True)
            self._show(force=True)

    def _totals(self, force: bool = False) -> None:
        """How many items each node runs, once the counts that size its loops are known."""
        now = self.clock()
        every = UNKNOWN_EVERY if None in self.totals.values() else TOTALS_EVERY
        if self.folder is None or (not force and now - self._measured < every):
            return
        self._measured = now
        journal = Journal(self.folder / "journal.jsonl")
        outputs = journal.task_outputs()
        per_task = jobstatus.planned(self.workflow, outputs, set(self.tasks))
        totals: dict[str, int | None] = {}
        for task, count in per_task.items():
            node = self.tasks[task]
            before = totals.get(node, 0)
            totals[node] = None if count is None or before is None else before + count
        self.totals = totals

    def __call__(self, event: Event) -> None:
        node = self.tasks.get(jobstatus.task_of_path(event.node))
        if event.kind != "ended" or node is None:
            return  # a start changes no count; internal steps are not the user's nodes
        with self._lock:
            self.done[node] = self.done.get(node, 0) + 1
            if event.phase != "Succeeded":
                self.failed[node] = self.failed.get(node, 0) + 1
            self._totals()
            total = self.totals.get(node)
            self._show(force=total is not None and self.done[node] >= total)

    def line(self) -> str:
        elapsed = int(self.clock() - self.started)
        parts = [f"{self.job_id} {elapsed // 60}:{elapsed % 60:02d}"]
        for node in self.order:
            total = self.totals.get(node)
            done = self.done.get(node, 0)
            text = f"{node} {done}/{'?' if total is None else max(total, done)}"
            if self.failed.get(node):
                text += f" ({self.failed[node]} failed)"
            parts.append(text)
        return "  ".join(parts)

    def _show(self, force: bool = False) -> None:
        if self.live:
            self._write("\r\x1b[K" + self.line())
            return
        now = self.clock()
        line = self.line()
        if (force or now - self._printed >= QUIET_EVERY) and line != self._last:
            self._printed, self._last = now, line
            self._write(line + "\n")

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        """The last line; once (an interrupted run closes early, then again on the way
        out)."""
        with self._lock:
            if self.job_id and not self._closed:
                self._closed = True
                self._totals(force=True)
                if self.live:
                    self._write("\r\x1b[K" + self.line() + "\n")
                else:
                    self._show(force=True)
