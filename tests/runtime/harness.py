"""A task folder on disk and the wrapper run on it as a real subprocess.

The wrapper sees only files (``H2A_ROOT``): ``spec.json``, ``in/shared/``, ``in/item/``,
``code/``, ``raw/``; it writes ``out/`` and ``counts/``. These helpers lay such a folder
out from fixtures and read back what the wrapper left.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"
JOB_ID = "job1"
# Variables of the wrapper a developer's shell might carry into the tests.
_OURS = ("H2A_ROOT", "H2A_JOB_ID", "H2A_JOB_PREFIX", "H2A_CODE_DIR", "H2A_NODE")


def base_env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _OURS}
    env.update({"H2A_ROOT": str(root), "H2A_JOB_ID": JOB_ID, "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def run_spec(*, entry: str | None = None, env: str | None = "python", input: Any = None,
             refs: list[dict[str, Any]] | None = None,
             routes: list[dict[str, Any]] | None = None, **node: Any) -> dict[str, Any]:
    """A ``run`` task spec the way the compiler writes it (``jobgraph.run_spec``)."""
    return {
        "mode": "run",
        "task": "n1",
        "pipeline": {"name": "pipe", "experimentName": "main", "priority": 3},
        "node": {
            "nodeName": "n1",
            "algorithmName": "alg1",
            "kind": "algorithm",
            "input": [] if input is None else input,
            "refs": refs or [],
            "extraData": None,
            "extra": {},
            "retry": {"policy": "OnCrash", "limit": 3},
            "ttl": None,
            "parents": [],
            "childs": [],
            **node,
        },
        "algorithm": {"env": env, "entryPoint": entry, "type": "code"},
        "routes": routes or [],
    }


@dataclass
class Task:
    root: Path
    interpreter: str = sys.executable  # an older Python for the image-algorithm tests
    extra_env: dict[str, str] = field(default_factory=dict)  # added to every run

    # -- laying the folder out -----------------------------------------------------------

    def write(self, rel: str, value: Any) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value), encoding="utf-8")
        return path

    def spec(self, spec: dict[str, Any]) -> Task:
        self.write("spec.json", spec)
        return self

    def shared(self, rel: str, envelope: Any) -> Task:
        """``in/shared/<rel>`` (e.g. ``r0.json`` or ``r1/000002.json``)."""
        self.write(f"in/shared/{rel}", envelope)
        return self

    def item(self, rel: str, envelope: Any) -> Task:
        self.write(f"in/item/{rel}", envelope)
        return self

    def code(self, *names: str) -> Task:
        """Copy fixture algorithms into ``code/``."""
        (self.root / "code").mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copy(FIXTURES / name, self.root / "code" / name)
        return self

    def raw(self, name: str, text: str) -> Task:
        path = self.root / "raw" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return self

    # -- running ---------------------------------------------------------------------------


    def command(self, mode: str, *args: str) -> list[str]:
        return [self.interpreter, "-m", "hkube2argo.runtime", mode, *args]

    def run(self, mode: str, *args: str, timeout: float = 30,
            **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(mode, *args), cwd=self.root,
                              env=base_env(self.root, **{**self.extra_env, **env}),
                              capture_output=True, text=True,
                              timeout=timeout, check=False)

    def popen(self, mode: str, *args: str, new_group: bool = False,
              **env: str) -> subprocess.Popen[str]:
        """Started in the background; ``new_group``: in its own process group, as Argo's
        emissary starts the main container's command (it signals the whole group)."""
        return subprocess.Popen(self.command(mode, *args), cwd=self.root,
                                env=base_env(self.root, **{**self.extra_env, **env}),
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=new_group)

    # -- reading back ---------------------------------------------------------------------

    def out(self, key: str) -> Any:
        """The JSON the wrapper wrote as ``out/<key>``; a missing file fails the test."""
        path = self.root / "out" / key
        assert path.is_file(), f"out/{key} was not written; out/ has {self.outputs()}"
        return json.loads(path.read_text(encoding="utf-8"))

    def status(self, key: str) -> Any:
        """A status record the wrapper wrote for the collect step, without its end time
        (``at``, which only orders failures for the tolerance message)."""
        record = self.out(key)
        assert isinstance(record.pop("at", None), float), f"{key} has no end time"
        return record

    def has_out(self, key: str) -> bool:
        return (self.root / "out" / key).exists()

    def outputs(self) -> list[str]:
        out = self.root / "out"
        return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())

    def count(self, name: str) -> str:
        return (self.root / "counts" / name).read_text(encoding="utf-8")

    def has_count(self, name: str) -> bool:
        return (self.root / "counts" / name).exists()


def wait_for(path: Path, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def ok(result: Any) -> dict[str, Any]:
    return {"status": "succeed", "result": result}


def failed(error: str) -> dict[str, Any]:
    return {"status": "failed", "error": error}


def explain(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
