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
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from .. import codepack
from ..config import DEFAULT, ClusterConfig
from ..diagnostics import Diagnostic, ValidationFailed
from ..loading import Descriptor, Source, load_file
from ..models import Pipeline
from ..naming import RESERVED_MARK
from ..plan import AlgorithmSpec, Plan, thaw
from ..runner.engine import Event
from ..runner.journal import Journal
from ..runner.run import DEFAULT_STATE, RunError, Runner, RunResult, StorageSpec, triggered_by
from ..runner.store import Store
from ..validate import Catalog, load_algorithms, validate_descriptor
from .base import BackendError, NotFound, Submitted, status_object

CHILD_MODULE = "hkube2argo.backends.embedded"
TERMINAL = ("completed", "failed", "stopped")
START_TIMEOUT = 120.0  # seconds for a runner process to compile and announce its jobId
STOP_GRACE = 5.0  # seconds a runner gets to stop its tasks before it is killed
MAX_TRIGGERED = 100  # a trigger cycle (A starts B starts A) would never end, as in HKube
# Keys the store adds to a pipeline; stripped before it runs again.
STORE_KEYS = ("created", "modified", "version", "auditTrail")
RUNNER = "runner.json"
EXECUTED = "pipeline.json"
EVENTS = "events.jsonl"
STOP = "stop.json"
RESULT = "result.json"
LOG = "runner.log"

# Runner processes started by this process: polled so that they do not linger as zombies.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


# ---------------------------------------------------------------------------------- files


def _now_ms() -> int:
    return int(time.time() * 1000)


def _write_json(path: Path, value: Any) -> None:
    """Atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}.tmp")
    tmp.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> Any:
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


def _unpack(data: bytes, target: Path) -> None:
    """Packed code into ``target`` (atomically: a half-unpacked folder is never seen)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tmp, filter="data")
            else:  # pragma: no cover - Python < 3.11.4
                tar.extractall(tmp)  # our own deterministic pack
        try:
            os.rename(tmp, target)
        except OSError:  # another apply of the same code won
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _hint(diag: Diagnostic) -> Diagnostic:
    """The catalogue here is the store: say how to fill it."""
    text = "is not in the given algorithm files"
    if text in diag.message:
        return dataclasses.replace(diag, message=diag.message.replace(
            text, "is not stored (hkube2argo algorithm apply -f FILE)"))
    return diag


# ------------------------------------------------------------------------------ processes


