"""A small fake Argo Server for contract tests: the REST endpoints the Argo backend calls,
in memory, on 127.0.0.1 and a random port. **Not a real Argo**: it checks what the
client sends, not what a controller would do with it.

Every request is checked strictly, and any departure is recorded in ``violations`` (the
tests assert there are none) besides being answered with an error:

- the ``Authorization`` header equals the expected token (else 401, as the server);
- the namespace in the path is the expected one;
- request bodies match Argo's swagger definitions of the create/update/stop requests
  (``argo_requests.json``: the excerpt of the swagger this needs, closed with
  ``additionalProperties: false``), and the object inside (Workflow, WorkflowTemplate,
  CronWorkflow, EventSource, Sensor) passes ``hkube2argo.lint.validator(kind)``, the
  strict form of Argo's JSON schema; updates carry the current ``resourceVersion``.

Objects live in ``objects[collection][name]``; tests set a Workflow's ``status`` there to
play the controller. ``inject`` makes the next matching requests fail or stall.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from hkube2argo import lint

HERE = Path(__file__).resolve().parent
EXCERPT = HERE / "argo_requests.json"
TOKEN = "Bearer test-token"

# The request bodies this fake accepts (method + swagger path), and the objects inside them.
ROUTES = [
    ("post", "/api/v1/workflows/{namespace}"),
    ("put", "/api/v1/workflows/{namespace}/{name}/stop"),
    ("put", "/api/v1/workflows/{namespace}/{name}/terminate"),
    ("post", "/api/v1/workflow-templates/{namespace}"),
    ("put", "/api/v1/workflow-templates/{namespace}/{name}"),
    ("post", "/api/v1/cron-workflows/{namespace}"),
    ("put", "/api/v1/cron-workflows/{namespace}/{name}"),
    ("post", "/api/v1/event-sources/{namespace}"),
    ("put", "/api/v1/event-sources/{namespace}/{name}"),
    ("post", "/api/v1/sensors/{namespace}"),
    ("put", "/api/v1/sensors/{namespace}/{name}"),
]
INNER = {
    "io.argoproj.workflow.v1alpha1.Workflow": "Workflow",
    "io.argoproj.workflow.v1alpha1.WorkflowTemplate": "WorkflowTemplate",
    "io.argoproj.workflow.v1alpha1.CronWorkflow": "CronWorkflow",
    "github.com.argoproj.argo_events.pkg.apis.events.v1alpha1.EventSource": "EventSource",
    "github.com.argoproj.argo_events.pkg.apis.events.v1alpha1.Sensor": "Sensor",
}
COLLECTION_KIND = {"workflows": "Workflow", "workflow-templates": "WorkflowTemplate",
                   "cron-workflows": "CronWorkflow", "event-sources": "EventSource",
                   "sensors": "Sensor"}
# Kubernetes resource names in the server's messages
RESOURCE = {"workflows": "workflows.argoproj.io",
            "workflow-templates": "workflowtemplates.argoproj.io",
            "cron-workflows": "cronworkflows.argoproj.io",
            "event-sources": "eventsources.argoproj.io", "sensors": "sensors.argoproj.io"}
FINISHED = ("Succeeded", "Failed", "Error")


def extract(swagger: dict[str, Any]) -> dict[str, Any]:
    """The part of Argo's swagger.json this fake needs: which body each route takes, and
    those bodies' definitions with the big objects replaced by ``{"x-kind": Kind}``."""
    routes: dict[str, str] = {}
    names: set[str] = set()
    for method, path in ROUTES:
        params = swagger["paths"][path][method]["parameters"]
        body = next(p for p in params if p.get("in") == "body")
        name = body["schema"]["$ref"].rsplit("/", 1)[-1]
        routes[f"{method.upper()} {path}"] = name
        names.add(name)
    definitions: dict[str, Any] = {}
    todo = sorted(names)
    while todo:
        name = todo.pop()
        if name in definitions:
            continue
        definition = copy.deepcopy(swagger["definitions"][name])
        for prop in definition.get("properties", {}).values():
            prop.pop("title", None)
            prop.pop("description", None)
            ref = prop.get("$ref", "").rsplit("/", 1)[-1]
            if ref in INNER:
                prop.clear()
                prop["x-kind"] = INNER[ref]
            elif ref:
                todo.append(ref)
        definition.pop("description", None)
        definitions[name] = definition
    return {"_source": "argo-workflows v4.1.2 api/openapi-spec/swagger.json (excerpt, made "
                       "by tests/backends/fake_argo.py extract)",
            "routes": routes, "definitions": definitions}


