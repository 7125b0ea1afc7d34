"""HKube's per-task progress events (``progressVerbosityLevel`` debug or trace).

HKube's driver posts the job status object at ``debug`` level on every task state change,
at most once a second (hkube-reference section 6). On Argo no single process sees every
task, so the compiled workflow runs this reporter beside the DAG: once a second it reads
its own Workflow object, counts the tasks as ``exec status`` does (``jobstatus.py``) and
posts when the counts changed.

It runs as a workflow lifecycle hook (``hooks.progress``, started once the workflow is
Running), not as a daemon task: Argo v3.7+ re-judges a daemon's pod once it ends, and a
daemon pod that ends, whatever its exit code, is marked Failed (operator.go
assessNodeStatus: "Daemoned pod succeeded. Marking it as failed"; a failed pod goes
through inferFailedReason), and Argo does not wait for daemons before the exit handler.
A workflow-level hook is an ordinary pod, and the exit handler runs only once every
triggered hook has ended (operator.go operate, after executeWfLifeCycleHook: "Check all
hooks are completes"). So the reporter ends by itself once the DAG has ended (the
Workflow's root node, named like the Workflow, is final), posts the last counts and
exits 0: its node is Succeeded and its last event comes before the result webhook.
SIGTERM (the workflow stopped or past its deadline: exec_control.go
applyExecutionControl) ends it the same way. If the Workflow cannot be read for
``GIVE_UP`` seconds in a row, it ends too, so a missing permission cannot hold the
exit handler back for long.

Where the Workflow comes from: inside a pod, the Kubernetes API with the pod's service
account token (the chart grants ``get`` on workflows); under the local runner, the file
it keeps up to date (``H2A_WORKFLOW_FILE``).
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from . import jobstatus, layout, webhooks
from .values import decode_raw

SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
INTERVAL = 1.0  # HKube throttles progress events to one a second
GIVE_UP = 120.0  # seconds without a readable Workflow before the reporter ends itself
FINAL = {"Succeeded", "Failed", "Error", "Skipped", "Omitted"}


def workflow_url(env: dict[str, str]) -> str:
    host = env.get("KUBERNETES_SERVICE_HOST", "kubernetes.default.svc")
    port = env.get("KUBERNETES_SERVICE_PORT", "443")
    if ":" in host:  # an IPv6 service address
        host = f"[{host}]"
    namespace = env.get("H2A_NAMESPACE") or _read(f"{SERVICE_ACCOUNT}/namespace").strip()
    name = env.get("H2A_JOB_ID", "")
    return (f"https://{host}:{port}/apis/argoproj.io/v1alpha1/namespaces/{namespace}"
            f"/workflows/{name}")


def from_kubernetes(env: dict[str, str], account: str = SERVICE_ACCOUNT,
                    ) -> Callable[[], dict[str, Any]]:
    """GET our own Workflow with the pod's service-account token (read each time: it is
    rotated), trusting the cluster's CA."""
    url = env.get("H2A_WORKFLOW_URL") or workflow_url(env)
    ca = f"{account}/ca.crt"
    context = ssl.create_default_context(cafile=ca if os.path.exists(ca) else None)

    def fetch() -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        token_file = f"{account}/token"
        if os.path.exists(token_file):
            headers["Authorization"] = f"Bearer {_read(token_file).strip()}"
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return json.loads(response.read().decode("utf-8"))

    return fetch


def from_file(path: str) -> Callable[[], dict[str, Any]]:
    def fetch() -> dict[str, Any]:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)

    return fetch


def event(config: dict[str, Any], workflow: dict[str, Any], job: str) -> dict[str, Any]:
    """The status object of a running job at debug level (a task changed state)."""
    tasks = {k: v for k, v in config.get("nodes", {}).items() if jobstatus.MARK not in k}
    counts = jobstatus.count(workflow, tasks)
    return jobstatus.status_object(job, config["pipeline"], "active", level="debug",
                                   timestamp=int(time.time() * 1000), **counts)


def dag_ended(workflow: dict[str, Any]) -> bool:
    """The DAG is over: the root node (its id is the Workflow's name, types.go
    Workflow.NodeID) or the Workflow itself has a final phase."""
    status = workflow.get("status") or {}
    if status.get("phase") in FINAL:
        return True
    name = (workflow.get("metadata") or {}).get("name")
    root = jobstatus.all_nodes(workflow).get(name) if name else None
    return isinstance(root, dict) and root.get("phase") in FINAL


def report(config: dict[str, Any], fetch: Callable[[], dict[str, Any]],
           post: Callable[[str, dict[str, Any]], Any], stop: threading.Event,
           job: str, interval: float = INTERVAL, give_up: float = GIVE_UP,
           clock: Callable[[], float] = time.monotonic) -> int:
    """Poll, and post whenever the task counts changed, until the DAG has ended (or
    ``stop`` is set, or the Workflow could not be read for ``give_up`` seconds); then
    post the final counts if they changed. A Workflow that cannot be read is reported
    once per kind of problem."""
    last: list[Any] = [None]
    problems: set[str] = set()
    unread_since: list[float | None] = [None]

    def poll() -> bool:
        """Post if changed; True once the DAG has ended."""
        try:
            workflow = fetch()
            body = event(config, workflow, job)
        except Exception as exc:  # whatever it is (an odd Workflow too), keep reporting
            problem = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            if problem not in problems:
                problems.add(problem)
                print(f"hkube2argo: progress: cannot read the workflow: {problem}",
                      file=sys.stderr)
            if unread_since[0] is None:
                unread_since[0] = clock()
            elif clock() - unread_since[0] >= give_up:
                print(f"hkube2argo: progress: no readable workflow for {give_up:g} s; "
                      "no more progress events", file=sys.stderr)
                return True
            return False
        unread_since[0] = None
        if body["data"] != last[0]:
            last[0] = body["data"]
            post(config["progress"], body)
        return dag_ended(workflow)

    while not stop.is_set():
        if poll():
            return 0
        stop.wait(interval)
    poll()  # told to stop (the run stopped or expired): the last changes, then exit
    return 0


def main() -> int:
    config = decode_raw(_read(layout.local(layout.RAW_DIR, "webhooks")))
    env = dict(os.environ)
    path = env.get("H2A_WORKFLOW_FILE")
    fetch = from_file(path) if path else from_kubernetes(env)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    _stop_when_orphaned(stop)
    return report(config, fetch, lambda url, body: webhooks.post(url, body, attempts=1),
                  stop, env.get("H2A_JOB_ID", "local"))


def _stop_when_orphaned(stop: threading.Event) -> None:
    """Stop if whoever started us dies without signalling (the local runner killed with
    kill -9); in a pod the parent is Argo's executor, which outlives us."""
    parent = os.getppid()

    def watch() -> None:
        while not stop.wait(1.0):
            if os.getppid() != parent:
                stop.set()

    threading.Thread(target=watch, daemon=True).start()


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()