def _proc_start(pid: int) -> str | None:
    """The process's start time in clock ticks (Linux), to tell a reused pid apart."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _alive(record: dict[str, Any]) -> bool:
    """Is the runner process of this record still running (not a zombie, not a new
    process that got the same pid)?"""
    pid = record.get("pid")
    if not isinstance(pid, int) or pid <= 1:
        return False
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        _CHILDREN.pop(pid, None)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: ours is gone
        return False
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        with contextlib.suppress(OSError):
            if stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z":
                return False
        started = record.get("procStart")
        if started is not None and _proc_start(pid) not in (None, started):
            return False
    return True


def _processes_in(folder: Path) -> list[int]:
    """Processes working inside ``folder`` (a job's tasks and what they started), found
    by their working folder: tasks lead their own process groups, so killing the runner's
    group does not reach them."""
    out = []
    prefix = str(folder.resolve()) + os.sep
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                if (os.readlink(f"/proc/{entry}/cwd") + os.sep).startswith(prefix):
                    out.append(int(entry))
    return out


def _group(pgid: int) -> list[tuple[int, list[str]]]:
    """(pid, command line) of the processes in a process group (Linux)."""
    out = []
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid:
                    argv = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
                    out.append((int(entry), argv.split("\0")))
    return out


def _kill_group(pgid: int, runner_was_alive: bool) -> None:
    """The runner's process group: its warm pool (a zygote and its task handlers). Only
    hkube2argo's own processes are killed, in case the group id was reused; the pool's
    socket folder is removed, as the pool would have on a clean exit."""
    if not Path("/proc").is_dir():  # no way to look: only a group that just lost its runner
        if runner_was_alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        return
    pools = set()
    for pid, argv in _group(pgid):
        if "hkube2argo.runner.zygote" not in argv:
            continue
        sock = Path(argv[argv.index("hkube2argo.runner.zygote") + 1])
        if sock.name == "zygote.sock" and sock.parent.name.startswith("h2a-"):
            pools.add(sock.parent)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    for pool in pools:
        shutil.rmtree(pool, ignore_errors=True)


def _kill_runner(record: dict[str, Any], folder: Path) -> None:
    """Stop a job's runner: SIGTERM (it kills its running tasks and exits), SIGKILL after
    a grace period, then its warm pool and any task left."""
    pid = record["pid"]
    alive = _alive(record)
    if alive:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        while _alive(record) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(record):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + STOP_GRACE
            while _alive(record) and time.monotonic() < deadline:
                time.sleep(0.05)
    pgid = record.get("pgid")
    if isinstance(pgid, int) and pgid > 1 and pgid != os.getpgid(0):
        _kill_group(pgid, alive)
    for task in _processes_in(folder):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(task, signal.SIGKILL)
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=STOP_GRACE)


def _child_env() -> dict[str, str]:
    """The runner process imports this very hkube2argo, installed or not."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def _first_line(proc: subprocess.Popen[bytes], timeout: float) -> bytes | None:
    """The runner's announcement, or None when it did not come in time."""
    box: list[bytes] = []
    assert proc.stdout is not None
    stdout = proc.stdout
    reader = threading.Thread(target=lambda: box.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return box[0] if box else None


def _log_tail(path: Path, lines: int = 1) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


# -------------------------------------------------------------------------------- progress

_TASK_OUTPUT = re.compile(r"^\{\{tasks\.([^.]+)\.outputs\.parameters\.([^}]+)\}\}$")


def _task_of(path: str) -> str:
    """``pipeline/part-1/Multiply(3)`` -> ``Multiply``."""
    return path.rsplit("/", 1)[-1].split("(", 1)[0]


def _resolve(value: Any, outputs: dict[str, dict[str, str]]) -> str | None:
    text = str(value)
    match = _TASK_OUTPUT.match(text)
    if match:
        return outputs.get(match.group(1), {}).get(match.group(2))
    return None if "{{" in text else text


def _instances(task: dict[str, Any], outputs: dict[str, dict[str, str]]) -> int | None:
    """How many containers a DAG task of the manifest runs: 1, its loop's size, or None
    while the size is not known yet (the task that computes it has not finished)."""
    if "withSequence" in task:
        seq = task["withSequence"]
        if "count" in seq:
            count = _resolve(seq["count"], outputs)
            return int(count) if count is not None and count.isdigit() else None
        start, end = _resolve(seq.get("start", 0), outputs), _resolve(seq.get("end"), outputs)
        if start is None or end is None:
            return None
        try:
            return max(0, int(end) - int(start) + 1)
        except ValueError:
            return None
    if "withItems" in task:
        return len(task["withItems"] or [])
    if "withParam" in task:
        items = _resolve(task["withParam"], outputs)
        try:
            return len(json.loads(items)) if items is not None else None
        except (json.JSONDecodeError, TypeError):
            return None
    return 1


def _counts(folder: Path, status: str) -> dict[str, int]:
    """HKube's task states of a job, from its manifest, journal and events: algorithm
    containers only (not the prepare, collect and results steps)."""
    job = _read_json(folder / "job.json") or {}
    algorithm_tasks = {t for t in (job.get("nodes") or {}) if RESERVED_MARK not in t}
    journal = Journal(folder / "journal.jsonl")
    done = {p for p in journal.done if _task_of(p) in algorithm_tasks}
    outputs = {_task_of(p): o for p, o in journal.done.items() if "(" not in p.rsplit("/", 1)[-1]}
    started: set[str] = set()
    ended: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in (folder / EVENTS).read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError, KeyError):
                event = json.loads(line)
                if _task_of(event["node"]) not in algorithm_tasks:
                    continue
                if event["kind"] == "started":
                    started.add(event["node"])
                else:
                    ended[event["node"]] = event.get("phase", "")
    failed = sum(1 for p, phase in ended.items() if phase != "Succeeded" and p not in done)
    active = 0 if status in TERMINAL else len(started - done - set(ended))
    total = skipped = 0
    try:
        workflow = yaml.safe_load((folder / "workflow.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        workflow = {}
    for template in (workflow or {}).get("spec", {}).get("templates", []):
        for task in (template.get("dag") or {}).get("tasks", []):
            if task.get("name") not in algorithm_tasks:
                continue
            count = _instances(task, outputs)
            if count == 0:
                skipped += 1  # an empty batch: HKube shows the node as skipped
            total += 1 if count in (None, 0) else count
    succeeded = len(done)
    total = max(total, succeeded + failed + active + skipped)
    if status == "completed":
        total = succeeded + failed + skipped
    return {"succeeded": succeeded, "failed": failed, "active": active, "skipped": skipped,
            "total": total}


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
                _unpack(data, target)
            stored["codePath"] = os.path.relpath(target, self.algorithms_dir)
            stored["fileInfo"] = {"fileExt": "tar.gz", "checksum": digest,
                                  "fileSize": len(data), "path": key}
        path = self.algorithms_dir / f"{_file_name(spec.name)}.json"
        old = _read_json(path)
        version = _version(stored)
        if isinstance(old, dict) and old.get("version") == version:
            return {"messages": [f"algorithm {spec.name} is up to date (version {version})"],
                    "algorithm": old}
        now = _now_ms()
        created = old.get("created", now) if isinstance(old, dict) else now
        stored.update(version=version, created=created, modified=now)
        _write_json(path, stored)
        verb = "updated" if old else "created"
        return {"messages": [f"algorithm {spec.name} {verb} (version {version})"],
                "algorithm": stored}

    def get_algorithm(self, name: str) -> dict[str, Any]:
        stored = _read_json(self.algorithms_dir / f"{_file_name(name)}.json")
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
        items = [_read_json(p) for p in sorted(folder.glob("*.json"))]
        return sorted((i for i in items if isinstance(i, dict)), key=lambda i: str(i["name"]))

    def _catalog(self) -> Catalog:
        self.algorithms_dir.mkdir(parents=True, exist_ok=True)
        catalog = load_algorithms([self.algorithms_dir])
        if catalog.errors:
            raise ValidationFailed(catalog.diagnostics)
        return catalog

    def _check(self, desc: Descriptor, *, check_flow_input: bool = True) -> Plan:
        """What the runner will check, before it is started: errors are printed here,
        with the user's file and lines."""
        result = validate_descriptor(desc, self._catalog(), check_flow_input=check_flow_input)
        if result.plan is None:
            raise ValidationFailed([_hint(d) for d in result.diagnostics])
        return result.plan

    def store_pipeline(self, descriptor: dict[str, Any], source: str) -> dict[str, Any]:
        """Create or update (``POST``/``PUT /store/pipelines``): HKube's defaults filled
        in; its flowInput is checked when it runs, as HKube does."""
        plan = self._check(_descriptor(descriptor, source), check_flow_input=False)
        stored = Pipeline.model_validate(descriptor).wire()
        path = self.pipelines_dir / f"{_file_name(plan.name)}.json"
        old = _read_json(path)
        version = _version(stored)
        if isinstance(old, dict) and old.get("version") == version:
            return old
        now = _now_ms()
        stored.update(version=version,
                      created=old.get("created", now) if isinstance(old, dict) else now,
                      modified=now)
        _write_json(path, stored)
        return stored

    def get_pipeline(self, name: str) -> dict[str, Any]:
        stored = _read_json(self.pipelines_dir / f"{_file_name(name)}.json")
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
        _write_json(folder / "pipeline.json", data)
        spec = {"state": str(self.state), "pipeline": str(folder / "pipeline.json"),
                "algorithms": [str(self.algorithms_dir)], "pipelines": str(self.pipelines_dir),
                "types": types, "config": dataclasses.asdict(self.config),
                "workers": self.workers, "warm": self.warm, "submission": str(folder)}
        _write_json(folder / "spec.json", spec)
        log = folder / LOG
        with open(log, "wb") as err:
            try:
                proc = subprocess.Popen(
                    [sys.executable, "-m", CHILD_MODULE, str(folder / "spec.json")],
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                    cwd=self.state, env=_child_env(), start_new_session=True)
            except OSError as exc:
                shutil.rmtree(folder, ignore_errors=True)
                raise BackendError(f"cannot start the runner process: {exc}") from None
        line = _first_line(proc, START_TIMEOUT)
        assert proc.stdout is not None
        if line is None:
            _kill_runner({"pid": proc.pid, "pgid": proc.pid}, folder)
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
            _CHILDREN[proc.pid] = proc
            return Submitted(job_id)
        proc.wait()
        tail = _log_tail(log, 3)
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
        result = _read_json(folder / RESULT)
        if isinstance(result, dict):
            return str(result.get("status", "completed")), result, result.get("error")
        if (folder / STOP).is_file():
            return "stopped", None, None  # the stop is under way
        runner = _read_json(folder / RUNNER)
        if not isinstance(runner, dict):
            return "active", None, None  # run by hkube2argo run: nothing else is known
        if _alive(runner):
            return "active", None, None
        result = _read_json(folder / RESULT)  # it may have ended just now
        if isinstance(result, dict):
            return str(result.get("status", "completed")), result, result.get("error")
        return "failed", None, (
            f"the runner process (pid {runner.get('pid')}) ended without a result "
            f"(see {folder / LOG}); continue the job with: hkube2argo run --resume {job_id} "
            f"--state {self.state}")

    def status(self, job_id: str) -> dict[str, Any]:
        """``GET /exec/status/{jobId}``."""
        folder = self._job(job_id)
        job = _read_json(folder / "job.json") or {}
        status, result, error = self._job_state(job_id, folder)
        counts = _counts(folder, status)
        stamps = [p.stat().st_mtime for p in (folder / n for n in (
            "job.json", RUNNER, EVENTS, "journal.jsonl", RESULT, STOP)) if p.exists()]
        timestamp = int(max(stamps) * 1000) if stamps else _now_ms()
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
            stop = _read_json(folder / STOP) or {}
            reason = (result or {}).get("reason") or stop.get("reason")
            if reason:
                body["reason"] = reason
        return body

    def result(self, job_id: str) -> dict[str, Any]:
        """``GET /exec/results/{jobId}``; HKube's 400 message before the job ends."""
        folder = self._job(job_id)
        status, result, error = self._job_state(job_id, folder)
        job = _read_json(folder / "job.json") or {}
        pipeline = job.get("pipeline", "")
        if status not in TERMINAL or (status == "stopped" and result is None):
            raise BackendError(f"unable to get results for pipeline {pipeline} because its in "
                               f"{status} status")
        if result is None:  # the runner died without writing one
            runner = _read_json(folder / RUNNER) or {}
            result = {"jobId": job_id, "pipeline": pipeline, "status": "failed",
                      "timestamp": _now_ms(), "error": error,
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
        runner = _read_json(folder / RUNNER)
        if not isinstance(runner, dict):
            raise BackendError(f"job {job_id} was started by hkube2argo run, not by exec: "
                               "stop that command (Ctrl-C)")
        reason = reason or "stopped by user"
        now = _now_ms()
        _write_json(folder / STOP, {"reason": reason, "timestamp": now})
        _kill_runner(runner, folder)
        ended = _read_json(folder / RESULT)
        if isinstance(ended, dict) and ended.get("status") in ("completed", "failed"):
            (folder / STOP).unlink(missing_ok=True)
            raise BackendError(f"job {job_id} {ended['status']} before it could be stopped")
        job = _read_json(folder / "job.json") or {}
        started = runner.get("startTime")
        document = {"jobId": job_id, "pipeline": job.get("pipeline", ""),
                    "startTime": started, "status": "stopped", "timestamp": now,
                    "timeTook": round((now - started) / 1000, 3) if started else None,
                    "reason": reason}
        _write_json(folder / RESULT, {k: v for k, v in document.items() if v is not None})
        return {"stoppedJobIds": [job_id]}

    def get(self, job_id: str) -> dict[str, Any]:
        """``GET /exec/pipelines/{jobId}``: the executed pipeline, with defaults."""
        folder = self._job(job_id)
        executed = _read_json(folder / EXECUTED)
        if not isinstance(executed, dict):
            raise BackendError(f"job {job_id} has no recorded pipeline: it was started by "
                               "hkube2argo run, not by exec")
        return executed


# ---------------------------------------------------------------------- the runner process


class _JobRunner(Runner):
    """The runner inside the detached process: records each job it starts (pid, the
    executed pipeline, container events) and announces the first one's jobId."""

    def __init__(self, spec: dict[str, Any], announce: Any):
        config = ClusterConfig(**spec["config"])
        super().__init__(Path(spec["state"]), spec.get("workers"), config,
                         on_event=self._event, warm=spec.get("warm", True),
                         on_job=self._job_started)
        self.spec = spec
        self.announce = announce
        self.folder: Path | None = None
        self.job_id: str | None = None
        self.pipeline: dict[str, Any] = {}
        self.types: list[str] = []
        self.parent: RunResult | None = None
        self._events = threading.Lock()

    def begin(self, path: Path, types: list[str], parent: RunResult | None = None) \
            -> RunResult:
        loaded = load_file(path)[0].data
        self.pipeline = loaded if isinstance(loaded, dict) else {}
        self.types, self.parent, self.folder, self.job_id = types, parent, None, None
        return self.start(path, self.spec["algorithms"], StorageSpec(), parent=parent)

    def _job_started(self, job_id: str, folder: Path) -> None:
        self.folder, self.job_id = folder, job_id
        now = _now_ms()
        _write_json(folder / RUNNER, {
            "pid": os.getpid(), "pgid": os.getpgid(0), "procStart": _proc_start(os.getpid()),
            "startTime": now, "types": self.types, "log": self.spec.get("log")})
        _write_json(folder / EXECUTED, self._executed(job_id, now))
        self.announce(job_id, folder)

    def _executed(self, job_id: str, now: int) -> dict[str, Any]:
        data = {k: v for k, v in self.pipeline.items() if k not in STORE_KEYS}
        if self.parent is not None:
            from ..runtime.tasks import merge

            data["flowInput"] = merge(data.get("flowInput") or {},
                                      {"parent": self.parent.document.get("data", [])})
        with contextlib.suppress(Exception):  # validated; never lose the record over defaults
            data = Pipeline.model_validate(data).wire()
        return {**data, "jobId": job_id, "startTime": now, "types": self.types}

    def _event(self, event: Event) -> None:
        folder = self.folder
        if folder is None:
            return
        line = json.dumps({"node": event.node, "kind": event.kind, "phase": event.phase,
                           "message": event.message, "at": _now_ms()})
        with self._events, open(folder / EVENTS, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def fail(self, message: str) -> None:
        """A run that broke after its job existed still gets a result document."""
        if self.folder is None or (self.folder / RESULT).exists():
            return
        job = _read_json(self.folder / "job.json") or {}
        _write_json(self.folder / RESULT, {
            "jobId": self.job_id, "pipeline": job.get("pipeline", ""), "status": "failed",
            "timestamp": _now_ms(), "error": message})


def _terminate(signum: int, _frame: Any) -> None:
    """SIGTERM (exec stop): kill the running tasks (each leads its own process group),
    then exit at once; exec stop writes the stopped result."""
    from ..runner.executor import kill_running

    kill_running()
    os._exit(128 + signum)


def _child(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    submission = Path(spec["submission"])
    pipe = os.dup(1)  # the announcement goes here; everything else to the log
    os.dup2(2, 1)
    announced: list[str] = []

    def say(message: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            os.write(pipe, (json.dumps(message) + "\n").encode())
            os.close(pipe)

    def announce(job_id: str, folder: Path) -> None:
        if announced:
            return
        announced.append(job_id)
        with contextlib.suppress(OSError):
            os.replace(submission / LOG, folder / LOG)
            spec["log"] = str(folder / LOG)
            runner_record = _read_json(folder / RUNNER) or {}
            _write_json(folder / RUNNER, {**runner_record, "log": spec["log"]})
        shutil.rmtree(submission, ignore_errors=True)
        say({"jobId": job_id})

    signal.signal(signal.SIGTERM, _terminate)
    runner = _JobRunner(spec, announce)
    try:
        result = runner.begin(Path(spec["pipeline"]), spec["types"])
    except ValidationFailed as exc:
        if not announced:
            say({"error": str(exc), "diagnostics": [
                {"message": d.message, "loc": list(d.loc), "file": d.file, "line": d.line,
                 "severity": d.severity} for d in exc.diagnostics]})
            return 2
        runner.fail(str(exc).replace("\n", " "))
        return 1
    except Exception as exc:  # a detached process has no one to show a traceback to
        traceback.print_exc()
        message = str(exc) if isinstance(exc, RunError) else f"{type(exc).__name__}: {exc}"
        if not announced:
            say({"error": message})
            return 2
        runner.fail(message)
        return 1
    _run_triggered(runner, result, Path(spec["pipelines"]))
    return 0


def _run_triggered(runner: _JobRunner, first: RunResult, folder: Path) -> None:
    """Each completed run starts the stored pipelines it triggers, breadth first."""
    done = 0
    queue = [first]
    while queue:
        parent = queue.pop(0)
        for path in triggered_by(parent, folder):
            if done >= MAX_TRIGGERED:
                print(f"stopping after {MAX_TRIGGERED} triggered runs (a trigger cycle?)",
                      file=sys.stderr)
                return
            done += 1
            try:
                queue.append(runner.begin(path, ["stored", "trigger"], parent=parent))
            except Exception as exc:  # one bad stored pipeline does not stop the others
                print(f"triggered pipeline {path.name}: {exc}", file=sys.stderr)
                runner.fail(str(exc).replace("\n", " "))


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1]))
