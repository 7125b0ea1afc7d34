"""The Argo backend: HKube's exec, pipeline and algorithm operations on an Argo cluster.

Runs, stored pipelines and their triggers are Argo objects, created through the **Argo
Server REST API** (argo-notes section 7); results, algorithm code and the stored
descriptors live in MinIO (``objects.py`` lists the keys and the variables that reach it).

The REST client (``urllib``, plain HTTP/1.1 with JSON, retried reads) is ``argo_http.py``;
its docstring says why it is not hera's ``WorkflowsService``.

The argo CLI's variables (``cmd/argo/commands/client/conn.go``):

================================  ============================================================
``ARGO_SERVER``                   ``host:port``, no scheme (required)
``ARGO_SECURE``                   TLS unless exactly ``false``
``ARGO_INSECURE_SKIP_VERIFY``     ``true``: TLS without certificate verification
``ARGO_TOKEN``                    sent verbatim as ``Authorization`` (``Bearer <token>``)
``ARGO_NAMESPACE``                the namespace; else ``ClusterConfig.namespace``; else
                                  ``argo`` (the argo CLI falls back to the kubeconfig's
                                  namespace; this backend never reads kubeconfig, so it
                                  uses Argo's quick-start namespace)
``ARGO_BASE_HREF``                path prefix of the server (``/argo`` behind an ingress)
``ARGO_HTTP1``                    accepted; HTTP/JSON is always used
================================  ============================================================

The namespace chosen is also the compile's namespace, so the manifests (and the
EventSource of triggered pipelines) name the namespace they are submitted to.

Where things are recorded:

- a run (jobId = the Workflow's name) carries annotations ``hkube2argo.io/tasks`` (task
  key -> HKube node name, for progress and failing-node names) and, when small,
  ``hkube2argo.io/descriptor`` (the executed pipeline, the raw-artifact encoding);
  bigger descriptors go to MinIO ``<prefix>/jobs/<jobId>/pipeline.json``;
- ``exec stop``'s reason goes to MinIO ``<prefix>/jobs/<jobId>/stop.json``: Argo's stop
  endpoint takes a ``message`` (sent too) but applies it only with a node selector, and
  the Argo Server has no endpoint to annotate a Workflow;
- stored pipelines and algorithms: MinIO ``<prefix>/store/{pipelines,algorithms}/<name>.json``,
  next to the WorkflowTemplate (CronWorkflow, EventSource, Sensor) of each pipeline.

Status: ``status.phase`` through ``PHASE_TO_STATUS``; a Failed/Error run whose
``spec.shutdown`` is set (Argo's stop or terminate) is ``stopped``. Progress counts the
algorithm pods (the last attempt of a retried task; our own steps are not HKube tasks),
with each task not started yet counted once.

Errors: descriptor problems raise ``ValidationFailed`` (every problem, as ``validate``
prints them) before anything is sent; everything else is one ``BackendError`` line
(``NotFound`` for an unknown jobId, pipeline or algorithm). A Workflow that Argo has
garbage-collected or archived is an unknown jobId here (the archive is not read).

``concurrentPipelines``: a run whose semaphore key is missing fails at once
(``emit/semaphore.py``). ``store_pipeline`` and ``exec_raw`` set the key first: the Argo
Server has no ConfigMap API, so they submit ``emit.semaphore.patch_workflow`` (a resource
template run by the chart's ``hkube2argo-semaphores`` account) and wait for it to succeed.
``exec raw`` skips it when MinIO ``<prefix>/store/semaphores/<key>.json`` records the same
value (set by an earlier patch); ``pipeline store`` always patches.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import time
import urllib.parse
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from .. import codepack, lint, naming
from ..config import LABEL_DOMAIN, PIPELINE_LABEL, ClusterConfig
from ..diagnostics import Diagnostic, ValidationFailed
from ..emit import build as emit_build
from ..emit import compile_plan
from ..emit import semaphore as emit_semaphore
from ..emit.cron import cron_name
from ..emit.dag import DagTooLarge
from ..emit.events import event_source_name, sensor_name, submitted_workflows
from ..emit.templates import EmitError
from ..emit.workflow import API_VERSION, Manifests, flow_input_argument, restore
from ..jobgraph import CompileError
from ..loading import Descriptor, Source
from ..models import Algorithm, Pipeline
from ..models.algorithm import fold_file_shape
from ..plan import Plan
from ..planner import algorithm_spec, resolve_code_path
from ..runtime import jobstatus, layout
from ..runtime.jobstatus import STOPPED, TASKS_ANNOTATION, status_object
from ..runtime.values import decode_raw, encode_raw
from ..validate import Catalog, _model_errors, validate_descriptor
from .argo_http import ArgoHttp, Conflict
from .base import BackendError, NotFound, Submitted
from .objects import ObjectStore

DEFAULT_NAMESPACE = "argo"
DESCRIPTOR_ANNOTATION = f"{LABEL_DOMAIN}/descriptor"
NAME_ANNOTATION = f"{LABEL_DOMAIN}/pipeline-name"
RUN_LABEL = f"{LABEL_DOMAIN}/run"
ANNOTATION_MAX = 64 * 1024  # the descriptor annotation; Kubernetes allows 256 KiB in all
FINISHED = ("completed", "failed", STOPPED)
DEFAULT_REASON = "stopped by user"  # as the embedded backend records it

# kind -> (REST collection, key of the object in create/update bodies)
COLLECTIONS = {
    "Workflow": ("workflows", "workflow"),
    "WorkflowTemplate": ("workflow-templates", "template"),
    "CronWorkflow": ("cron-workflows", "cronWorkflow"),
    "EventSource": ("event-sources", "eventSource"),
    "Sensor": ("sensors", "sensor"),
}
# Argo Events' update requests carry the name too (Argo Workflows' say it is ignored)
UPDATE_WITH_NAME = {"EventSource", "Sensor"}


def _now_ms() -> int:
    return int(time.time() * 1000)


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _ms(moment: datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment else None


# --- the backend ----------------------------------------------------------------------------


class ArgoBackend:
    """HKube's operations against the Argo Server REST API and MinIO."""

    name = "argo"
    poll_interval = 0.5  # seconds between reads of the semaphore Workflow
    semaphore_timeout = 120.0  # seconds for it to run (a pod must be scheduled)

    def __init__(self, http: ArgoHttp, namespace: str, config: ClusterConfig,
                 objects: ObjectStore | Callable[[], ObjectStore]):
        self.http = http
        self.namespace = namespace
        # the manifests name the namespace they are submitted to
        self.config = config.with_overrides(namespace=namespace)
        self._objects = objects

    @classmethod
    def from_env(cls, config: ClusterConfig, environ: Mapping[str, str] = os.environ, *,
                 timeout: float = 30.0, backoff: float = 0.5,
                 objects: ObjectStore | None = None) -> ArgoBackend:
        server = (environ.get("ARGO_SERVER") or "").strip()
        if not server:
            raise BackendError("ARGO_SERVER is not set (host:port of the Argo Server)")
        if "://" in server:
            raise BackendError(f"ARGO_SERVER is host:port without a scheme (got '{server}'); "
                               "ARGO_SECURE=false selects plain HTTP")
        secure = environ.get("ARGO_SECURE", "true") != "false"
        verify = environ.get("ARGO_INSECURE_SKIP_VERIFY", "false") != "true"
        href = (environ.get("ARGO_BASE_HREF") or "").strip().strip("/")
        base = f"{'https' if secure else 'http'}://{server}" + (f"/{href}" if href else "")
        namespace = environ.get("ARGO_NAMESPACE") or config.namespace or DEFAULT_NAMESPACE
        http = ArgoHttp(base, environ.get("ARGO_TOKEN") or None, verify=verify,
                        timeout=timeout, backoff=backoff)
        env = dict(environ)
        store: ObjectStore | Callable[[], ObjectStore] = objects or (
            lambda: ObjectStore.from_env(config, env))
        return cls(http, namespace, config, store)

    # --- plumbing -------------------------------------------------------------------------

    @property
    def objects(self) -> ObjectStore:
        if not isinstance(self._objects, ObjectStore):
            self._objects = self._objects()
        return self._objects

    @property
    def prefix(self) -> str:
        return self.config.key_prefix

    def _path(self, kind: str, name: str = "", action: str = "") -> str:
        collection = COLLECTIONS[kind][0]
        path = f"/api/v1/{collection}/{urllib.parse.quote(self.namespace, safe='')}"
        if name:
            path += f"/{urllib.parse.quote(name, safe='')}"
        if action:
            path += f"/{action}"
        return path

    def _job_key(self, job_id: str, name: str) -> str:
        return f"{layout.job_prefix(self.prefix, job_id)}/{name}"

    def _pipeline_key(self, name: str) -> str:
        return f"{self.prefix}/store/pipelines/{name}.json"

    def _algorithm_key(self, name: str) -> str:
        return f"{self.prefix}/store/algorithms/{name}.json"

    def _workflow(self, job_id: str) -> dict[str, Any]:
        return self.http.call("GET", self._path("Workflow", job_id),
                              missing=f"unknown jobId {job_id} (no Workflow {job_id} in "
                                      f"namespace {self.namespace})")

    def _create(self, doc: dict[str, Any]) -> dict[str, Any]:
        kind = doc["kind"]
        return self.http.call("POST", self._path(kind),
                              {"namespace": self.namespace, COLLECTIONS[kind][1]: doc})

    def _apply(self, doc: dict[str, Any]) -> str:
        """Create, or update with the current resourceVersion: "created" or "updated"."""
        kind, name = doc["kind"], doc["metadata"]["name"]
        try:
            self._create(doc)
            return "created"
        except Conflict:
            pass
        for attempt in range(2):  # a concurrent update between GET and PUT: once more
            current = self.http.call("GET", self._path(kind, name),
                                     missing=f"{kind} {name} vanished while being updated")
            body_doc = copy.deepcopy(doc)
            version = (current.get("metadata") or {}).get("resourceVersion")
            if version:
                body_doc["metadata"]["resourceVersion"] = version
            body: dict[str, Any] = {"namespace": self.namespace, COLLECTIONS[kind][1]: body_doc}
            if kind in UPDATE_WITH_NAME:
                body["name"] = name
            try:
                self.http.call("PUT", self._path(kind, name), body)
                return "updated"
            except Conflict:
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _delete(self, kind: str, name: str) -> bool:
        """Delete if present; False when it was not there."""
        try:
            self.http.call("DELETE", self._path(kind, name), missing="absent")
        except NotFound:
            return False
        return True

    # --- validate and compile -------------------------------------------------------------

    def _catalog(self) -> tuple[Catalog, dict[str, str]]:
        """Stored algorithms and the object keys of their packed code."""
        catalog = Catalog()
        code: dict[str, str] = {}
        for key in self.objects.list(f"{self.prefix}/store/algorithms"):
            data = self.objects.get_json(key) if key.endswith(".json") else None
            if not isinstance(data, dict):
                continue
            data = self._with_build(key, data)
            try:
                algorithm = Algorithm.model_validate(data)
            except ValidationError:
                continue  # never stored by apply_algorithm; reported as not stored if used
            spec = algorithm_spec(algorithm, None)
            if _built(data, spec.type):  # its image holds the code: an image algorithm
                spec = dataclasses.replace(spec, type="Image", image=data["algorithmImage"])
            catalog.specs[algorithm.name] = spec
            path = (data.get("fileInfo") or {}).get("path")
            if spec.type == "Code" and isinstance(path, str):
                code[algorithm.name] = path
        return catalog, code

    def _plan(self, descriptor: dict[str, Any], source: str, catalog: Catalog | None, *,
              triggered_runs: bool = False, check_flow_input: bool = True) -> Plan:
        desc = Descriptor(descriptor, Source(source))
        result = validate_descriptor(desc, catalog, triggered_runs=triggered_runs,
                                     check_flow_input=check_flow_input)
        diagnostics = result.diagnostics
        if catalog is not None:  # say "not stored", not "not in the given files"
            nodes = descriptor.get("nodes") if isinstance(descriptor, dict) else None
            mine = []
            for i, node in enumerate(nodes if isinstance(nodes, list) else []):
                algorithm = node.get("algorithmName") if isinstance(node, dict) else None
                if isinstance(algorithm, str) and algorithm and algorithm not in catalog.specs \
                        and node.get("kind", "algorithm") == "algorithm":
                    known = ", ".join(sorted(catalog.specs)[:12]) or "none"
                    mine.append(desc.source.diag(
                        f"algorithm '{algorithm}' is not stored: hkube2argo algorithm apply "
                        f"-f FILE (stored: {known})", ("nodes", i, "algorithmName")))
            if mine:
                taken = {d.loc for d in mine}
                diagnostics = mine + [d for d in diagnostics if d.loc not in taken]
                raise ValidationFailed(diagnostics)
        if result.plan is None:
            raise ValidationFailed(diagnostics)
        return result.plan

    def _compile(self, plan: Plan, code: dict[str, str]) -> Manifests:
        keys = {}
        for alg in plan.algorithms:
            if alg.type != "Code":
                continue
            key = code.get(alg.name)
            if key is None:
                raise BackendError(f"algorithm {alg.name} has no uploaded code: hkube2argo "
                                   "algorithm apply -f FILE")
            if not self.objects.exists(key):
                raise BackendError(f"the code of algorithm {alg.name} is missing at "
                                   f"s3://{self.objects.bucket}/{key}: apply the algorithm "
                                   "again")
            keys[alg.name] = key
        try:
            return compile_plan(plan, self.config, keys)
        except (CompileError, EmitError, DagTooLarge) as exc:
            raise ValidationFailed([Diagnostic(str(exc), (), plan.source)]) from None

    @staticmethod
    def _lint(documents: list[dict[str, Any]]) -> None:
        problems = lint.lint([*documents, *submitted_workflows(
            [d for d in documents if d.get("kind") == "Sensor"])])
        if problems:  # a bug of hkube2argo, never the user's: one line all the same
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise BackendError(f"hkube2argo made a manifest Argo's schema rejects, so nothing "
                               f"was sent (a bug, please report it): {problems[0]}{more}")

    @staticmethod
    def _tasks(manifests: Manifests) -> dict[str, str]:
        """Run task key -> HKube node name (collect/zip tasks are ``<key>--<step>``)."""
        return {t.key: t.node for t in manifests.graph.tasks if t.node and t.kind == "run"}

    @staticmethod
    def _executed(descriptor: dict[str, Any], kind: str) -> dict[str, Any]:
        """The pipeline as executed: HKube's defaults filled in (``GET /exec/pipelines``)."""
        try:
            wire = Pipeline.model_validate(descriptor).wire()
        except ValidationError:
            wire = dict(descriptor)
        return {**wire, "types": [kind], "startTime": _now_ms()}

    def _semaphore_key(self, key: str) -> str:
        return f"{self.prefix}/store/semaphores/{key}.json"

    def ensure_semaphore(self, plan: Plan, *, always: bool) -> None:
        """Set the pipeline's concurrentPipelines key before any of its runs is created
        (module docstring); raise BackendError when the patch Workflow does not succeed."""
        value = emit_semaphore.limit(plan)
        if value is None:
            return
        key = emit_semaphore.key(plan)
        record = {"configMap": self.config.semaphore_configmap, "key": key, "value": value,
                  "namespace": self.namespace}
        if not always and self.objects.get_json(self._semaphore_key(key)) == record:
            return
        workflow = emit_semaphore.patch_workflow(plan, self.config, self.namespace)
        self._lint([workflow])
        name = (self._create(workflow).get("metadata") or {}).get("name")
        if not name:
            raise BackendError("the Argo Server created the semaphore Workflow but returned "
                               "no name")
        deadline = time.monotonic() + self.semaphore_timeout
        while True:
            current = self.http.call("GET", self._path("Workflow", name),
                                     missing=f"the semaphore Workflow {name} vanished")
            status_ = current.get("status") or {}
            phase = status_.get("phase") or ""
            if phase == "Succeeded":
                break
            if phase in ("Failed", "Error"):
                raise BackendError(
                    f"could not set concurrentPipelines key '{key}' in ConfigMap "
                    f"{self.config.semaphore_configmap} (Workflow {name}: "
                    f"{status_.get('message') or phase}); the chart creates the ConfigMap "
                    f"and lets {self.config.semaphore_service_account} patch it")
            if time.monotonic() > deadline:
                raise BackendError(
                    f"the semaphore Workflow {name} did not finish within "
                    f"{self.semaphore_timeout:g} s (argo get {name})")
            time.sleep(self.poll_interval)
        self.objects.put_json(self._semaphore_key(key), record)

    def _submit(self, workflow: dict[str, Any], executed: dict[str, Any]) -> Submitted:
        """POST once; the executed pipeline rides along as an annotation when small,
        else it goes to MinIO once the jobId is known."""
        encoded = encode_raw(executed)
        inline = len(encoded) <= ANNOTATION_MAX
        if inline:
            workflow["metadata"].setdefault("annotations", {})[DESCRIPTOR_ANNOTATION] = encoded
        self._lint([workflow])
        created = self._create(workflow)
        job_id = (created.get("metadata") or {}).get("name")
        if not job_id:
            raise BackendError("the Argo Server created the Workflow but returned no name")
        if not inline:
            try:
                self.objects.put_json(self._job_key(job_id, "pipeline.json"), executed)
            except BackendError as exc:
                raise BackendError(f"job {job_id} was submitted and runs, but its pipeline "
                                   f"could not be recorded ({exc})") from None
        return Submitted(job_id=job_id)

    # --- exec -----------------------------------------------------------------------------

    def exec_raw(self, descriptor: dict[str, Any], source: str) -> Submitted:
        catalog, code = self._catalog()
        plan = self._plan(descriptor, source, catalog)
        manifests = self._compile(plan, code)
        self.ensure_semaphore(plan, always=False)
        workflow = copy.deepcopy(manifests.workflow)
        workflow["metadata"]["namespace"] = self.namespace
        workflow["metadata"].setdefault("annotations", {})[TASKS_ANNOTATION] = json.dumps(
            self._tasks(manifests), ensure_ascii=False, separators=(",", ":"))
        return self._submit(workflow, self._executed(descriptor, "raw"))

    def exec_stored(self, name: str, flow_input: dict[str, Any] | None) -> Submitted:
        stored = self._stored_pipeline(name)
        descriptor = dict(stored)
        if flow_input is not None:  # HKube: a given flowInput replaces the stored one
            descriptor["flowInput"] = flow_input
        self._plan(descriptor, self._pipeline_key(name), None)  # flowInput references
        template_name = naming.dns_name(name)
        template = self.http.call(
            "GET", self._path("WorkflowTemplate", template_name),
            missing=f"pipeline {name} is stored but its WorkflowTemplate {template_name} is "
                    f"missing in namespace {self.namespace}: store it again")
        meta = template.get("metadata") or {}
        labels = {k: v for k, v in (meta.get("labels") or {}).items() if _ours(k)}
        annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if _ours(k)}
        workflow: dict[str, Any] = {
            "apiVersion": API_VERSION,
            "kind": "Workflow",
            "metadata": {"generateName": f"{template_name[:50].rstrip('-')}-",
                         "namespace": self.namespace,
                         "labels": {**labels, RUN_LABEL: "stored"},
                         "annotations": annotations},
            "spec": {"workflowTemplateRef": {"name": template_name}},
        }
        priority = (template.get("spec") or {}).get("priority")
        if isinstance(priority, int):
            # Argo's queues read priority from the Workflow object, not from the template
            # it references (emit/workflow.py workflow_priority)
            workflow["spec"]["priority"] = priority
        if flow_input is not None:
            artifact = flow_input_argument(flow_input).model_dump(
                mode="json", by_alias=True, exclude_none=True)
            workflow["spec"]["arguments"] = {"artifacts": [artifact]}
        return self._submit(workflow, self._executed(descriptor, "stored"))

    def status(self, job_id: str) -> dict[str, Any]:
        workflow = self._workflow(job_id)
        return self._status(job_id, workflow)

    def _status(self, job_id: str, workflow: dict[str, Any]) -> dict[str, Any]:
        state = jobstatus.state(workflow)
        status_ = workflow.get("status") or {}
        counts = jobstatus.count(workflow)
        finished = _parse_time(status_.get("finishedAt"))
        started = _parse_time(status_.get("startedAt"))
        took = round((finished - started).total_seconds(), 3) if finished and started else None
        error = node = None
        if state == "failed":
            node, error = jobstatus.failure(workflow)
        body = status_object(job_id, _pipeline_name(workflow), state, error=error, node=node,
                             timestamp=_ms(finished) or _now_ms(),
                             took=took if state in FINISHED else None, **counts)
        if state == STOPPED:
            reason = self._stop_reason(job_id)
            if reason:
                body["reason"] = reason
        return body

    def _stop_reason(self, job_id: str) -> str | None:
        try:
            record = self.objects.get_json(self._job_key(job_id, "stop.json"))
        except BackendError:
            return None  # the status stands without it
        return record.get("reason") if isinstance(record, dict) else None

    def result(self, job_id: str) -> dict[str, Any]:
        workflow = self._workflow(job_id)
        state = jobstatus.state(workflow)
        pipeline = _pipeline_name(workflow)
        if state not in FINISHED:
            raise BackendError(f"unable to get results for pipeline {pipeline} because its in "
                               f"{state} status")
        status_ = workflow.get("status") or {}
        started = _parse_time(status_.get("startedAt"))
        finished = _parse_time(status_.get("finishedAt"))
        base: dict[str, Any] = {"jobId": job_id, "pipeline": pipeline,
                                "startTime": _ms(started)}
        if started and finished:
            base["timeTook"] = round((finished - started).total_seconds(), 3)
        if state == "completed":
            key = self._job_key(job_id, layout.results_key())
            document = self.objects.get_json(key)
            if not isinstance(document, dict):
                raise BackendError(f"job {job_id} completed but its results are missing at "
                                   f"s3://{self.objects.bucket}/{key}")
            return {**document, **base, "status": "completed"}
        body = {**base, "status": state, "timestamp": _ms(finished) or _now_ms()}
        if state == "failed":
            node, error = jobstatus.failure(workflow)
            body["error"] = error
            if node:
                body["nodeName"] = node
        else:
            reason = self._stop_reason(job_id)
            if reason:
                body["reason"] = reason
        return body

    def stop(self, job_id: str, reason: str | None) -> dict[str, Any]:
        workflow = self._workflow(job_id)
        state = jobstatus.state(workflow)
        if state in FINISHED:
            raise BackendError(f"cannot stop job {job_id}: it is {state} (only pending and "
                               "active jobs can be stopped)")
        reason = reason or DEFAULT_REASON
        # recorded first: a MinIO problem stops nothing
        self.objects.put_json(self._job_key(job_id, "stop.json"),
                              {"jobId": job_id, "reason": reason, "timestamp": _now_ms()})
        body = {"name": job_id, "namespace": self.namespace, "message": reason}
        self.http.call("PUT", self._path("Workflow", job_id, "stop"), body,
                       missing=f"unknown jobId {job_id}")
        return {"stoppedJobIds": [job_id]}

    def get(self, job_id: str) -> dict[str, Any]:
        workflow = self._workflow(job_id)
        annotation = ((workflow.get("metadata") or {}).get("annotations") or {}).get(
            DESCRIPTOR_ANNOTATION)
        if annotation:
            try:
                return decode_raw(annotation)
            except ValueError:
                pass
        recorded = self.objects.get_json(self._job_key(job_id, "pipeline.json"))
        if isinstance(recorded, dict):
            return recorded
        ref = ((workflow.get("spec") or {}).get("workflowTemplateRef") or {}).get("name")
        if ref:  # a cron or trigger run: the stored pipeline it ran
            name = _pipeline_name(workflow)
            stored = self.objects.get_json(self._pipeline_key(name))
            if isinstance(stored, dict):
                return stored
        raise BackendError(f"the pipeline executed by job {job_id} was not recorded")

    # --- stored pipelines -----------------------------------------------------------------

    def _stored_pipeline(self, name: str) -> dict[str, Any]:
        stored = self.objects.get_json(self._pipeline_key(name))
        if not isinstance(stored, dict):
            raise NotFound(f"pipeline {name} is not stored")
        return stored

    def store_pipeline(self, descriptor: dict[str, Any], source: str) -> dict[str, Any]:
        catalog, code = self._catalog()
        # HKube checks @flowInput paths when a stored pipeline runs, not when it is stored
        plan = self._plan(descriptor, source, catalog, triggered_runs=True,
                          check_flow_input=False)
        manifests = self._compile(plan, code)
        template = copy.deepcopy(manifests.workflow_template)
        tasks = json.dumps(self._tasks(manifests), ensure_ascii=False, separators=(",", ":"))
        template["metadata"].setdefault("annotations", {})[TASKS_ANNOTATION] = tasks
        # runs started by the CronWorkflow or a Sensor get it from workflowMetadata
        template["spec"].setdefault("workflowMetadata", {}).setdefault(
            "annotations", {})[TASKS_ANNOTATION] = tasks
        documents = [template]
        if manifests.cron_workflow:
            documents.append(copy.deepcopy(manifests.cron_workflow))
        documents.extend(copy.deepcopy(d) for d in manifests.trigger_objects)
        for doc in documents:
            doc["metadata"]["namespace"] = self.namespace
        self._lint(documents)
        self.objects.check()  # before anything changes in the cluster
        self.ensure_semaphore(plan, always=True)  # before a cron or trigger run can start
        for doc in documents:
            self._apply(doc)
        name = template["metadata"]["name"]
        kinds = {d["kind"] for d in documents}
        if "CronWorkflow" not in kinds:
            self._delete("CronWorkflow", cron_name(name))
        if "Sensor" not in kinds:
            self._delete("Sensor", sensor_name(name))
        # releases before the shared EventSource emitted one per triggered pipeline
        self._delete("EventSource", event_source_name(name))
        stored = {**Pipeline.model_validate(descriptor).wire(), "modified": _now_ms()}
        self.objects.put_json(self._pipeline_key(plan.name), stored)
        return stored

    def get_pipeline(self, name: str) -> dict[str, Any]:
        return self._stored_pipeline(name)

    def list_pipelines(self) -> list[dict[str, Any]]:
        return self._list(f"{self.prefix}/store/pipelines")

    def _list(self, prefix: str) -> list[dict[str, Any]]:
        out = []
        for key in self.objects.list(prefix):
            if key.endswith(".json"):
                value = self.objects.get_json(key)
                if isinstance(value, dict):
                    out.append(value)
        return sorted(out, key=lambda d: str(d.get("name", "")))

    def delete_pipeline(self, name: str) -> dict[str, Any]:
        key = self._pipeline_key(name)
        stored = self.objects.exists(key)
        template = naming.dns_name(name)
        deleted = [self._delete("WorkflowTemplate", template),
                   self._delete("CronWorkflow", cron_name(template)),
                   self._delete("Sensor", sensor_name(template)),
                   self._delete("EventSource", event_source_name(template))]
        if not stored and not any(deleted):
            raise NotFound(f"pipeline {name} is not stored")
        if stored:
            self.objects.delete(key)
        return {"message": f"pipeline {name} deleted"}

    # --- algorithms -----------------------------------------------------------------------

    def apply_algorithm(self, descriptor: dict[str, Any], source: str, *, build: bool = False,
                        registry: str | None = None,
                        force_build: bool = False) -> dict[str, Any]:
        """HKube's ``POST /store/algorithms/apply``. With ``build``, also submit the Workflow
        that builds the algorithm's image from its code (``emit/build.py``) and pushes it to
        ``registry`` (``HOST/NAMESPACE``); the same code and recipe are never built twice
        (``force_build`` does it anyway). See ``_build_record`` for when compiles use it."""
        src = Source(source)
        if not isinstance(descriptor, dict):
            raise ValidationFailed([src.diag("an algorithm descriptor must be an object")])
        folded, moved, problems = fold_file_shape(descriptor)
        if problems:
            raise ValidationFailed([src.diag(msg, loc) for loc, msg in problems])
        algorithm, errors = _model_errors(Algorithm, folded, src, moved)
        if algorithm is None:
            raise ValidationFailed(errors)
        unrunnable = algorithm.runnable_problems()
        if unrunnable:
            raise ValidationFailed([src.diag(msg, moved.get(f, (f,))) for f, msg in unrunnable])
        if build and not algorithm.code_path:
            raise BackendError(f"algorithm {algorithm.name}: --build builds an image from the "
                               "algorithm's code, and it has none (give code.path)")
        if build and not (registry or "").strip():
            raise BackendError("--build needs the registry to push to: --registry HOST/NAMESPACE "
                               "or HKUBE2ARGO_REGISTRY (the chart's registry.registry and "
                               "registry.namespace)")
        stored = algorithm.wire()
        messages = []
        submit: dict[str, Any] | None = None
        key = self._algorithm_key(algorithm.name)
        old = self.objects.get_json(key)
        if algorithm.code_path:
            path = resolve_code_path(algorithm.code_path, source)
            assert path is not None
            if not os.path.exists(path):
                raise ValidationFailed([src.diag(
                    f"code.path '{algorithm.code_path}' does not exist (looked for {path})",
                    moved.get("codePath", ("codePath",)))])
            data = codepack.pack(path)
            code_key = codepack.code_key(self.prefix, algorithm.name, data)
            stored.pop("codePath", None)
            stored["type"] = algorithm.effective_type
            stored["fileInfo"] = {"path": code_key, "checksum": codepack.digest(data),
                                  "fileSize": len(data), "fileExt": "tar.gz"}
            previous, submit = self._plan_build(stored, old, code_key, data, source,
                                                build=build, registry=registry,
                                                force=force_build)
            if previous is not None:  # the same code and recipe: its build still stands
                stored["build"] = previous
                stored["buildId"] = previous.get("buildId")
                if previous.get("status") == "completed":
                    stored.setdefault("algorithmImage", previous.get("image"))
            if self.objects.exists(code_key):
                messages.append(f"code unchanged ({code_key})")
            else:
                self.objects.put(code_key, data, "application/gzip")
                messages.append(f"code uploaded to s3://{self.objects.bucket}/{code_key}")
            if build and submit is None:
                state = previous.get("status") if previous else "?"
                messages.append(f"image {previous.get('image') if previous else '?'} "
                                f"{'already built' if state == 'completed' else 'is being built'}"
                                f" (build {stored.get('buildId')}, {state}): not built again "
                                "(--forceBuild to build anyway)")
        answer: dict[str, Any] = {}
        if submit is not None:
            created = self._create(submit["workflow"])
            build_id = (created.get("metadata") or {}).get("name")
            if not build_id:
                raise BackendError("the Argo Server created the build Workflow but returned no "
                                   "name")
            stored["build"] = {"buildId": build_id, "image": submit["image"],
                               "tag": submit["tag"], "codeKey": submit["codeKey"],
                               "status": "pending", "startTime": _now_ms()}
            stored["buildId"] = build_id
            answer["buildId"] = build_id
            messages.append(f"build {build_id} submitted: {submit['image']} (hkube2argo "
                            f"algorithm get {algorithm.name} shows its status)")
        existed = isinstance(old, dict)
        stored["modified"] = _now_ms()
        self.objects.put_json(key, stored)
        messages.insert(0, f"algorithm {algorithm.name} {'updated' if existed else 'created'}")
        return {"messages": messages, "algorithm": stored, **answer}

    def _plan_build(self, stored: dict[str, Any], old: Any, code_key: str, data: bytes,
                    source: str, *,
                    build: bool, registry: str | None,
                    force: bool) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(the earlier build record that still applies, the build to submit). Everything
        that can be refused (``{{`` in dependencyInstallCmd, a bad baseImage or registry)
        is refused here, before anything is uploaded or sent."""
        files = codepack.names(data)
        previous = None
        try:
            tag = emit_build.image_tag(stored, codepack.digest(data), self.config, files)
            image = emit_build.destination(registry or "", stored["name"], tag) if build \
                else None
        except EmitError as exc:
            if not build:  # no build asked: an old build record simply stops applying
                return None, None
            raise ValidationFailed([Diagnostic(str(exc), (), source)]) from None
        record = old.get("build") if isinstance(old, dict) else None
        if isinstance(record, dict) and record.get("codeKey") == code_key \
                and record.get("tag") == tag and (image is None or record.get("image") == image):
            previous = self._build_record(record)
            if previous.get("status") == "failed":
                previous = None if build else previous
        if not build or (previous is not None and not force):
            return previous, None
        try:
            workflow = emit_build.build_workflow(stored, code_key, image or "", self.config,
                                                 files)
        except EmitError as exc:
            raise ValidationFailed([Diagnostic(str(exc), (), source)]) from None
        workflow["metadata"]["namespace"] = self.namespace
        self._lint([workflow])
        return None, {"workflow": workflow, "image": image, "tag": tag, "codeKey": code_key}

    def _build_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """The build record with its status read from the build Workflow's phase while it is
        not finished. **The rule:** compiles use the built image only once its Workflow has
        Succeeded (status ``completed``); until then, and after a failure, the algorithm
        runs from its code on the runtime image, as without ``--build``."""
        if record.get("status") in ("completed", "failed") or not record.get("buildId"):
            return record
        build_id = str(record["buildId"])
        try:
            workflow = self.http.call("GET", self._path("Workflow", build_id), missing="gone")
        except NotFound:
            return {**record, "status": "failed",
                    "error": f"the build Workflow {build_id} is gone from namespace "
                             f"{self.namespace} (deleted or garbage-collected) before it was "
                             "seen to succeed: apply --build again"}
        status_ = workflow.get("status") or {}
        state = jobstatus.state(workflow)
        out = {**record, "status": state}
        finished = _ms(_parse_time(status_.get("finishedAt")))
        if finished:
            out["endTime"] = finished
        if state in ("failed", STOPPED):
            out["status"] = "failed"
            out["error"] = status_.get("message") or "the build failed (argo logs " \
                                                     f"{build_id})"
        return out

    def _with_build(self, key: str, stored: dict[str, Any]) -> dict[str, Any]:
        """A stored algorithm with its pending build's status refreshed (and recorded)."""
        record = stored.get("build")
        if not isinstance(record, dict):
            return stored
        fresh = self._build_record(record)
        if fresh == record:
            return stored
        stored = {**stored, "build": fresh}
        if fresh.get("status") == "completed" and not stored.get("algorithmImage"):
            stored["algorithmImage"] = fresh.get("image")
        self.objects.put_json(key, stored)
        return stored

    def get_algorithm(self, name: str) -> dict[str, Any]:
        key = self._algorithm_key(name)
        stored = self.objects.get_json(key)
        if not isinstance(stored, dict):
            raise NotFound(f"algorithm {name} is not stored")
        return self._with_build(key, stored)

    def list_algorithms(self) -> list[dict[str, Any]]:
        return [self._with_build(self._algorithm_key(str(a.get("name"))), a)
                if isinstance(a.get("build"), dict) else a
                for a in self._list(f"{self.prefix}/store/algorithms")]

    def delete_algorithm(self, name: str) -> dict[str, Any]:
        """The descriptor only: code objects are content-addressed and may still be read
        by runs in flight."""
        key = self._algorithm_key(name)
        if not self.objects.exists(key):
            raise NotFound(f"algorithm {name} is not stored")
        self.objects.delete(key)
        return {"message": f"algorithm {name} deleted"}


# --- reading a Workflow -----------------------------------------------------------------------


def _built(stored: dict[str, Any], kind: str) -> bool:
    """A Code algorithm whose build Workflow has Succeeded (``_build_record``'s rule)."""
    record = stored.get("build")
    return kind == "Code" and isinstance(record, dict) \
        and record.get("status") == "completed" and bool(record.get("image")) \
        and stored.get("algorithmImage") == record.get("image")


def _ours(key: str) -> bool:
    return key.startswith((f"{LABEL_DOMAIN}/", f"tag.{LABEL_DOMAIN}/",
                           "workflows.argoproj.io/title", "workflows.argoproj.io/description"))


def _pipeline_name(workflow: dict[str, Any]) -> str:
    meta = workflow.get("metadata") or {}
    return (restore((meta.get("annotations") or {}).get(NAME_ANNOTATION) or "")
            or (meta.get("labels") or {}).get(PIPELINE_LABEL)
            or ((workflow.get("spec") or {}).get("workflowTemplateRef") or {}).get("name")
            or meta.get("name", ""))
