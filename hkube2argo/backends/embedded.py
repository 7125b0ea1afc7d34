"""The embedded backend: the hkubectl-style commands on this machine, with no cluster.

Pipelines run on the local runner (``hkube2argo run``'s ``Runner``), each in a detached
process, so ``exec raw`` prints its jobId at once and ``exec status`` / ``result`` /
``stop`` work from any later command. Records live in the state folder, the same one
``hkube2argo run`` uses (default ``.hkube2argo``)::

    store/pipelines/<name>.json   stored pipelines, with HKube's defaults, created, modified,
                                  version (GET /store/pipelines/{name})
    store/algorithms/<name>.json  stored algorithms (REST shape); a code algorithm's codePath
                                  points at ../code/<name>/<digest>
    store/code/<name>/<digest>/   its code, unpacked; the packed tar.gz is also in the
                                  storage under the content key the manifests name
    storage/                      the runs' data (the local storage of hkube2argo run)
    submissions/<token>/          a submission until its runner process has a jobId
    jobs/<jobId>/                 the runner's job folder (workflow.yaml, job.json,
                                  journal.jsonl, result.json) and this backend's records:
        runner.json    the detached runner: pid, process start time, log
        pipeline.json  the executed pipeline, with defaults (exec get)
        events.jsonl   container starts and ends (exec status counts them)
        runner.log     the detached runner's own output
        stop.json      a stop request and its reason

The runner process is started as ``python -m hkube2argo.backends.embedded SPEC``; it
announces the jobId on its stdout as soon as the job folder exists, then goes on alone.
When a run completes, the stored pipelines whose ``triggers.pipelines`` name it run next
in the same process, with ``flowInput.parent`` (HKube's pipeline triggers). Cron triggers
fire only on Argo.

This module is the backend (the store, submissions, a job's status); the runner process
is ``jobprocess.py``, finding and killing it ``processes.py``, the progress counts
``local_progress.py``, and the record names and JSON files they share ``records.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .. import codepack
from ..config import DEFAULT, DEFAULT_STATE, ClusterConfig
from ..diagnostics import Diagnostic, ValidationFailed
from ..loading import Descriptor, Source, load_file
from ..plan import AlgorithmSpec, Plan, thaw
from . import local_progress
from .base import BackendError, NotFound, Submitted, status_object
from .processes import CHILDREN, alive, child_env, first_line, kill_runner, log_tail
from .records import (
    EVENTS,
    EXECUTED,
    LOG,
    RESULT,
    RUNNER,
    STOP,
    STORE_KEYS,
    TERMINAL,
    now_ms,
    read_json,
    write_json,
)

# The descriptor checks (pydantic models), the runner and the compiler are imported by the
# verbs that use them: `exec status`/`result` read records only (tests/test_startup.py).
if TYPE_CHECKING:
    from ..runner.store import Store
    from ..validate import Catalog

CHILD_MODULE = "hkube2argo.backends.embedded"
START_TIMEOUT = 120.0  # seconds for a runner process to compile and announce its jobId


# ---------------------------------------------------------------------------------- files


def _file_name(name: str) -> str:
    """A store file name for an HKube name (pipeline names may hold ':')."""
    text = quote(name, safe="")
    return "%2E" + text[1:] if text.startswith(".") else text


def _version(stored: dict[str, Any]) -> str:
    body = {k: v for k, v in stored.items() if k not in (*STORE_KEYS, "fileInfo")}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:10]


def absolute_code_path(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """A copy of an algorithm descriptor whose code path (``codePath`` or ``code.path``)
    no longer depends on where the descriptor is written: relative paths are read from
    ``base``, as hkubectl reads them from the descriptor's folder."""
    out = dict(data)
    if isinstance(out.get("codePath"), str) and not os.path.isabs(out["codePath"]):
        out["codePath"] = str((base / out["codePath"]).resolve())
    code = out.get("code")
    if isinstance(code, dict) and isinstance(code.get("path"), str) \
            and not os.path.isabs(code["path"]):
        out["code"] = {**code, "path": str((base / code["path"]).resolve())}
    return out


def _descriptor(data: Any, source: str) -> Descriptor:
    """The descriptor with line numbers when ``source`` is the file it came from."""
    path = Path(source)
    with contextlib.suppress(ValidationFailed, OSError, ValueError):
        if path.is_file():
            for desc in load_file(path):
                if desc.data == data:
                    return desc
    return Descriptor(data, Source(source))


