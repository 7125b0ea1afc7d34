"""A kubelet for one fake node: runs the pods bound to it as local processes.

What it does, in the kubelet's order (Kubernetes v1.33 sources cited where a behaviour is
copied; the pure parts are in podspec.py):

- registers a Node (Ready, 127.0.0.1) and binds every unscheduled pod to it through
  ``pods/binding`` (no scheduler runs), as the default scheduler would;
- lays out the pod's volumes in a private directory: emptyDir, hostPath, configMap, secret,
  downwardAPI and projected (serviceAccountToken through the TokenRequest API, configMap,
  secret, downwardAPI), as pkg/kubelet/volumemanager does; a missing non-optional
  configMap/secret keeps the pod in ContainerCreating and is retried;
- runs init containers one after the other, then starts the main containers in spec order
  (pkg/kubelet/kuberuntime/kuberuntime_manager.go ``computePodActions``/``SyncPod``), each
  through ctrexec.py in its own mount namespace with an overlay of the host's root (images are
  not pulled; the host's programs stand in for every image) and the env the kubelet builds;
- reports container states, exit codes, termination messages, conditions and the phase
  (pkg/kubelet/kubelet_pods.go ``getPhase``) through ``pods/status``;
- honours deletion (SIGTERM, the grace period, SIGKILL, then the final delete with grace 0)
  and ``activeDeadlineSeconds`` (pkg/kubelet/active_deadline.go: phase Failed, reason
  DeadlineExceeded).

Limits (by design, this is a test harness): no image pulls or image env/entrypoints (a
container without ``command`` fails to start), no restarts (restartPolicy Never and OnFailure
behave as Never), containers run as root with the host network, probes and resource limits are
ignored, projected tokens are not refreshed.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from kubeclient import ApiError, KubeClient  # noqa: E402
from podspec import expand, field_value, resource_value, volume_source_path  # noqa: E402

log = logging.getLogger("podrunner")

CTREXEC = HERE / "ctrexec.py"
DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"
TERMINATION_MESSAGE_LIMIT = 4096  # pkg/kubelet/kuberuntime: maxMessageLength
FALLBACK_LOG_LINES = 80  # kubecontainer.MaxContainerTerminationMessageLogLines
FALLBACK_LOG_BYTES = 2048  # kubecontainer.MaxContainerTerminationMessageLogLength


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Unavailable(Exception):
    """A volume source does not exist yet: the kubelet waits and retries."""


class PodRunner:
    """Watches pods, binds them to its node and runs a PodWorker per pod."""

    def __init__(self, client: KubeClient, node: str, state: Path, path_env: str,
                 api_host: str, api_port: int) -> None:
        self.client = client
        self.node = node
        self.state = state
        self.path_env = path_env
        self.api_host = api_host
        self.api_port = api_port
        self.workers: dict[str, PodWorker] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    # --- node ---------------------------------------------------------------------------------
    def register_node(self) -> None:
        capacity = {"cpu": "64", "memory": "256Gi", "pods": "1000",
                    "ephemeral-storage": "100Gi"}
        node = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": self.node, "labels": {
                "kubernetes.io/hostname": self.node, "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64"}},
        }
        try:
            self.client.post("/api/v1/nodes", node)
        except ApiError as e:
            if e.status != 409:
                raise
        self.client.merge_patch(f"/api/v1/nodes/{self.node}/status", {"status": {
            "capacity": capacity, "allocatable": capacity,
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                          {"type": "Hostname", "address": self.node}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "argo-here pod runner is ready",
                            "lastHeartbeatTime": now(), "lastTransitionTime": now()}],
            "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux",
                         "kubeletVersion": "argo-here", "kubeProxyVersion": "",
                         "containerRuntimeVersion": "argo-here://local-processes",
                         "osImage": "host", "kernelVersion": os.uname().release,
                         "machineID": "", "systemUUID": "", "bootID": ""},
        }})

    # --- pods ---------------------------------------------------------------------------------
    def run(self) -> None:
        self.register_node()
        log.info("node %s registered", self.node)
        while not self.stopping.is_set():
            try:
                listing = self.client.get("/api/v1/pods")
                for pod in listing.get("items", []):
                    self.handle("ADDED", pod)
                rv = listing["metadata"]["resourceVersion"]
                while not self.stopping.is_set():
                    for event in self.client.watch("/api/v1/pods", rv, timeout_seconds=120):
                        obj = event.get("object") or {}
                        if event.get("type") == "ERROR":
                            raise ApiError("WATCH", "/api/v1/pods", obj.get("code", 500), obj)
                        rv = obj.get("metadata", {}).get("resourceVersion", rv)
                        if event.get("type") != "BOOKMARK":
                            self.handle(event["type"], obj)
                        if self.stopping.is_set():
                            break
            except Exception as e:  # relist on 410 Gone, connection resets, ...
                if self.stopping.is_set():
                    break
                log.warning("pod watch restarts: %s", e)
                self.stopping.wait(1.0)

    def handle(self, kind: str, pod: dict[str, Any]) -> None:
        meta, spec = pod["metadata"], pod.get("spec", {})
        uid = meta["uid"]
        node = spec.get("nodeName") or ""
        with self.lock:
            worker = self.workers.get(uid)
        if kind == "DELETED":
            if worker:
                worker.request_delete(0)
            return
        if not node:
            if not meta.get("deletionTimestamp") and spec.get(
                    "schedulerName", "default-scheduler") == "default-scheduler":
                self.bind(pod)
            return
        if node != self.node:
            return
        if worker:
            worker.update(pod)
            return
        if meta.get("deletionTimestamp"):
            self.finalize(pod)
            return
        if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            return
        worker = PodWorker(self, pod)
        with self.lock:
            self.workers[uid] = worker
        worker.start()

    def bind(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        body = {"apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                             "uid": meta["uid"]},
                "target": {"apiVersion": "v1", "kind": "Node", "name": self.node}}
        try:
            self.client.post(
                f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/binding", body)
        except ApiError as e:
            if e.status not in (404, 409):
                log.warning("cannot bind %s/%s: %s", meta["namespace"], meta["name"], e)

    def finalize(self, pod: dict[str, Any]) -> None:
        """The kubelet's last word on a terminated pod being deleted: delete with grace 0."""
        meta = pod["metadata"]
        try:
            self.client.delete(
                f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
                {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
                 "preconditions": {"uid": meta["uid"]}})
        except ApiError as e:
            if e.status not in (404, 409):
                log.warning("cannot delete %s/%s: %s", meta["namespace"], meta["name"], e)

    def forget(self, uid: str) -> None:
        with self.lock:
            self.workers.pop(uid, None)

    def stop(self, grace: float = 5.0) -> None:
        """Kill every container (SIGTERM, then SIGKILL after ``grace``)."""
        self.stopping.set()
        with self.lock:
            workers = list(self.workers.values())
        for w in workers:
            w.request_delete(grace)
        deadline = time.monotonic() + grace + 5
        for w in workers:
            w.join(max(0.1, deadline - time.monotonic()))


