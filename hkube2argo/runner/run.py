"""``hkube2argo run``: compile a pipeline, then execute the compiled Workflow here.

A run is a job: its id is the Workflow's name, and its folder
(``<state>/jobs/<jobId>/``) keeps the exact manifest, the journal of finished tasks,
every task's folder and log, and the result document; data lives in the storage (a local
folder or an S3 bucket) under the same keys as on Argo.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import secrets
import shutil
import string
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .. import codepack, serialize
from ..compiler import Manifests, compile_manifests
from ..config import DEFAULT, ClusterConfig
from ..diagnostics import Diagnostic, ValidationFailed
from ..emit import semaphore as emit_semaphore
from ..emit.artifacts import PARENT_PARAMETER
from ..jobgraph import MARK
from ..loading import load_file
from ..plan import Plan, thaw
from ..runtime import jobstatus, layout
from ..runtime.algorithm import POD_DEADLINE_MESSAGE, TTL_MESSAGE
from ..validate import load_algorithms, validate_with_algorithms
from . import joblock, semaphores, support
from .engine import Engine, Event, Outcome
from .journal import Journal
from .store import LocalStore, S3Store, Store, StoreLost
from .tags import Unsupported

ALPHABET = string.ascii_lowercase + string.digits
DEFAULT_STATE = Path(".hkube2argo")


class RunError(Exception):
    """The run could not start (bad storage, unknown job, unsupported manifest)."""


class Interrupted(Exception):
    """Ctrl-C stopped the job; what finished is journaled (``--resume`` goes on)."""

    def __init__(self, job_id: str):
        super().__init__(job_id)
        self.job_id = job_id


@dataclass
class StorageSpec:
    """Where the data goes: a folder (default, under the state folder) or an S3 bucket."""

    folder: Path | None = None
    bucket: str | None = None
    endpoint: str | None = None
    secure: bool = False

    def open(self, state: Path, bucket: str) -> Store:
        if self.endpoint:
            access = os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("MINIO_ACCESS_KEY")
            secret = os.environ.get("AWS_SECRET_ACCESS_KEY") or os.environ.get(
                "MINIO_SECRET_KEY")
            if not access or not secret:
                raise RunError("S3 storage needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                               "(or MINIO_ACCESS_KEY and MINIO_SECRET_KEY) in the environment")
            try:
                return S3Store(self.endpoint, self.bucket or bucket, access, secret, self.secure)
            except Exception as exc:  # the client raises many kinds; say it in one line
                raise RunError(f"cannot use s3://{self.bucket or bucket} at {self.endpoint}: "
                               f"{exc}") from None
        return LocalStore(self.folder or state / "storage", self.bucket or bucket)

    def to_json(self) -> dict[str, Any]:
        return {"folder": str(self.folder) if self.folder else None, "bucket": self.bucket,
                "endpoint": self.endpoint, "secure": self.secure}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StorageSpec:
        folder = data.get("folder")
        return cls(Path(folder) if folder else None, data.get("bucket"), data.get("endpoint"),
                   bool(data.get("secure")))


@dataclass
class RunResult:
    job_id: str
    status: str  # completed | failed
    document: dict[str, Any]  # HKube's /exec/results shape
    folder: Path
    node: str | None = None
    error: str | None = None
    log_tail: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    phase: str = ""  # the Workflow's phase as Argo would end it: Succeeded, Failed, Error
    already: bool = False  # --resume of a job that had completed: nothing was run


def new_job_id(generate_name: str) -> str:
    return generate_name + "".join(secrets.choice(ALPHABET) for _ in range(5))


def plan_for_run(pipeline: str | Path, algorithms: Sequence[str | Path],
                 flow_input: dict[str, Any] | None, overrides: dict[str, Any],
                 parent_data: list[Any] | None = None,
                 warn: Callable[[list[Diagnostic]], None] | None = None) -> Plan:
    """Validate with the flowInput the run will get (given flowInput replaces the stored
    one, as HKube's exec stored does; ``-p key=value`` sets top-level keys). A triggered run
    is checked against its flowInput with ``parent`` merged in, as HKube checks it; the
    merge itself happens in the run's prepare step, from the parent's stored results."""
    catalog = load_algorithms(list(algorithms))
    descriptors = load_file(pipeline)
    if len(descriptors) != 1:
        raise RunError(f"{pipeline}: expected one pipeline, found {len(descriptors)}")
    desc = descriptors[0]
    if isinstance(desc.data, dict) and (flow_input is not None or overrides):
        data = dict(desc.data)
        base = flow_input if flow_input is not None else data.get("flowInput") or {}
        data["flowInput"] = {**base, **overrides}
        desc = type(desc)(data, desc.source)
    if parent_data is not None and isinstance(desc.data, dict):
        from ..runtime.tasks import merge

        checked = dict(desc.data)
        checked["flowInput"] = merge(checked.get("flowInput") or {}, {"parent": parent_data})
        verdict = validate_with_algorithms(type(desc)(checked, desc.source), catalog)
        if verdict.plan is None:
            raise ValidationFailed(verdict.diagnostics)
        result = validate_with_algorithms(desc, catalog, check_flow_input=False)
    else:
        result = validate_with_algorithms(desc, catalog)
    if result.plan is None:
        raise ValidationFailed(result.diagnostics)
    if warn is not None and result.warnings:
        warn(result.warnings)
    return result.plan


def upload_code(plan: Plan, config: ClusterConfig, store: Store) -> None:
    """What ``algorithm apply`` does on a cluster: code tarballs under their content keys."""
    for alg in plan.algorithms:
        if alg.type == "Code" and alg.code_path:
            data = codepack.pack(alg.code_path)
            key = codepack.code_key(config.key_prefix, alg.name, data)
            if store.get(key) is None:
                store.put(key, data)


def set_semaphore_key(state: Path, plan: Plan, config: ClusterConfig) -> None:
    """The local ConfigMap gets the pipeline's concurrentPipelines key (emit/semaphore.py)."""
    value = emit_semaphore.limit(plan)
    if value is not None:
        semaphores.set_key(state.resolve(), config.semaphore_configmap,
                           emit_semaphore.key(plan), value)


def _image_algorithms(plan: Plan) -> list[str]:
    return [a.name for a in plan.algorithms if a.type != "Code"]


def missing_interpreter(plan: Plan) -> str | None:
    """One line naming what to install when a code algorithm's interpreter is not here.

    On Argo the runtime image brings it; locally the runner needs it on PATH, and without
    this check a missing ``node`` surfaced as a crash with a Python traceback in the log."""
    node = os.environ.get("H2A_NODE", "node")
    users = sorted(a.name for a in plan.algorithms
                   if a.type == "Code" and (a.env or "python") == "nodejs")
    if users and shutil.which(node) is None:
        return (f"Node.js algorithms ({', '.join(users)}) need `{node}` on PATH, which is not "
                "there: install Node.js 18 or later (Debian/Ubuntu: apt-get install nodejs)")
    return None


class Runner:
    def __init__(self, state: Path = DEFAULT_STATE, workers: int | None = None,
                 config: ClusterConfig = DEFAULT,
                 on_event: Callable[[Event], None] | None = None, warm: bool = True,
                 debug_node: str | None = None,
                 on_job: Callable[[str, Path], None] | None = None,
                 on_warnings: Callable[[list[Diagnostic]], None] | None = None):
        self.state = state.resolve()  # task folders and H2A_ROOT must be absolute
        self.warm = warm
        self.debug_node = debug_node
        self.on_job = on_job  # told each job's id and folder before it runs
        self.on_warnings = on_warnings  # told the descriptors' warnings before a job starts
        self.workers = workers or os.cpu_count() or 2
        self.config = config
        self.on_event = on_event
        self._engine: Engine | None = None  # the job running now, for interrupt()

    def interrupt(self) -> None:
        """Ctrl-C: stop the running job (its tasks get SIGTERM, then SIGKILL); it raises
        :class:`Interrupted` where it ran. Safe to call from a signal handler."""
        engine = self._engine
        if engine is not None:
            engine.interrupt()

    def start(self, pipeline: str | Path, algorithms: Sequence[str | Path],
              storage: StorageSpec, flow_input: dict[str, Any] | None = None,
              overrides: dict[str, Any] | None = None, parent: RunResult | None = None,
              from_job: str | None = None, rerun: Sequence[str] = (),
              set_semaphore: bool = True) -> RunResult:
        """A new job. ``parent``: the completed run that triggers this one (its result data
        becomes ``flowInput.parent``). ``from_job`` + ``rerun``: run only those nodes (and
        what depends on them), reusing the other nodes' stored results from that job.
        ``set_semaphore``: set the pipeline's concurrentPipelines key first, as ``exec raw``
        does on Argo; runs of a stored pipeline find the key its store set (or fail)."""
        parent_data = parent.document.get("data", []) if parent is not None else None
        plan = plan_for_run(pipeline, algorithms, flow_input, overrides or {}, parent_data,
                            self.on_warnings)
        images = _image_algorithms(plan)
        if images:
            raise RunError(f"image algorithms ({', '.join(images)}) run only on Argo: no "
                           "container engine can run here; give them code.path to run locally")
        missing = missing_interpreter(plan)
        if missing:
            raise RunError(missing)
        manifests = compile_manifests(plan, self.config)
        if set_semaphore:
            set_semaphore_key(self.state, plan, self.config)
        workflow = copy.deepcopy(manifests.workflow)
        meta = workflow["metadata"]
        job_id = new_job_id(meta.pop("generateName"))
        meta["name"] = job_id
        if parent is not None:
            for param in workflow["spec"]["arguments"].get("parameters", []):
                if param["name"] == PARENT_PARAMETER:
                    param["value"] = parent.job_id
        store = storage.open(self.state, self.config.bucket)  # fails before any job exists
        try:
            upload_code(plan, self.config, store)
        except StoreLost as exc:
            raise RunError(str(exc)) from None
        folder = self.state / "jobs" / job_id
        folder.mkdir(parents=True, exist_ok=True)
        with _locked(folder, job_id):
            (folder / "workflow.yaml").write_text(serialize.dump(workflow), encoding="utf-8")
            (folder / "job.json").write_text(json.dumps({
                "jobId": job_id, "pipeline": plan.name, "storage": storage.to_json(),
                "config": {"bucket": self.config.bucket, "keyPrefix": self.config.key_prefix},
                "nodes": _node_names(manifests), "startTime": int(time.time() * 1000),
                "flowInputDigest": _digest(plan.flow_input)},
                indent=2), encoding="utf-8")
            if from_job:
                try:
                    self._reuse(plan, from_job, rerun, job_id, folder, store)
                except StoreLost as exc:
                    raise RunError(f"job {job_id} could not start: {exc}") from None
            return self._execute(workflow, job_id, folder, store)

    def _reuse(self, plan: Plan, old_job: str, rerun: Sequence[str], job_id: str,
               folder: Path, store: Store) -> None:
        """HKube's "debug a part of a pipeline based on previous results": the containers of
        the nodes not rerun are copied from the old job (their stored objects under the new
        job's prefix, their journal lines), so the engine does not run them again."""
        old_folder = self.state / "jobs" / old_job
        if not (old_folder / "journal.jsonl").is_file():
            raise RunError(f"unknown job {old_job} (no journal in {old_folder})")
        names = {n.name for n in plan.nodes}
        unknown = sorted(set(rerun) - names)
        if unknown:
            from ..spelling import suggest

            hints = [f"{u} (did you mean {hint}?)" if (hint := suggest(u, names)) else u
                     for u in unknown]
            raise RunError(f"--nodes: {', '.join(hints)} not in pipeline {plan.name} (its "
                           f"nodes: {', '.join(n.name for n in plan.nodes)})")
        again = set(rerun)
        for node in plan.nodes:  # topological: children after parents
            if any(p.node in again for p in node.parents):
                again.add(node.name)
        was = json.loads((old_folder / "job.json").read_text(encoding="utf-8")).get(
            "flowInputDigest")
        if was is not None and was != _digest(plan.flow_input) and self.on_warnings:
            self.on_warnings([Diagnostic(
                f"--from-job {old_job}: that job ran with another flowInput; the results it "
                f"lends to the nodes not rerun were computed from that one", ("flowInput",),
                str(plan.source), severity="warning")])
        old = Journal(old_folder / "journal.jsonl")
        nodes = json.loads((old_folder / "job.json").read_text(encoding="utf-8"))["nodes"]
        old_prefix = layout.job_prefix(self.config.key_prefix, old_job)
        new_prefix = layout.job_prefix(self.config.key_prefix, job_id)
        journal = Journal(folder / "journal.jsonl")
        for path, outputs in old.done.items():
            task = path.rsplit("/", 1)[-1].split("(", 1)[0]
            node = nodes.get(task)
            if node is None or node in again:
                continue  # prepare, results and rerun nodes run anew
            keys = []
            for key in old.keys.get(path, []):
                data = store.get(key)
                if data is not None and key.startswith(old_prefix):
                    target = new_prefix + key[len(old_prefix):]
                    store.put(target, data)
                    keys.append(target)
            journal.record(path, outputs, keys)

    def resume(self, job_id: str) -> RunResult:
        folder = self.state / "jobs" / job_id
        if not (folder / "workflow.yaml").is_file():
            raise RunError(f"unknown job {job_id} (no {folder / 'workflow.yaml'})")
        with _locked(folder, job_id):
            job = json.loads((folder / "job.json").read_text(encoding="utf-8"))
            done = _stored_result(folder)
            if done is not None and done.get("status") == "completed":
                # nothing to resume: the stored result, with its own times
                return RunResult(job_id, "completed", done, folder, already=True)
            workflow = yaml.safe_load((folder / "workflow.yaml").read_text(encoding="utf-8"))
            _keep_earlier_logs(folder)
            store = StorageSpec.from_json(job["storage"]).open(self.state,
                                                               job["config"]["bucket"])
            return self._execute(workflow, job_id, folder, store)

    def _execute(self, workflow: dict[str, Any], job_id: str, folder: Path,
                 store: Store) -> RunResult:
        try:
            support.check(workflow)
        except Unsupported as exc:
            raise RunError(f"the manifest uses {exc}") from None
        job = json.loads((folder / "job.json").read_text(encoding="utf-8"))
        debug_task = None
        if self.debug_node is not None:
            tasks = [t for t, n in job["nodes"].items() if n == self.debug_node
                     and MARK not in t]
            if not tasks:
                raise RunError(f"--debug-node: no node {self.debug_node!r} in {job['pipeline']}")
            debug_task = tasks[0]
        engine = Engine(workflow, job_id, store, folder, self.workers,
                        Journal(folder / "journal.jsonl"), self.on_event, warm=self.warm,
                        debug_task=debug_task)
        arguments = {a["name"]: a for a in workflow["spec"].get("arguments", {})
                     .get("artifacts", [])}
        deadline = workflow["spec"].get("activeDeadlineSeconds")
        if self.on_job is not None:
            self.on_job(job_id, folder)
        started = time.time()
        try:  # concurrentPipelines: Argo's workflow-level semaphore (runner/semaphores.py)
            lock = semaphores.acquire(self.state, workflow, job_id)
        except semaphores.SemaphoreFailed as exc:
            return self._refused(str(exc), job, job_id, folder, started)
        self._engine = engine
        try:
            outcome = engine.run(arguments, float(deadline) if deadline else None)
        finally:
            lock.release()
            self._engine = None
        if engine.interrupted:  # no result: the job stays unfinished, to be resumed
            raise Interrupted(job_id)
        engine.collect_pods(outcome.phase == "Succeeded")
        took = round(time.time() - started, 3)
        # a resumed job's document covers the whole job, from its first start
        first = job.get("startTime")
        origin = first / 1000 if isinstance(first, int | float) else started
        result = self._result(outcome, engine, job, store, job_id, origin,
                              round(time.time() - origin, 3))
        result.folder = folder
        result.stats = {**engine.stats, "seconds": took}
        result.phase = engine.status
        # Argo's status.nodes for this run (argonodes.py), for debugging and tests
        (folder / "nodes.json").write_text(json.dumps(engine.tree.status_nodes(), indent=1,
                                                      ensure_ascii=False), encoding="utf-8")
        (folder / "result.json").write_text(json.dumps(result.document, indent=2,
                                                       ensure_ascii=False), encoding="utf-8")
        return result

    @staticmethod
    def _refused(message: str, job: dict[str, Any], job_id: str, folder: Path,
                 started: float) -> RunResult:
        """A run Argo fails before any step (no nodes, no exit handler)."""
        document = {"jobId": job_id, "pipeline": job["pipeline"],
                    "startTime": int(started * 1000), "timeTook": 0.0, "status": "failed",
                    "timestamp": int(time.time() * 1000), "error": message}
        (folder / "result.json").write_text(json.dumps(document, indent=2,
                                                       ensure_ascii=False), encoding="utf-8")
        return RunResult(job_id, "failed", document, folder, None, message)

    def _result(self, outcome: Outcome, engine: Engine, job: dict[str, Any], store: Store,
                job_id: str, started: float, took: float) -> RunResult:
        prefix = layout.job_prefix(job["config"]["keyPrefix"], job_id)
        base = {"jobId": job_id, "pipeline": job["pipeline"], "startTime": int(started * 1000),
                "timeTook": took}
        if outcome.phase == "Succeeded":
            try:
                raw = store.get(f"{prefix}/{layout.results_key()}")
            except StoreLost as exc:
                outcome = Outcome("Error", message=f"the results could not be read: {exc}")
            else:
                document = json.loads(raw) if raw else {"data": []}
                document.update(base)
                return RunResult(job_id, "completed", document, Path())
        node, error, tail = _failure(engine, job.get("nodes", {}), outcome)
        document = {**base, "status": "failed", "timestamp": int(time.time() * 1000),
                    "error": error}
        if node:
            document["nodeName"] = node
        return RunResult(job_id, "failed", document, Path(), node, error, tail)


@contextlib.contextmanager
def _locked(folder: Path, job_id: str) -> Iterator[None]:
    """This runner alone works on the job while it runs (``joblock``)."""
    try:
        with joblock.hold(folder):
            yield
    except joblock.JobBusy as busy:
        raise RunError(f"job {job_id} is already running ({busy})") from None


def _digest(flow_input: Any) -> str:
    """A flowInput's fingerprint, to tell whether two jobs ran with the same one."""
    import hashlib

    text = json.dumps(thaw(flow_input), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _keep_earlier_logs(folder: Path) -> None:
    """A resumed job reruns unfinished tasks in the same attempt folders: the earlier run's
    task folders (their logs) move to ``tasks.earlier-N`` first, so no log is lost."""
    tasks = folder / "tasks"
    if tasks.is_dir():
        n = 1
        while (folder / f"tasks.earlier-{n}").exists():
            n += 1
        tasks.rename(folder / f"tasks.earlier-{n}")


def _stored_result(folder: Path) -> dict[str, Any] | None:
    try:
        value = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _node_names(manifests: Manifests) -> dict[str, str]:
    """Task key -> HKube node name (failures are reported in the user's names)."""
    return {t.key: t.node for t in manifests.graph.tasks if t.node}


def _failure(engine: Engine, nodes: dict[str, str], outcome: Outcome) -> tuple[str | None,
                                                                               str, str]:
    failed = [(path, o) for path, o in engine.containers.items()
              if o.phase in ("Failed", "Error") and not path.startswith("hooks/")]
    # batch items are tolerated (continueOn): the cause is a plain task or a collect step
    causes = [(p, o) for p, o in failed if "(" not in p] or failed
    if not causes:
        return None, outcome.message or "the pipeline failed", ""
    path, container = causes[0]  # the first to end
    task = path.rsplit("/", 1)[-1].split("(", 1)[0]
    tail = ""
    error = container.message
    if error == POD_DEADLINE_MESSAGE:  # the ttl's backstop: still HKube's ttl expiry
        error = f"{TTL_MESSAGE} (the algorithm did not stop: {error})"
    if engine.stop.is_set() and engine.stop_reason != "workflow stopped":
        return nodes.get(task, task), engine.stop_reason, ""
    node = nodes.get(task, task)
    if container.log and container.log.is_file():
        lines = container.log.read_text(encoding="utf-8", errors="replace").splitlines()
        tail = "\n".join(lines[-20:])
        mine = [ln for ln in lines if ln.startswith("hkube2argo: ")]
        if mine:
            said = mine[-1][len("hkube2argo: "):]
            node, error = jobstatus.blamed(said, node, set(nodes.values())) \
                or (node, said.split(" failed: ", 1)[-1])
            return node, error, tail
    # no log of ours (--debug-node ran it in this process): the termination message, read
    # as exec status reads Argo's node message
    node, error = jobstatus.said_by(error, node, set(nodes.values()))
    return node, error, tail



def triggered_by(result: RunResult, folder: Path) -> list[Path]:
    """Stored pipelines in ``folder`` whose ``triggers.pipelines`` name the pipeline that
    just completed (HKube: only completed runs trigger)."""
    if result.status != "completed":
        return []
    from ..loading import expand_paths

    out = []
    for path in expand_paths([folder]):
        try:
            descriptors = load_file(path)
        except ValidationFailed:
            continue  # not ours to report here; running it directly will
        for desc in descriptors:
            data = desc.data if isinstance(desc.data, dict) else {}
            triggers = data.get("triggers") if isinstance(data.get("triggers"), dict) else {}
            if result.document.get("pipeline") in (triggers.get("pipelines") or []):
                out.append(path)
    return out