def _hint(diag: Diagnostic) -> Diagnostic:
    """The catalogue here is the store: say how to fill it."""
    text = "is not in the given algorithm files"
    if text in diag.message:
        return dataclasses.replace(diag, message=diag.message.replace(
            text, "is not stored (hkube2argo algorithm apply -f FILE)"))
    return diag


# --------------------------------------------------------------------------------- backend


class EmbeddedBackend:
    """:class:`~hkube2argo.backends.base.Backend` on this machine (see the module doc)."""

    name = "embedded"
    poll_interval = 0.2  # seconds between status polls while a command follows a job

    def __init__(self, state: str | Path = DEFAULT_STATE, config: ClusterConfig = DEFAULT, *,
                 workers: int | None = None, warm: bool = True):
        self.state = Path(state).resolve()
        self.config = config
        self.workers = workers
        self.warm = warm

    # folders ------------------------------------------------------------------------------

    @property
    def pipelines_dir(self) -> Path:
        return self.state / "store" / "pipelines"

    @property
    def algorithms_dir(self) -> Path:
        return self.state / "store" / "algorithms"

    @property
    def code_dir(self) -> Path:
        return self.state / "store" / "code"

    @property
    def jobs_dir(self) -> Path:
        return self.state / "jobs"

    def _store(self) -> Store:
        from ..runner.run import RunError, StorageSpec

        try:
            return StorageSpec().open(self.state, self.config.bucket)
        except RunError as exc:
            raise BackendError(str(exc)) from None

    def _job(self, job_id: str) -> Path:
        folder = self.jobs_dir / job_id
        if not job_id or "/" in job_id or job_id in (".", "..") or \
                not (folder / "job.json").is_file():
            raise NotFound(f"jobId {job_id} Not Found (no job folder in {self.jobs_dir})")
        return folder

    # algorithms ---------------------------------------------------------------------------

    def _algorithm_spec(self, descriptor: dict[str, Any], source: str) -> AlgorithmSpec:
        """Validated as ``-a`` files are: with line numbers when ``source`` is the file."""
        from ..validate import load_algorithms

        if not isinstance(descriptor, dict):
            raise ValidationFailed([Diagnostic("an algorithm descriptor must be an object",
                                               (), source)])
        path = Path(source)
        single = False
        with contextlib.suppress(ValidationFailed, OSError, ValueError):
            if path.is_file():
                loaded = load_file(path)
                single = len(loaded) == 1 and loaded[0].data == descriptor
        if single:  # the file as given: messages with its lines
            catalog = load_algorithms([path])
        else:
            base = Path(source).parent if Path(source).is_file() else Path.cwd()
            with tempfile.TemporaryDirectory(prefix="h2a-alg-") as tmp:
                path = Path(tmp) / "algorithm.json"
                path.write_text(json.dumps(absolute_code_path(descriptor, base)),
                                encoding="utf-8")
                catalog = load_algorithms([path])
            catalog.diagnostics = [dataclasses.replace(d, file=source, line=None)
                                   for d in catalog.diagnostics]
        if catalog.errors or len(catalog.specs) != 1:
            raise ValidationFailed(catalog.diagnostics or [Diagnostic(
                "expected one algorithm descriptor", (), source)])
        return next(iter(catalog.specs.values()))

    def apply_algorithm(self, descriptor: dict[str, Any], source: str, *, build: bool = False,
                        registry: str | None = None,
                        force_build: bool = False) -> dict[str, Any]:
        """HKube's ``POST /store/algorithms/apply``: create or update; code is packed,
        kept under its content key in the storage and unpacked in the store. No image
        builds here (``build`` is refused): code algorithms run from their code."""
        if build:
            raise BackendError("algorithm builds run on Argo only (set ARGO_SERVER): this "
                               "machine has no container builder; without --build the code "
                               "runs as is")
        spec = self._algorithm_spec(descriptor, source)
        stored: dict[str, Any] = thaw(spec.descriptor)  # type: ignore[assignment]
        stored["type"] = spec.type
        if spec.type == "Code" and spec.code_path:
            try:
                data = codepack.pack(spec.code_path)
            except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
                raise BackendError(f"cannot pack the code of {spec.name} "
                                   f"({spec.code_path}): {exc}") from None
            digest = codepack.digest(data)
            key = codepack.code_key(self.config.key_prefix, spec.name, data)
            store = self._store()
            if store.get(key) is None:
                store.put(key, data)
            target = self.code_dir / spec.name / digest
            if not target.is_dir():
                codepack.unpack(data, target)
            stored["codePath"] = os.path.relpath(target, self.algorithms_dir)
            stored["fileInfo"] = {"fileExt": "tar.gz", "checksum": digest,
                                  "fileSize": len(data), "path": key}
        path = self.algorithms_dir / f"{_file_name(spec.name)}.json"
        old = read_json(path)
        version = _version(stored)
        if isinstance(old, dict) and old.get("version") == version:
            return {"messages": [f"algorithm {spec.name} is up to date (version {version})"],
                    "algorithm": old}
        now = now_ms()
        created = old.get("created", now) if isinstance(old, dict) else now
        stored.update(version=version, created=created, modified=now)
        write_json(path, stored)
        verb = "updated" if old else "created"
        return {"messages": [f"algorithm {spec.name} {verb} (version {version})"],
                "algorithm": stored}

    def get_algorithm(self, name: str) -> dict[str, Any]:
        stored = read_json(self.algorithms_dir / f"{_file_name(name)}.json")
        if not isinstance(stored, dict):
            raise NotFound(f"algorithm {name} Not Found")
        return stored

    def list_algorithms(self) -> list[dict[str, Any]]:
        return self._list(self.algorithms_dir)

    def delete_algorithm(self, name: str, force: bool = False) -> dict[str, Any]:
        """HKube refuses while stored pipelines use the algorithm, unless forced."""
        self.get_algorithm(name)
        users = sorted(p["name"] for p in self.list_pipelines()
                       if any(isinstance(n, dict) and n.get("algorithmName") == name
                              for n in p.get("nodes") or []))
        if users and not force:
            raise BackendError(f"algorithm {name} is used by stored pipelines "
                               f"{', '.join(users)}: delete them first, or use --force")
        (self.algorithms_dir / f"{_file_name(name)}.json").unlink(missing_ok=True)
        shutil.rmtree(self.code_dir / name, ignore_errors=True)
        return {"message": f"algorithm {name} successfully deleted from store"}

    # pipelines ----------------------------------------------------------------------------

    @staticmethod
    def _list(folder: Path) -> list[dict[str, Any]]:
        if not folder.is_dir():
            return []
        items = [read_json(p) for p in sorted(folder.glob("*.json"))]
        return sorted((i for i in items if isinstance(i, dict)), key=lambda i: str(i["name"]))

    def _catalog(self) -> Catalog:
        from ..validate import load_algorithms

        self.algorithms_dir.mkdir(parents=True, exist_ok=True)
        return load_algorithms([self.algorithms_dir])

    def _check(self, desc: Descriptor, *, check_flow_input: bool = True) -> Plan:
        """What the runner will check, before it is started: errors are printed here,
        with the user's file and lines. A broken stored algorithm fails only the pipelines
        that use it."""
        from ..validate import validate_with_algorithms

        result = validate_with_algorithms(desc, self._catalog(),
                                          check_flow_input=check_flow_input)
        if result.plan is None:
            raise ValidationFailed([_hint(d) for d in result.diagnostics])
        return result.plan

    def store_pipeline(self, descriptor: dict[str, Any], source: str) -> dict[str, Any]:
        """Create or update (``POST``/``PUT /store/pipelines``): HKube's defaults filled
        in; its flowInput is checked when it runs, as HKube does."""
        from ..models import Pipeline
        from ..runner.run import set_semaphore_key

        plan = self._check(_descriptor(descriptor, source), check_flow_input=False)
        set_semaphore_key(self.state, plan, self.config)  # as store does on Argo
        stored = Pipeline.model_validate(descriptor).wire()
        path = self.pipelines_dir / f"{_file_name(plan.name)}.json"
        old = read_json(path)
        version = _version(stored)
        if isinstance(old, dict) and old.get("version") == version:
            return old
        now = now_ms()
        stored.update(version=version,
                      created=old.get("created", now) if isinstance(old, dict) else now,
                      modified=now)
        write_json(path, stored)
        return stored

    def get_pipeline(self, name: str) -> dict[str, Any]:
        stored = read_json(self.pipelines_dir / f"{_file_name(name)}.json")
        if not isinstance(stored, dict):
            raise NotFound(f"pipeline {name} Not Found")
        return stored

    def list_pipelines(self) -> list[dict[str, Any]]:
        return self._list(self.pipelines_dir)

    def delete_pipeline(self, name: str) -> dict[str, Any]:
        self.get_pipeline(name)
        (self.pipelines_dir / f"{_file_name(name)}.json").unlink(missing_ok=True)
        return {"message": f"pipeline {name} successfully deleted from store"}

    # exec ---------------------------------------------------------------------------------

    def exec_raw(self, descriptor: dict[str, Any], source: str) -> Submitted:
        """``POST /exec/raw`` with the stored algorithms; returns once the job exists."""
        if not isinstance(descriptor, dict):
            raise ValidationFailed([Diagnostic("a pipeline descriptor must be an object", (),
                                               source)])
        plan = self._check(_descriptor(descriptor, source))
        self._runnable(plan)
        return self._submit(descriptor, ["raw"])

    def exec_stored(self, name: str, flow_input: dict[str, Any] | None) -> Submitted:
        """``POST /exec/stored``: a given flowInput replaces the stored one (HKube)."""
        stored = self.get_pipeline(name)
        data = {k: v for k, v in stored.items() if k not in STORE_KEYS}
        if flow_input is not None:
            data["flowInput"] = flow_input
        plan = self._check(Descriptor(data, Source(f"stored pipeline {name}")))
        self._runnable(plan)
        return self._submit(data, ["stored"])

    @staticmethod
    def _runnable(plan: Plan) -> None:
        images = [a.name for a in plan.algorithms if a.type != "Code"]
        if images:
            raise BackendError(f"image algorithms ({', '.join(images)}) run only on Argo "
                               "(set ARGO_SERVER): no container engine runs here; apply them "
                               "with code (--code-path) to run them locally")

    def _submit(self, data: dict[str, Any], types: list[str]) -> Submitted:
        """Start a detached runner process and wait for its jobId (never submits twice)."""
        folder = self.state / "submissions" / secrets.token_hex(6)
        folder.mkdir(parents=True)
        write_json(folder / "pipeline.json", data)
        spec = {"state": str(self.state), "pipeline": str(folder / "pipeline.json"),
                "algorithms": [str(self.algorithms_dir)], "pipelines": str(self.pipelines_dir),
                "types": types, "config": dataclasses.asdict(self.config),
                "workers": self.workers, "warm": self.warm, "submission": str(folder)}
        write_json(folder / "spec.json", spec)
        log = folder / LOG
        with open(log, "wb") as err:
            try:
                proc = subprocess.Popen(
                    [sys.executable, "-m", CHILD_MODULE, str(folder / "spec.json")],
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                    cwd=self.state, env=child_env(), start_new_session=True)
            except OSError as exc:
                shutil.rmtree(folder, ignore_errors=True)
                raise BackendError(f"cannot start the runner process: {exc}") from None
        line = first_line(proc, START_TIMEOUT)
        assert proc.stdout is not None
        if line is None:
            kill_runner({"pid": proc.pid, "pgid": proc.pid}, folder)
            proc.stdout.close()
            raise BackendError(f"the runner did not start the job within {START_TIMEOUT:g} s "
                               f"(its log: {log})")
        proc.stdout.close()
        try:
            message = json.loads(line) if line.strip() else {}
        except json.JSONDecodeError:
            message = {"error": line.decode(errors="replace").strip()}
        job_id = message.get("jobId")
        if job_id:
            CHILDREN[proc.pid] = proc
            return Submitted(job_id)
        proc.wait()
        tail = log_tail(log, 3)
        shutil.rmtree(folder, ignore_errors=True)
        if message.get("diagnostics"):
            raise ValidationFailed([Diagnostic(d["message"], tuple(d["loc"]), d["file"],
                                               d["line"], d["severity"])
                                    for d in message["diagnostics"]])
        raise BackendError(message.get("error") or
                           f"the runner exited ({proc.returncode}) before the job started"
                           + (f": {tail}" if tail else ""))

    # jobs ---------------------------------------------------------------------------------

    def _job_state(self, job_id: str, folder: Path) -> tuple[str, dict[str, Any] | None,
                                                               str | None]:
        """(status, result document or None, error) of a job."""
        result = read_json(folder / RESULT)
        if isinstance(result, dict):
            return str(result.get("status", "completed")), result, result.get("error")
        if (folder / STOP).is_file():
            return "stopped", None, None  # the stop is under way
        runner = read_json(folder / RUNNER)
        if not isinstance(runner, dict):
            return "active", None, None  # run by hkube2argo run: nothing else is known
        if alive(runner):
            return "active", None, None
        result = read_json(folder / RESULT)  # it may have ended just now
        if isinstance(result, dict):
            return str(result.get("status", "completed")), result, result.get("error")
        return "failed", None, (
            f"the runner process (pid {runner.get('pid')}) ended without a result "
            f"(see {folder / LOG}); continue the job with: hkube2argo run --resume {job_id} "
            f"--state {self.state}")

    def status(self, job_id: str) -> dict[str, Any]:
        """``GET /exec/status/{jobId}``."""
        folder = self._job(job_id)
        job = read_json(folder / "job.json") or {}
        status, result, error = self._job_state(job_id, folder)
        counts = local_progress.counts(folder, status)
        stamps = [p.stat().st_mtime for p in (folder / n for n in (
            "job.json", RUNNER, EVENTS, "journal.jsonl", RESULT, STOP)) if p.exists()]
        timestamp = int(max(stamps) * 1000) if stamps else now_ms()
        if result is not None and isinstance(result.get("timestamp"), int):
            timestamp = result["timestamp"]
        took = result.get("timeTook") if result is not None else None
        body = status_object(job_id, str(job.get("pipeline", "")), status,
                             succeeded=counts["succeeded"], failed=counts["failed"],
                             active=counts["active"], skipped=counts["skipped"],
                             total=counts["total"], error=error,
                             node=result.get("nodeName") if result else None,
                             timestamp=timestamp, took=took)
        if status == "stopped":
            stop = read_json(folder / STOP) or {}
            reason = (result or {}).get("reason") or stop.get("reason")
            if reason:
                body["reason"] = reason
        return body

    def result(self, job_id: str) -> dict[str, Any]:
        """``GET /exec/results/{jobId}``; HKube's 400 message before the job ends."""
        folder = self._job(job_id)
        status, result, error = self._job_state(job_id, folder)
        job = read_json(folder / "job.json") or {}
        pipeline = job.get("pipeline", "")
        if status not in TERMINAL or (status == "stopped" and result is None):
            raise BackendError(f"unable to get results for pipeline {pipeline} because its in "
                               f"{status} status")
        if result is None:  # the runner died without writing one
            runner = read_json(folder / RUNNER) or {}
            result = {"jobId": job_id, "pipeline": pipeline, "status": "failed",
                      "timestamp": now_ms(), "error": error,
                      "startTime": runner.get("startTime")}
            result = {k: v for k, v in result.items() if v is not None}
        return result

    def stop(self, job_id: str, reason: str | None) -> dict[str, Any]:
        """``POST /exec/stop``: the runner and its tasks are killed; the job is stopped
        with the reason."""
        folder = self._job(job_id)
        status, _result, _error = self._job_state(job_id, folder)
        if status not in ("pending", "active"):
            raise BackendError(f"cannot stop job {job_id}: it is {status} (only pending and "
                               "active jobs can be stopped)")
        runner = read_json(folder / RUNNER)
        if not isinstance(runner, dict):
            raise BackendError(f"job {job_id} was started by hkube2argo run, not by exec: "
                               "stop that command (Ctrl-C)")
        reason = reason or "stopped by user"
        now = now_ms()
        write_json(folder / STOP, {"reason": reason, "timestamp": now})
        kill_runner(runner, folder)
        ended = read_json(folder / RESULT)
        if isinstance(ended, dict) and ended.get("status") in ("completed", "failed"):
            (folder / STOP).unlink(missing_ok=True)
            raise BackendError(f"job {job_id} {ended['status']} before it could be stopped")
        job = read_json(folder / "job.json") or {}
        started = runner.get("startTime")
        document = {"jobId": job_id, "pipeline": job.get("pipeline", ""),
                    "startTime": started, "status": "stopped", "timestamp": now,
                    "timeTook": round((now - started) / 1000, 3) if started else None,
                    "reason": reason}
        write_json(folder / RESULT, {k: v for k, v in document.items() if v is not None})
        return {"stoppedJobIds": [job_id]}

    def get(self, job_id: str) -> dict[str, Any]:
        """``GET /exec/pipelines/{jobId}``: the executed pipeline, with defaults."""
        folder = self._job(job_id)
        executed = read_json(folder / EXECUTED)
        if not isinstance(executed, dict):
            raise BackendError(f"job {job_id} has no recorded pipeline: it was started by "
                               "hkube2argo run, not by exec")
        return executed



if __name__ == "__main__":  # the runner process: CHILD_MODULE is this module
    from .jobprocess import child

    sys.exit(child(sys.argv[1]))