def _closed(definitions: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(definitions)
    for definition in out.values():
        for prop in definition.get("properties", {}).values():
            if "x-kind" in prop:
                prop["type"] = "object"
        if definition.get("type") == "object" and "additionalProperties" not in definition:
            definition["additionalProperties"] = False
    return out


def _name_suffix() -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(5))


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int | None  # None: answer normally (after the delay)
    body: Any
    delay: float
    times: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str  # without the base href and query
    body: Any
    headers: dict[str, str]


@dataclass
class FakeArgo:
    namespace: str = "pipelines"
    token: str | None = TOKEN
    base_href: str = ""
    objects: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {c: {} for c in COLLECTION_KIND})
    requests: list[Request] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    port: int = 0
    # the cluster's ConfigMaps (name -> data), as the chart installs them; not an Argo
    # Server resource: only the controller reads them and resource templates patch them
    configmaps: dict[str, dict[str, str]] = field(
        default_factory=lambda: {"hkube2argo-semaphores": {}})

    def __post_init__(self) -> None:
        excerpt = json.loads(EXCERPT.read_text(encoding="utf-8"))
        self.routes = excerpt["routes"]
        self.definitions = excerpt["definitions"]
        closed = _closed(self.definitions)
        self.validators = {name: Draft202012Validator({"$ref": f"#/definitions/{name}",
                                                       "definitions": closed})
                           for name in excerpt["routes"].values()}
        self.lock = threading.Lock()
        self.versions = itertools.count(1)

    # --- test helpers -----------------------------------------------------------------------

    def inject(self, method: str, pattern: str, *, status: int | None = None,
               body: Any = None, delay: float = 0.0, times: int = 1,
               headers: dict[str, str] | None = None) -> None:
        """The next ``times`` requests matching ``method`` and the path regex fail with
        ``status`` (and ``body``), after ``delay`` seconds."""
        self.faults.append(Fault(method, re.compile(pattern), status, body, delay, times,
                                 headers or {}))

    def count(self, method: str, pattern: str = "") -> int:
        return sum(1 for r in self.requests if r.method == method and re.search(pattern, r.path))

    def add_workflow(self, workflow: dict[str, Any]) -> dict[str, Any]:
        meta = workflow.setdefault("metadata", {})
        meta.setdefault("namespace", self.namespace)
        meta.setdefault("resourceVersion", str(next(self.versions)))
        self.objects["workflows"][meta["name"]] = workflow
        return workflow

    # --- playing the controller for two things at creation ---------------------------------

    def _admit(self, workflow: dict[str, Any]) -> dict[str, Any]:
        """The status a new Workflow gets here: a ConfigMap patch (a resource template) is
        applied to ``configmaps`` and Succeeds (or Fails as kubectl does); a run whose
        semaphore key is missing Fails as Argo's controller words it (controller.go
        getSyncLimit, sync/semaphore.go newInternalSemaphore, operator.go operate: the
        limit must be a non-zero integer). Anything else: {} (tests set phases)."""
        spec = workflow.get("spec") or {}
        templates = spec.get("templates") or []
        if len(templates) == 1 and (templates[0].get("resource") or {}).get("action") == "patch":
            resource = templates[0]["resource"]
            manifest = yaml.safe_load(resource["manifest"])
            name = manifest["metadata"]["name"]
            if manifest.get("kind") != "ConfigMap" or resource.get("mergeStrategy") != "merge":
                return {"phase": "Error", "message": "this fake patches ConfigMaps only"}
            if name not in self.configmaps:
                return {"phase": "Failed", "message": f'configmaps "{name}" not found'}
            self.configmaps[name].update(manifest.get("data") or {})
            return {"phase": "Succeeded"}
        ref = (spec.get("workflowTemplateRef") or {}).get("name")
        if ref:
            spec = {**(self.objects["workflow-templates"][ref].get("spec") or {}), **spec}
        for semaphore in (spec.get("synchronization") or {}).get("semaphores") or []:
            key_ref = semaphore["configMapKeyRef"]
            value = self.configmaps.get(key_ref["name"], {}).get(key_ref["key"], "")
            if not re.fullmatch(r"[+-]?\d+", value) or int(value) == 0:
                return {"phase": "Failed", "message": (
                    "Failed to acquire the synchronization lock. failed to initialize "
                    f"semaphore {self.namespace}/ConfigMap/{key_ref['name']}/{key_ref['key']} "
                    "with limit")}
        return {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.base_href}"

    # --- serving ----------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict[str, str],
               raw_body: bytes) -> tuple[int, Any, dict[str, str]]:
        """(status, body, extra headers) of one request."""
        path = raw_path.split("?", 1)[0]
        if self.base_href:
            if not path.startswith(self.base_href + "/"):
                return 404, "404 page not found", {}
            path = path[len(self.base_href):]
        body = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                self.violations.append(f"{method} {path}: body is not JSON")
                return 400, {"code": 3, "message": "body is not JSON"}, {}
        with self.lock:
            self.requests.append(Request(method, path, body, headers))
            fault = next((f for f in self.faults if f.method == method and f.times > 0
                          and f.pattern.search(path)), None)
            if fault:
                fault.times -= 1
        if fault:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status is not None:
                return fault.status, fault.body, fault.headers
        status, answer = self._serve(method, path, headers, body)
        return status, answer, {}

    def _serve(self, method: str, path: str, headers: dict[str, str],
               body: Any) -> tuple[int, Any]:
        if self.token is not None and headers.get("authorization") != self.token:
            return 401, {"code": 16, "message": "token not valid. see https://argo-workflows."
                                                "readthedocs.io/en/latest/faq/"}
        match = re.fullmatch(r"/api/v1/([a-z-]+)/([^/]+)(?:/([^/]+))?(?:/([a-z]+))?", path)
        if not match or match.group(1) not in COLLECTION_KIND:
            return 404, "404 page not found"
        collection, namespace, name, action = match.groups()
        if namespace != self.namespace:
            self.violations.append(f"{method} {path}: namespace {namespace}, expected "
                                   f"{self.namespace}")
            return 403, {"code": 7, "message": f"{RESOURCE[collection]} is forbidden: "
                                               f"namespace {namespace}"}
        with self.lock:
            return self._route(method, path, collection, name, action, body)

    def _check_body(self, method: str, path: str, collection: str, name: str | None,
                    action: str | None, body: Any) -> str | None:
        """The swagger definition of the route's body, strictly; the object inside
        against Argo's strict schema. A problem: its message (also a violation)."""
        route = f"/api/v1/{collection}/{{namespace}}" + ("/{name}" if name else "") + \
            (f"/{action}" if action else "")
        definition = self.routes.get(f"{method} {route}")
        if definition is None:
            return f"{method} {route} is not a route this fake knows"
        problems = [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
                    for e in self.validators[definition].iter_errors(body)]
        if not problems and isinstance(body, dict):
            if body.get("namespace") not in (None, self.namespace):
                problems.append(f"namespace {body.get('namespace')!r} in the body")
            if name and "name" in body and body["name"] != name:
                problems.append(f"name {body['name']!r} in the body, {name!r} in the path")
            for key, prop in self.definitions[definition].get("properties", {}).items():
                kind = prop.get("x-kind")
                if kind is None or key not in body:
                    continue
                obj = body[key]
                if obj.get("kind") != kind:
                    problems.append(f"{key}.kind is {obj.get('kind')!r}, expected {kind}")
                problems += [f"{key}/{'/'.join(map(str, e.absolute_path))}: {e.message}"
                             for e in lint.validator(kind).iter_errors(obj)]
                namespace = (obj.get("metadata") or {}).get("namespace")
                if namespace not in (None, self.namespace):
                    problems.append(f"{key}.metadata.namespace {namespace!r}")
                if name and (obj.get("metadata") or {}).get("name") != name:
                    problems.append(f"{key}.metadata.name is not {name!r}")
        if problems:
            message = f"{method} {path}: " + "; ".join(problems)
            self.violations.append(message)
            return message
        return None

    def _route(self, method: str, path: str, collection: str, name: str | None,
               action: str | None, body: Any) -> tuple[int, Any]:
        store = self.objects[collection]
        resource = RESOURCE[collection]
        if method in ("POST", "PUT"):
            problem = self._check_body(method, path, collection, name, action, body)
            if problem:
                return 400, {"code": 3, "message": problem}
        if method == "GET" and name and not action:
            if name not in store:
                return 404, {"code": 5, "message": f'{resource} "{name}" not found'}
            return 200, copy.deepcopy(store[name])
        if method == "GET" and not name:
            return 200, {"metadata": {}, "items": [copy.deepcopy(o) for o in store.values()]}
        if method == "DELETE" and name:
            if name not in store:
                return 404, {"code": 5, "message": f'{resource} "{name}" not found'}
            del store[name]
            return 200, {}
        if method == "POST" and not name:
            key = next(k for k, p in self.definitions[self.routes[
                f"POST /api/v1/{collection}/{{namespace}}"]]["properties"].items()
                if "x-kind" in p)
            obj = copy.deepcopy(body[key])
            meta = obj.setdefault("metadata", {})
            if not meta.get("name"):
                if not meta.get("generateName"):
                    return 400, {"code": 3, "message": "name or generateName is required"}
                meta["name"] = meta["generateName"] + _name_suffix()
            if meta["name"] in store:
                return 409, {"code": 6, "message": f'{resource} "{meta["name"]}" already '
                                                   "exists"}
            ref = (obj.get("spec") or {}).get("workflowTemplateRef")
            if ref and ref.get("name") not in self.objects["workflow-templates"]:
                return 400, {"code": 3, "message": f'workflowtemplates.argoproj.io '
                                                   f'"{ref.get("name")}" not found'}
            meta.update(namespace=self.namespace, uid=secrets.token_hex(8),
                        resourceVersion=str(next(self.versions)),
                        creationTimestamp="2026-01-01T00:00:00Z")
            if collection == "workflows":
                obj["status"] = self._admit(obj)
            store[meta["name"]] = obj
            return 200, copy.deepcopy(obj)
        if method == "PUT" and name and action in ("stop", "terminate"):
            if name not in store:
                return 404, {"code": 5, "message": f'{resource} "{name}" not found'}
            workflow = store[name]
            if (workflow.get("status") or {}).get("phase") in FINISHED:
                return 500, {"code": 2, "message": "cannot shutdown a completed workflow: "
                                                   f'workflow: "{name}"'}
            workflow.setdefault("spec", {})["shutdown"] = action.capitalize()
            return 200, copy.deepcopy(workflow)
        if method == "PUT" and name and not action:
            if name not in store:
                return 404, {"code": 5, "message": f'{resource} "{name}" not found'}
            key = next(k for k, p in self.definitions[self.routes[
                f"PUT /api/v1/{collection}/{{namespace}}/{{name}}"]]["properties"].items()
                if "x-kind" in p)
            obj = copy.deepcopy(body[key])
            current = store[name]["metadata"]["resourceVersion"]
            given = obj["metadata"].get("resourceVersion")
            if given != current:
                return 409, {"code": 10, "message": f'Operation cannot be fulfilled on '
                                                    f'{resource} "{name}": the object has been '
                                                    "modified; please apply your changes to "
                                                    "the latest version and try again"}
            obj["metadata"].update(namespace=self.namespace,
                                   uid=store[name]["metadata"].get("uid"),
                                   resourceVersion=str(next(self.versions)))
            store[name] = obj
            return 200, copy.deepcopy(obj)
        return 404, "404 page not found"


class _Handler(BaseHTTPRequestHandler):
    fake: FakeArgo
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, body, extra = self.fake.handle(self.command, self.path, headers, raw)
        if isinstance(body, str):
            data, kind = body.encode(), "text/plain"
        else:
            data, kind = json.dumps(body if body is not None else {}).encode(), \
                "application/json"
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(fake: FakeArgo) -> Iterator[FakeArgo]:
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
