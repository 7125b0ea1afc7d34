"""What the embedded backend keeps on disk, and how it writes and reads it.

The backend (``embedded.py``), the detached runner process (``jobprocess.py``) and the
progress counts (``local_progress.py``) all read and write the same files in a job folder;
their names, and JSON written atomically and read while another process may be writing
it, live here so that none of those modules has to import another.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

TERMINAL = ("completed", "failed", "stopped")
# Keys the store adds to a pipeline; stripped before it runs again.
STORE_KEYS = ("created", "modified", "version", "auditTrail")
RUNNER = "runner.json"
EXECUTED = "pipeline.json"
EVENTS = "events.jsonl"
STOP = "stop.json"
RESULT = "result.json"
LOG = "runner.log"


def now_ms() -> int:
    return int(time.time() * 1000)


def write_json(path: Path, value: Any) -> None:
    """Atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}.tmp")
    tmp.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    """The file's JSON, or None when it is absent (or still half written by the runner,
    which writes result.json in place)."""
    for _ in range(20):
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, UnicodeDecodeError):
            time.sleep(0.05)
    return None
