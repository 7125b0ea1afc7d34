"""One container template, run as Argo's executor would run it in a pod.

The pod's filesystem is emulated by a task folder: absolute paths under ``/tmp`` (where
the templates put every artifact, output parameter and ``H2A_ROOT``) live inside it. The
command is the template's own; ``python3`` is this interpreter. Inputs are loaded before
the command, outputs saved after it even when it failed (as Argo does), output
parameters read from their files.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..runtime.algorithm import POD_DEADLINE_MESSAGE
from . import driver, reaper
from .reaper import DEADLINE
from .store import Store
from .tags import Unsupported
from .zygote import Unavailable, WarmPool

SANDBOXED = "/tmp/"


@dataclass
class Attempt:
    """One pod. ``exit_code``: the main container's (-1 when it never ran), what a retry
    expression reads as ``lastRetry.exitCode``. ``phase`` and ``message`` as Argo's
    operator.go ``inferFailedReason`` words them: main failed -> Failed,
    ``main: Error (exit code N): <termination message>``; the init container (input
    artifacts) or the wait container (outputs) failed -> Error, ``init: ...``/``wait: ...``."""

    exit_code: int
    phase: str = "Succeeded"
    outputs: dict[str, str] = field(default_factory=dict)
    message: str = ""
    log: Path | None = None
    seconds: float = 0.0
    bytes_in: int = 0
    bytes_out: int = 0
    read_by_artifact: dict[str, int] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)  # object keys uploaded


def sandbox(folder: Path, path: str) -> Path:
    if not path.startswith(SANDBOXED):
        raise Unsupported(f"path {path!r} outside {SANDBOXED} (cannot be emulated locally)")
    return folder / path.lstrip("/")


def _env_value(folder: Path, value: str) -> str:
    return str(sandbox(folder, value)) if value.startswith(SANDBOXED) else value


def _command(container: dict[str, Any]) -> list[str]:
    command = list(container.get("command") or []) + list(container.get("args") or [])
    if command[:3] != ["python3", "-m", "hkube2argo.runtime"]:
        raise Unsupported(f"container command {command[:3]}: only the hkube2argo runtime runs "
                          "locally")
    return command


_IN_PROCESS = threading.Lock()
RUNNING: set[int] = set()  # process groups of running tasks (each task leads its own)


def kill_running(sig: int = signal.SIGKILL) -> None:
    """Stop every running task now (the workflow's deadline passed), or ask them to
    (SIGTERM, as a pod's deletion does first)."""
    for pgid in list(RUNNING):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)


def _in_process(command: list[str], env: dict[str, str], log: Path) -> int:
    """``--debug-node``: the task's entry point inside the runner itself, so a debugger's
    breakpoints in the algorithm are hit. One at a time (it borrows this process's
    environment and working folder, and gives them back)."""
    from ..runtime import __main__ as runtime_main

    with _IN_PROCESS:
        saved_env, saved_cwd = dict(os.environ), os.getcwd()
        log.write_text("ran in the runner's own process (--debug-node): output went to the "
                       "runner's console\n", encoding="utf-8")
        os.environ.clear()
        os.environ.update(env)
        try:
            code = runtime_main.run_entry(command[3:])
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
            os.chdir(saved_cwd)
    return code


def _cold(command: list[str], folder: Path, env: dict[str, str], log: Path,
          timeout: float | None) -> int:
    """A fresh interpreter for the task, under a small supervisor (``reaper``) that runs
    it in its own session and group and kills whatever it leaves behind."""
    read, write = os.pipe()
    try:
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", reaper.__file__, str(write),
                 str(timeout or 0), str(os.getpid()), sys.executable, *command[1:]],
                cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT,
                pass_fds=(write,), start_new_session=True)
        os.close(write)
        write = -1
        with os.fdopen(read, encoding="utf-8") as said:
            read = -1
            started = said.readline()
            pid = int(json.loads(started)["pid"]) if started else None
            answer = ""
            if pid is not None:
                RUNNING.add(pid)
                try:
                    answer = said.readline()
                finally:
                    RUNNING.discard(pid)
        proc.wait()
    finally:
        for fd in (read, write):
            if fd >= 0:
                os.close(fd)
    if answer:
        return int(json.loads(answer)["exit"])
    if pid is not None:  # the supervisor was killed: so is the task
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    return 128 + signal.SIGKILL


def _spawn(command: list[str], folder: Path, env: dict[str, str], log: Path,
           timeout: float | None, pool: WarmPool | None,
           in_process: bool = False) -> tuple[int, str]:
    """Run the task's command under the pool (forked warm, or a fresh interpreter for
    ``--cold``), or under a supervisor of its own when the pool is gone. Returns the exit
    code and Argo's message."""
    if in_process:
        code = _in_process(command, env, log)
    else:
        code = None
        if pool is not None:
            try:
                code = pool.run(command[3:], env, str(folder), str(log), timeout, RUNNING)
            except Unavailable:
                code = None
        if code is None:
            code = _cold(command, folder, env, log, timeout)
    if code == DEADLINE:
        return code, POD_DEADLINE_MESSAGE  # the kubelet's words; Argo's node message
    return code, ""


TERMINATION_FILE = "termination-log"  # the pod's /dev/termination-log


def _main_message(code: int, folder: Path) -> str:
    """inferFailedReason for the main container: ``<name>: <reason> (exit code N)``, and
    ``: <message>`` when the container left a termination message (the kubelet keeps
    4096 bytes)."""
    text = ""
    with contextlib.suppress(OSError):
        text = (folder / TERMINATION_FILE).read_bytes()[:4096].decode("utf-8", "replace")
    message = f"main: Error (exit code {code})"
    return f"{message}: {text}" if text else message