class PodWorker(threading.Thread):
    """Runs one pod from volume setup to its last container's exit."""

    def __init__(self, runner: PodRunner, pod: dict[str, Any]) -> None:
        super().__init__(name=f"pod-{pod['metadata']['name']}", daemon=True)
        self.runner = runner
        self.client = runner.client
        self.pod = pod
        self.meta = pod["metadata"]
        self.spec = pod["spec"]
        self.ns, self.name, self.uid = self.meta["namespace"], self.meta["name"], self.meta["uid"]
        self.dir = runner.state / "pods" / self.uid
        self.path = f"/api/v1/namespaces/{self.ns}/pods/{self.name}"
        self.cond = threading.Condition()
        self.delete_grace: float | None = None
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.started: dict[str, str] = {}
        self.init_statuses: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, dict[str, Any]] = {}
        self.phase = "Pending"
        self.reason: str | None = None
        self.message: str | None = None
        self.start_time = now()
        self.start_mono = time.monotonic()
        self.initialized = False

    # --- events from the watch ----------------------------------------------------------------
    def update(self, pod: dict[str, Any]) -> None:
        self.pod = pod
        ts = pod["metadata"].get("deletionTimestamp")
        if ts:
            grace = pod["metadata"].get("deletionGracePeriodSeconds")
            if grace is None:
                grace = self.spec.get("terminationGracePeriodSeconds", 30)
            self.request_delete(float(grace))

    def request_delete(self, grace: float) -> None:
        with self.cond:
            if self.delete_grace is None or grace < self.delete_grace:
                self.delete_grace = grace
            self.cond.notify_all()

    # --- main ---------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._run()
        except Exception as e:
            log.exception("pod %s/%s", self.ns, self.name)
            self.phase, self.reason, self.message = "Failed", "RunnerError", str(e)
            self._report()
        finally:
            self._kill_all(0)
            self._release()
            if self.delete_grace is not None:
                self.runner.finalize(self.pod)
                shutil.rmtree(self.dir, ignore_errors=True)
            self.runner.forget(self.uid)

    def _release(self) -> None:
        """Free what a terminated pod holds on disk. The kubelet tears down the volumes of a
        terminated pod without waiting for the pod object's deletion (pkg/kubelet/
        volumemanager/populator ``findAndRemoveDeletedPods`` drops pods whose runtime should be
        removed; an emptyDir's teardown deletes its directory); the containers' writable
        layers go too. Logs stay, as the runtime keeps a dead container's log. Without this
        every pod would keep its copy of argoexec (/var/run/argo, ~150 MB)."""
        shutil.rmtree(self.dir / "volumes", ignore_errors=True)
        for c in (self.dir / "containers").glob("*"):
            for part in ("upper", "work", "root"):
                shutil.rmtree(c / part, ignore_errors=True)

    def _run(self) -> None:
        init = self.spec.get("initContainers") or []
        main = self.spec.get("containers") or []
        for c in init:
            self.init_statuses[c["name"]] = self._waiting(c, "PodInitializing")
        for c in main:
            self.statuses[c["name"]] = self._waiting(c, "PodInitializing" if init
                                                     else "ContainerCreating")
        self._report()
        if not self._setup_volumes():
            return
        for c in init:
            code = self._run_to_end(c, self.init_statuses)
            if code is None:
                return
            if code != 0:
                self.phase = "Failed"
                self._report()
                return
        self.initialized = True
        for c in main:
            if self._stopped():
                break
            self._start(c, self.statuses)
        self.phase = "Running" if self.procs else self.phase
        self._report()
        self._wait_all(self.statuses)
        self.phase = self._final_phase()
        self._report()

    def _final_phase(self) -> str:
        if self.reason == "DeadlineExceeded":
            return "Failed"
        codes = [s["state"].get("terminated", {}).get("exitCode", 1)
                 for s in self.statuses.values()]
        return "Succeeded" if codes and all(c == 0 for c in codes) else "Failed"

    def _stopped(self) -> bool:
        return self.delete_grace is not None or self.reason == "DeadlineExceeded"

    # --- volumes ------------------------------------------------------------------------------
    def _setup_volumes(self) -> bool:
        """Lay out every volume; False if the pod was deleted while a source was missing."""
        while True:
            try:
                for v in self.spec.get("volumes") or []:
                    self._volume(v)
                return True
            except Unavailable as e:
                for s in self.statuses.values():
                    s["state"] = {"waiting": {"reason": "ContainerCreating",
                                              "message": f"MountVolume.SetUp failed: {e}"}}
                self._report()
                with self.cond:
                    self.cond.wait(2.0)
                if self._stopped() or self.runner.stopping.is_set():
                    return False

    def _volume(self, v: Mapping[str, Any]) -> None:
        target = self.dir / "volumes" / v["name"]
        if "emptyDir" in v:
            target.mkdir(parents=True, exist_ok=True)
            target.chmod(0o777)
        elif "hostPath" in v:
            path = Path(v["hostPath"]["path"])
            if v["hostPath"].get("type") == "DirectoryOrCreate":
                path.mkdir(parents=True, exist_ok=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.is_symlink():
                target.symlink_to(path)
        elif "configMap" in v or "secret" in v or "downwardAPI" in v or "projected" in v:
            files: dict[str, tuple[bytes, int | None]] = {}
            if "projected" in v:
                mode = v["projected"].get("defaultMode", 0o644)
                for src in v["projected"].get("sources") or []:
                    files.update(self._source_files(src, mode))
            else:
                files = self._source_files(v, None)
            tmp = target.with_name(target.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            for rel, (data, mode) in files.items():
                p = tmp / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)
                p.chmod(mode if mode is not None else 0o644)
            tmp.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(target, ignore_errors=True)
            tmp.rename(target)
        else:
            kinds = sorted(k for k in v if k != "name")
            raise RuntimeError(f"volume {v['name']!r}: unsupported source {kinds}")

    def _source_files(self, src: Mapping[str, Any], default_mode: int | None
                      ) -> dict[str, tuple[bytes, int | None]]:
        if "serviceAccountToken" in src:
            t = src["serviceAccountToken"]
            return {t["path"]: (self._token(t).encode(), default_mode or 0o644)}
        if "configMap" in src or "secret" in src:
            kind = "configMap" if "configMap" in src else "secret"
            ref = src[kind]
            name = ref.get("name") or ref.get("secretName")
            mode = ref.get("defaultMode", default_mode if default_mode is not None else 0o644)
            data = self._object_data(kind, name, ref.get("optional", False))
            if data is None:
                return {}
            items = ref.get("items")
            if not items:
                return {k: (val, mode) for k, val in data.items()}
            out = {}
            for it in items:
                if it["key"] not in data:
                    if ref.get("optional"):
                        continue
                    raise Unavailable(f"{kind} {name!r} has no key {it['key']!r}")
                out[it["path"]] = (data[it["key"]], it.get("mode", mode))
            return out
        if "downwardAPI" in src:
            d = src["downwardAPI"]
            mode = d.get("defaultMode", default_mode if default_mode is not None else 0o644)
            out = {}
            for it in d.get("items") or []:
                if "fieldRef" in it:
                    value = field_value(self.pod, it["fieldRef"]["fieldPath"])
                else:
                    value = resource_value(self._container(it["resourceFieldRef"]),
                                           it["resourceFieldRef"])
                out[it["path"]] = (value.encode(), it.get("mode", mode))
            return out
        raise RuntimeError(f"unsupported projected source {sorted(src)}")

    def _container(self, ref: Mapping[str, Any]) -> Mapping[str, Any]:
        for c in (self.spec.get("containers") or []) + (self.spec.get("initContainers") or []):
            if c["name"] == ref.get("containerName"):
                return c
        return {}

    def _object_data(self, kind: str, name: str, optional: bool) -> dict[str, bytes] | None:
        plural = "configmaps" if kind == "configMap" else "secrets"
        try:
            obj = self.client.get(f"/api/v1/namespaces/{self.ns}/{plural}/{name}")
        except ApiError as e:
            if e.status == 404:
                if optional:
                    return None
                raise Unavailable(f'{kind} "{name}" not found') from None
            raise
        out: dict[str, bytes] = {}
        if kind == "configMap":
            out.update({k: v.encode() for k, v in (obj.get("data") or {}).items()})
            out.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
        else:
            out.update({k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()})
        return out

    def _token(self, t: Mapping[str, Any]) -> str:
        sa = self.spec.get("serviceAccountName") or "default"
        body: dict[str, Any] = {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": t.get("expirationSeconds", 3600),
                     "boundObjectRef": {"apiVersion": "v1", "kind": "Pod",
                                        "name": self.name, "uid": self.uid}}}
        if t.get("audience"):
            body["spec"]["audiences"] = [t["audience"]]
        try:
            answer = self.client.post(
                f"/api/v1/namespaces/{self.ns}/serviceaccounts/{sa}/token", body)
        except ApiError as e:
            if e.status == 404:
                raise Unavailable(f'serviceaccount "{sa}" not found') from None
            raise
        return answer["status"]["token"]

    # --- env ----------------------------------------------------------------------------------
    def _env(self, c: Mapping[str, Any]) -> dict[str, str]:
        """pkg/kubelet/kubelet_pods.go makeEnvironmentVariables: service env of the master
        service, then envFrom, then env (each value expanded against what came before)."""
        port = str(self.runner.api_port)
        host = self.runner.api_host
        env: dict[str, str] = {
            "KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port,
            "KUBERNETES_SERVICE_PORT_HTTPS": port,
            "KUBERNETES_PORT": f"tcp://{host}:{port}",
            f"KUBERNETES_PORT_{port}_TCP": f"tcp://{host}:{port}",
            f"KUBERNETES_PORT_{port}_TCP_PROTO": "tcp",
            f"KUBERNETES_PORT_{port}_TCP_PORT": port,
            f"KUBERNETES_PORT_{port}_TCP_ADDR": host,
        }
        for ef in c.get("envFrom") or []:
            kind = "configMap" if "configMapRef" in ef else "secret"
            ref = ef.get("configMapRef") or ef.get("secretRef") or {}
            data = self._object_data(kind, ref["name"], ref.get("optional", False)) or {}
            for k, v in data.items():
                env[ef.get("prefix", "") + k] = v.decode(errors="replace")
        for e in c.get("env") or []:
            if "valueFrom" not in e:
                env[e["name"]] = expand(e.get("value", ""), env)
                continue
            vf = e["valueFrom"]
            if "fieldRef" in vf:
                env[e["name"]] = field_value(self.pod, vf["fieldRef"]["fieldPath"])
            elif "resourceFieldRef" in vf:
                ref = vf["resourceFieldRef"]
                env[e["name"]] = resource_value(self._container(ref) if ref.get(
                    "containerName") else c, ref)
            else:
                kind = "configMap" if "configMapKeyRef" in vf else "secret"
                ref = vf.get("configMapKeyRef") or vf.get("secretKeyRef") or {}
                data = self._object_data(kind, ref["name"], ref.get("optional", False))
                if data is not None and ref["key"] in data:
                    env[e["name"]] = data[ref["key"]].decode(errors="replace")
                elif not ref.get("optional"):
                    raise Unavailable(f"{kind} {ref['name']!r} has no key {ref['key']!r}")
        # What an image's config would give (Env, hostname): the host's programs stand in.
        env.setdefault("PATH", self.runner.path_env)
        env.setdefault("HOME", "/root")
        env.setdefault("HOSTNAME", self.name)
        return env

    # --- containers ---------------------------------------------------------------------------
    def _waiting(self, c: Mapping[str, Any], reason: str) -> dict[str, Any]:
        return {"name": c["name"], "image": c.get("image", ""), "imageID": "",
                "ready": False, "restartCount": 0, "started": False,
                "state": {"waiting": {"reason": reason}}}

    def _cid(self, name: str) -> str:
        return f"argohere://{self.uid}/{name}"

    def _start(self, c: Mapping[str, Any], statuses: dict[str, dict[str, Any]]) -> None:
        name = c["name"]
        cdir = self.dir / "containers" / name
        cdir.mkdir(parents=True, exist_ok=True)
        term = cdir / "termination-log"
        term.write_bytes(b"")
        term.chmod(0o666)
        start_error = cdir / "start-error"
        start_error.unlink(missing_ok=True)
        try:
            env = self._env(c)
            argv = [expand(a, env) for a in (c.get("command") or []) + (c.get("args") or [])]
            mounts = []
            vol_names = {v["name"] for v in self.spec.get("volumes") or []}
            for m in c.get("volumeMounts") or []:
                if m["name"] not in vol_names:
                    raise RuntimeError(f"volumeMount {m['name']!r} has no volume")
                vdir = (self.dir / "volumes" / m["name"]).resolve()
                mounts.append({"source": str(volume_source_path(vdir, m, env)),
                               "path": m["mountPath"], "readOnly": m.get("readOnly", False)})
            mounts.append({"source": str(term), "path": c.get(
                "terminationMessagePath", "/dev/termination-log")})
        except (Unavailable, RuntimeError, ValueError) as e:
            self._terminated(statuses, c, 128, "CreateContainerConfigError", str(e), now())
            return
        spec = {"root": str(cdir / "root"), "upper": str(cdir / "upper"),
                "work": str(cdir / "work"), "mounts": mounts,
                "workingDir": c.get("workingDir") or "/", "argv": argv, "env": env}
        (cdir / "spec.json").write_text(json.dumps(spec))
        logf = open(cdir / "log", "ab")  # noqa: SIM115 - handed to the child
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", str(CTREXEC), str(cdir / "spec.json")],
                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                start_new_session=True, cwd="/")
        finally:
            logf.close()
        started = now()
        self.procs[name] = proc
        self.started[name] = started
        statuses[name] = {**statuses[name], "containerID": self._cid(name), "started": True,
                          "ready": True, "state": {"running": {"startedAt": started}}}
        log.info("%s/%s: started %s (pid %d): %s", self.ns, self.name, name, proc.pid, argv)

    def _terminated(self, statuses: dict[str, dict[str, Any]], c: Mapping[str, Any],
                    code: int, reason: str, message: str, started: str) -> None:
        term: dict[str, Any] = {"exitCode": code, "reason": reason, "startedAt": started,
                                "finishedAt": now(), "containerID": self._cid(c["name"])}
        if message:
            term["message"] = message
        statuses[c["name"]] = {**statuses[c["name"]], "ready": False, "started": False,
                               "state": {"terminated": term}}

    def _exit_status(self, c: Mapping[str, Any], code: int) -> tuple[int, str, str]:
        cdir = self.dir / "containers" / c["name"]
        if code < 0:
            code = 128 - code  # killed by a signal, as runtimes report it
        start_error = cdir / "start-error"
        log_text = (cdir / "log").read_bytes() if (cdir / "log").exists() else b""
        if code == 128 and (log_text.startswith(b"ctrexec:") or log_text.startswith(b"exec:")):
            return 128, "StartError", log_text.decode(errors="replace").strip()
        if start_error.exists():
            return 128, "StartError", start_error.read_text()
        message = (cdir / "termination-log").read_bytes()[:TERMINATION_MESSAGE_LIMIT]
        if (not message.strip() and code != 0
                and c.get("terminationMessagePolicy") == "FallbackToLogsOnError"):
            lines = log_text.splitlines(keepends=True)[-FALLBACK_LOG_LINES:]
            message = b"".join(lines)[-FALLBACK_LOG_BYTES:]
        return code, "Completed" if code == 0 else "Error", message.decode(errors="replace")

    def _run_to_end(self, c: Mapping[str, Any], statuses: dict[str, dict[str, Any]]
                    ) -> int | None:
        """Run one init container to its end; None if the pod was stopped meanwhile."""
        self._start(c, statuses)
        self._report()
        self._wait_all(statuses)
        state = statuses[c["name"]]["state"]
        if "terminated" not in state:
            return None
        if self._stopped():
            return None
        return int(state["terminated"]["exitCode"])

    def _wait_all(self, statuses: dict[str, dict[str, Any]]) -> None:
        """Wait until every process in ``statuses`` has ended, enforcing deletion and the
        active deadline (both: SIGTERM, the grace period, SIGKILL)."""
        containers = {c["name"]: c for c in (self.spec.get("initContainers") or [])
                      + (self.spec.get("containers") or [])}
        kill_at: float | None = None
        deadline = self.spec.get("activeDeadlineSeconds")
        while True:
            alive = {n: p for n, p in self.procs.items() if n in statuses}
            changed = False
            for n, p in list(alive.items()):
                code = p.poll()
                if code is not None:
                    code, reason, message = self._exit_status(containers[n], code)
                    self._terminated(statuses, containers[n], code, reason, message,
                                     self.started[n])
                    del self.procs[n]
                    changed = True
                    log.info("%s/%s: %s exited %d", self.ns, self.name, n, code)
            if changed:
                self._report()
            if not any(n in statuses for n in self.procs):
                return
            if (deadline is not None and self.reason is None
                    and time.monotonic() - self.start_mono > float(deadline)):
                self.phase, self.reason, self.message = (
                    "Failed", "DeadlineExceeded", DEADLINE_MESSAGE)
                self._report()
                self.request_delete(float(self.spec.get("terminationGracePeriodSeconds", 30)))
            with self.cond:
                grace = self.delete_grace
                if grace is not None and kill_at is None:
                    kill_at = time.monotonic() + grace
                    self._signal_all(signal.SIGTERM)
                if kill_at is not None and time.monotonic() >= kill_at:
                    self._signal_all(signal.SIGKILL)
                self.cond.wait(0.1)

    def _signal_all(self, sig: int) -> None:
        for p in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, sig)

    def _kill_all(self, grace: float) -> None:
        if not self.procs:
            return
        self._signal_all(signal.SIGTERM)
        end = time.monotonic() + grace
        while time.monotonic() < end and any(p.poll() is None for p in self.procs.values()):
            time.sleep(0.05)
        self._signal_all(signal.SIGKILL)
        for p in self.procs.values():
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                log.error("%s/%s: pid %d survives SIGKILL", self.ns, self.name, p.pid)

    # --- status -------------------------------------------------------------------------------
    def _report(self) -> None:
        all_main = list(self.statuses.values())
        ready = bool(all_main) and all(s.get("ready") for s in all_main)
        t = now()
        conditions = [
            {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": t},
            {"type": "Initialized", "status": "True" if self.initialized else "False",
             "lastTransitionTime": t},
            {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": t},
            {"type": "ContainersReady", "status": "True" if ready else "False",
             "lastTransitionTime": t},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": t},
        ]
        status: dict[str, Any] = {
            "phase": self.phase, "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}],
            "podIP": "127.0.0.1", "podIPs": [{"ip": "127.0.0.1"}],
            "startTime": self.start_time, "conditions": conditions,
            "containerStatuses": all_main, "reason": self.reason, "message": self.message,
        }
        if self.init_statuses:
            status["initContainerStatuses"] = list(self.init_statuses.values())
        try:
            self.client.merge_patch(f"{self.path}/status", {"status": status})
        except ApiError as e:
            if e.status != 404:
                log.warning("%s/%s: status not reported: %s", self.ns, self.name, e)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", required=True, help="API server host:port")
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--ca-file", required=True)
    ap.add_argument("--node", default="argohere")
    ap.add_argument("--state", required=True, help="directory for pods' volumes and layers")
    ap.add_argument("--path", required=True, help="PATH that stands in for every image's PATH")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(threadName)s %(message)s")
    host, _, port = args.server.rpartition(":")
    client = KubeClient(host, int(port), Path(args.token_file).read_text().strip(), args.ca_file)
    runner = PodRunner(client, args.node, Path(args.state), args.path, host, int(port))

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping", signum)
        runner.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    t = threading.Thread(target=runner.run, name="watch", daemon=True)
    t.start()
    while not runner.stopping.wait(0.5):
        if not t.is_alive():
            return 1
    runner.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
