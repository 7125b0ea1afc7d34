"""What has run: one line per finished container, appended and flushed at once, so a
runner killed even with ``kill -9`` can resume without running those again (their
results are already in storage under deterministic keys)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path


class Journal:
    def __init__(self, path: Path):
        self.path = path
        self.done: dict[str, dict[str, str]] = {}
        self.keys: dict[str, list[str]] = {}  # what each finished container uploaded
        self._lock = threading.Lock()
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by the kill
                self.done[entry["node"]] = entry["outputs"]
                self.keys[entry["node"]] = entry.get("keys", [])

    def task_outputs(self) -> dict[str, dict[str, str]]:
        """DAG task name -> the output parameters of its finished single instance (loop
        items are left out): what sizes the loops that read them (``{{tasks.X.outputs...}}``)."""
        return {path.rsplit("/", 1)[-1]: outputs for path, outputs in self.done.items()
                if "(" not in path.rsplit("/", 1)[-1]}

    def finished(self, node: str) -> dict[str, str] | None:
        return self.done.get(node)

    def record(self, node: str, outputs: dict[str, str], keys: list[str]) -> None:
        line = json.dumps({"node": node, "outputs": outputs, "keys": keys}) + "\n"
        with self._lock:
            self.done[node] = outputs
            self.keys[node] = keys
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