def _sidecar_failed(container: str, error: str) -> str:
    """The init or wait container exits 1 with its first error as termination message
    (executor.go ``HandleError``)."""
    return f"{container}: Error (exit code 1): {error}"


def _load_inputs(template: dict[str, Any], artifacts: dict[str, dict[str, Any]],
                 folder: Path, store: Store) -> dict[str, int]:
    """Every input artifact into the task folder; the bytes read, by artifact. Raises
    :class:`driver.ArtifactMissing` for a required input that does not exist."""
    read: dict[str, int] = {}
    for artifact in template.get("inputs", {}).get("artifacts", []):
        given = {**artifact, **artifacts.get(artifact["name"], {})}
        read[artifact["name"]] = driver.load_input(given, sandbox(folder, artifact["path"]),
                                                   store)
    return read


def _environment(template: dict[str, Any], folder: Path) -> dict[str, str]:
    """The container's env (``podSpecPatch`` last, as Kubernetes merges it) over ours."""
    container = template["container"]
    env = dict(os.environ)
    patch = json.loads(template.get("podSpecPatch") or "{}")
    patched = [v for c in patch.get("containers", []) if c.get("name") == "main"
               for v in c.get("env", [])]
    for var in [*container.get("env", []), *patched]:
        if "value" not in var:
            continue  # valueFrom (Secrets, fieldRef) exists only in a cluster
        env[var["name"]] = _env_value(folder, var["value"])
    return env


def daemon_command(container: dict[str, Any]) -> list[str]:
    """A daemon may run any ``python3`` command, not only the runtime: it has no outputs
    and its exit code is ignored, so it cannot change a result Argo would compute
    differently; it only observes the run (the progress reporter, a test's probe)."""
    command = list(container.get("command") or []) + list(container.get("args") or [])
    if command[:1] != ["python3"]:
        raise Unsupported(f"daemon command {command[:1]}: only python3 commands run locally")
    return command


def start_daemon(template: dict[str, Any], artifacts: dict[str, dict[str, Any]],
                 folder: Path, store: Store, extra_env: dict[str, str]) -> subprocess.Popen:
    """Start a daemon container (``template`` already substituted) and return at once: its
    inputs and env as for any container, a fresh interpreter (never a warm fork: the
    daemon outlives many tasks and is stopped by signal), its own process group so
    stopping it stops what it started. ``extra_env`` is set as is (no /tmp sandboxing:
    it holds host paths)."""
    command = daemon_command(template["container"])
    folder.mkdir(parents=True, exist_ok=True)
    _load_inputs(template, artifacts, folder, store)
    env = {**_environment(template, folder), **extra_env}
    with open(folder / "log.txt", "wb") as out:
        return subprocess.Popen([sys.executable, *command[1:]], cwd=folder, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def run_container(template: dict[str, Any], artifacts: dict[str, dict[str, Any]],
                  folder: Path, store: Store, timeout: float | None,
                  pool: WarmPool | None = None, in_process: bool = False) -> Attempt:
    """``template`` is already substituted; ``artifacts`` are the resolved inputs by name."""
    folder.mkdir(parents=True, exist_ok=True)
    # a new pod starts with nothing (a resumed run may find a killed attempt's files)
    shutil.rmtree(sandbox(folder, SANDBOXED), ignore_errors=True)
    (folder / TERMINATION_FILE).unlink(missing_ok=True)
    started = time.monotonic()
    try:
        read = _load_inputs(template, artifacts, folder, store)
    except driver.ArtifactMissing as exc:
        return Attempt(exit_code=-1, phase="Error", message=_sidecar_failed("init", str(exc)))
    env = _environment(template, folder)
    env["H2A_TERMINATION_LOG"] = str(folder / TERMINATION_FILE)
    log = folder / "log.txt"
    exit_code, message = _spawn(_command(template["container"]), folder, env, log, timeout,
                                pool, in_process)
    if exit_code not in (0, -1):
        message = _main_message(exit_code, folder)
    attempt = Attempt(exit_code=exit_code, phase="Succeeded" if exit_code == 0 else "Failed",
                      message=message, log=log, bytes_in=sum(read.values()),
                      read_by_artifact=read)
    errors: list[str] = []  # the wait container's, in its order: parameters, artifacts
    outputs = template.get("outputs", {})
    for param in outputs.get("parameters", []):
        source = param.get("valueFrom", {})
        path = sandbox(folder, source["path"])
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            attempt.outputs[param["name"]] = text[:-1] if text.endswith("\n") else text
        elif "default" in source:
            attempt.outputs[param["name"]] = source["default"]
        else:
            errors.append(f"output parameter {param['name']} missing")
    failed_saves = ""
    for artifact in outputs.get("artifacts", []):
        try:
            written = driver.save_output(artifact, sandbox(folder, artifact["path"]), store)
            attempt.bytes_out += sum(written.values())
            attempt.written.extend(written)
        except driver.ArtifactMissing as exc:  # SaveArtifacts joins them: "<err>; "
            failed_saves += f"{exc}; "
    if failed_saves:
        errors.append(failed_saves)
    if errors and attempt.phase == "Succeeded":  # a failed main's message comes first
        attempt.phase, attempt.message = "Error", _sidecar_failed("wait", errors[0])
    attempt.seconds = time.monotonic() - started
    return attempt
