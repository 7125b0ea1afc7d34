"""Argo's own validation, through the ``argocheck`` binary built from ``tools/argocheck``.

The strict schema lint of this package is our reading of Argo; ``argocheck`` is Argo's own code
(Kubernetes' API-server checks against Argo's full CRDs, Argo Workflows' ``workflow/validate``
and Argo Events' controllers' validation) compiled into one Go program. This module only finds
the binary, feeds it manifests and reads its JSON answer: the adapter at the edge.

Where the binary is looked for, in order: ``$HKUBE2ARGO_ARGOCHECK``; the build output of the
source tree this package runs from (``tools/argocheck/bin/argocheck``); ``argocheck`` on PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV = "HKUBE2ARGO_ARGOCHECK"
SOURCE = Path(__file__).resolve().parents[2] / "tools" / "argocheck"
BUILT = SOURCE / "bin" / "argocheck"
TIMEOUT = 600  # seconds; a 1,000-node WorkflowTemplate takes a few


class ArgoCheckUnavailable(Exception):
    """The binary is not built (or the path given for it is wrong); the message says what to do."""


class ArgoCheckFailed(Exception):
    """The binary could not check the input (exit 2: unreadable input, Argo modules missing)."""


def build_command() -> str:
    """The exact command that builds the binary where :func:`find` looks first."""
    if (SOURCE / "go.mod").is_file():
        return f"(cd {SOURCE} && go build -o bin/argocheck .)"
    return ("go build -o bin/argocheck . in tools/argocheck of the hkube2argo source tree, "
            f"then set {ENV} to the binary")


def find() -> Path:
    """The argocheck binary, or ArgoCheckUnavailable with one line saying how to get it."""
    given = os.environ.get(ENV)
    if given:
        path = Path(given)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise ArgoCheckUnavailable(f"{ENV}={given} is not an executable file")
    if BUILT.is_file() and os.access(BUILT, os.X_OK):
        return BUILT
    on_path = shutil.which("argocheck")
    if on_path:
        return Path(on_path)
    raise ArgoCheckUnavailable(
        f"Argo's own validation needs the argocheck binary, which is not built: {build_command()}")


@dataclass(frozen=True)
class ArgoProblem:
    source: str  # file name, or the label given for a stream
    document: int  # 1-based position in its source
    kind: str
    name: str
    stage: str  # crd-schema | argo-workflows | argo-events
    field: str
    message: str

    def __str__(self) -> str:
        return (f"{self.source}#{self.document}: {self.kind}/{self.name}: {self.field}: "
                f"{self.message} [{self.stage}]")


@dataclass(frozen=True)
class ArgoReport:
    problems: list[ArgoProblem]
    objects: list[dict[str, Any]]  # argocheck's per-object outcome (status, notes, ...)
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.problems

    def notes(self) -> list[str]:
        return [f"{o['source']}#{o['document']}: {o['kind']}/{o['name']}: {n}"
                for o in self.objects for n in o.get("notes") or []]


def check_files(paths: Iterable[str | Path], *, binary: Path | None = None,
                namespace: str | None = None) -> ArgoReport:
    """Validate the manifests in ``paths`` (multi-document YAML), all as one input: a
    workflowTemplateRef resolves against any WorkflowTemplate among them."""
    return _run([str(p) for p in paths], None, binary, namespace)


def check_text(text: str, *, name: str = "<stdin>", binary: Path | None = None,
               namespace: str | None = None) -> ArgoReport:
    """Validate one multi-document YAML stream (e.g. what ``compile -o -`` prints); ``name``
    is what messages call it."""
    return _run(["--stdin-name", name, "-"], text, binary, namespace)


def check_documents(documents: Iterable[dict[str, Any]], **kwargs: Any) -> ArgoReport:
    """Validate objects already loaded (JSON is YAML, one document each)."""
    text = "".join("---\n" + json.dumps(d) + "\n" for d in documents)
    return check_text(text, **kwargs)


def _run(args: list[str], stdin: str | None, binary: Path | None,
         namespace: str | None) -> ArgoReport:
    exe = binary or find()
    cmd = [str(exe), "--json"]
    if namespace:
        cmd += ["--namespace", namespace]
    proc = subprocess.run([*cmd, *args], input=stdin, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    if proc.returncode not in (0, 1):
        raise ArgoCheckFailed(proc.stderr.strip() or f"{exe} exited with {proc.returncode}")
    try:
        answer = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise ArgoCheckFailed(f"{exe} gave no JSON answer: {proc.stderr.strip()}") from None
    objects = answer.get("objects") or []
    problems = [ArgoProblem(o["source"], o["document"], o["kind"], o["name"], p["stage"],
                            p["field"], p["message"])
                for o in objects for p in o.get("problems") or []]
    if (proc.returncode == 1) != bool(problems):
        raise ArgoCheckFailed(f"{exe} exited with {proc.returncode} but reported "
                              f"{len(problems)} problem(s)")
    return ArgoReport(problems, objects, answer.get("versions") or {})
