"""argo-here: a real Argo Workflows on this machine, without Docker (see tools/argo-here).

``start`` launches a supervisor in the background and prints ``export NAME=value`` lines once
everything is ready; ``stop`` ends the supervisor and every process it started. The supervisor
(``supervise``) runs in a private network namespace (netns.py) and starts, in order:

1. ``argohere-apiserver``: Kubernetes' kube-apiserver with an embedded etcd (apiserver/), TLS
   from a CA generated here, a service-account signing key generated here, RBAC authorization
   and one static admin token (group system:masters);
2. moto's S3 server (the venv's ``moto[server]``) with the chart's bucket;
3. the cluster objects: namespace, ``kube-root-ca.crt``, Argo's full CRDs from the module's
   ``manifests/base/crds/full`` and the chart's own objects (``charts/hkube2argo`` rendered by
   Helm's engine with the dependencies off and the artifact repository pointed at moto), so
   the workflow pods run with the chart's service account and RBAC;
4. Argo's ``workflow-controller`` and ``argo server`` (built from the module by argohere/build),
   namespaced to that namespace as the chart installs them (``singleNamespace``);
5. the pod runner (podrunner.py), which plays the kubelet for one node.

Everything listens on 127.0.0.1 inside the namespace; the argo server, S3 and the API server
are forwarded from free ports of the host's 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import netns  # noqa: E402
from kubeclient import ApiError, KubeClient  # noqa: E402

log = logging.getLogger("argo-here")

BIN = HERE / "bin"
ARGO_SRC = HERE / "argo" / ".src" / "argo-workflows"
NAMESPACE = "pipelines"
API_PORT, ETCD_PORT, ETCD_PEER_PORT, S3_PORT, ARGO_PORT = 6443, 2379, 2380, 9000, 2746
BINARIES = ("argohere-apiserver", "workflow-controller", "argo", "argoexec")
START_TIMEOUT = float(os.environ.get("ARGO_HERE_START_TIMEOUT", "300"))
STOP_TIMEOUT = 60.0


def state_dir() -> Path:
    return Path(os.environ.get("ARGO_HERE_STATE") or ROOT / ".argo-here").resolve()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _read_pid(state: Path) -> int | None:
    try:
        pid = int((state / "supervisor.pid").read_text())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


# --- start / stop (run on the host) -----------------------------------------------------------
def cmd_start(_args: argparse.Namespace) -> int:
    state = state_dir()
    if _read_pid(state) and (state / "ready").exists():
        sys.stdout.write((state / "env").read_text())
        return 0
    if _read_pid(state):
        print("argo-here: a supervisor is already starting; run 'tools/argo-here stop' first",
              file=sys.stderr)
        return 1
    missing = [b for b in BINARIES if not (BIN / b).exists()]
    if missing:
        print(f"argo-here: building {', '.join(missing)} (tools/argohere/build) ...",
              file=sys.stderr)
        rc = subprocess.call([str(HERE / "build")], stdout=sys.stderr)
        if rc != 0:
            print("argo-here: build failed", file=sys.stderr)
            return 1
    if state.exists():
        _wipe(state)
    (state / "logs").mkdir(parents=True)
    out = open(state / "logs" / "supervisor.log", "ab")  # noqa: SIM115 - handed over
    proc = subprocess.Popen([sys.executable, str(Path(__file__)), "supervise"],
                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, "ARGO_HERE_STATE":
                                                         str(state)})
    out.close()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if (state / "ready").exists():
            sys.stdout.write((state / "env").read_text())
            return 0
        if proc.poll() is not None or (state / "failed").exists():
            break
        time.sleep(0.3)
    reason = (state / "failed").read_text() if (state / "failed").exists() else (
        "supervisor exited" if proc.poll() is not None else f"not ready after {START_TIMEOUT}s")
    print(f"argo-here: start failed: {reason}\nlogs: {state / 'logs'}", file=sys.stderr)
    _stop(state)
    return 1


def _wipe(state: Path) -> None:
    """Remove a previous run's state (keeping nothing: a fresh cluster each start)."""
    shutil.rmtree(state, ignore_errors=True)
    if state.exists():  # overlay work dirs can be mode 000 - rmtree as root copes, else:
        subprocess.call(["rm", "-rf", str(state)])


def cmd_stop(_args: argparse.Namespace) -> int:
    state = state_dir()
    if not state.exists():
        print("argo-here: nothing to stop", file=sys.stderr)
        return 0
    left = _stop(state)
    if left:
        print(f"argo-here: processes still alive after stop: {left}", file=sys.stderr)
        return 1
    print("argo-here: stopped", file=sys.stderr)
    return 0


def _netns_members(inode: str) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            if os.readlink(d / "ns" / "net") == inode and _alive(int(d.name)):
                out.append(int(d.name))
        except OSError:
            continue
    return out


def _stop(state: Path) -> list[int]:
    """SIGTERM the supervisor (it stops its children in order), wait, then SIGKILL whatever
    is left in its network namespace: every process there was started by this supervisor."""
    pid = _read_pid(state)
    inode = (state / "netns").read_text().strip() if (state / "netns").exists() else ""
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    left: list[int] = []
    if inode:
        for _ in range(20):
            left = _netns_members(inode)
            if not left:
                break
            for p in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p, signal.SIGKILL)
            time.sleep(0.25)
    (state / "supervisor.pid").unlink(missing_ok=True)
    (state / "ready").unlink(missing_ok=True)
    return left


# --- the supervisor (inside the private network namespace) ------------------------------------
class Supervisor:
    def __init__(self, state: Path) -> None:
        self.state = state
        self.logs = state / "logs"
        self.pki = state / "pki"
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.stop = threading.Event()
        self.admin_token = secrets.token_hex(24)
        self.s3_access = "argohere"
        self.s3_secret = secrets.token_hex(20)
        self.client: KubeClient | None = None

    # processes
    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("ARGO_", "KUBECONFIG", "AWS_", "HKUBE2ARGO_"))}
        prefix = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []
        out = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - handed over
        try:
            proc = subprocess.Popen(prefix + argv, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, env={**base, **(env or {})},
                                    cwd=self.state)
        finally:
            out.close()
        log.info("started %s (pid %d)", name, proc.pid)
        self.children.append((name, proc))

    def check_children(self) -> None:
        for name, proc in self.children:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode} "
                                   f"(see {self.logs / (name + '.log')})")

    def shutdown(self) -> None:
        for name, proc in reversed(self.children):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30 if name == "podrunner" else 10)
                except subprocess.TimeoutExpired:
                    log.warning("%s ignores SIGTERM: SIGKILL", name)
                    proc.kill()
                    proc.wait(10)
            log.info("%s stopped (%s)", name, proc.returncode)

    def wait_for(self, what: str, check: Any, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            self.check_children()
            try:
                value = check()
                if value:
                    return value
            except Exception as e:
                last = e
            time.sleep(0.5)
        raise RuntimeError(f"{what}: not ready after {timeout:.0f}s ({last})")

    # pki
    def make_pki(self) -> None:
        p = self.pki
        p.mkdir(parents=True)

        def ossl(*a: str) -> None:
            subprocess.run(["openssl", *a], check=True, capture_output=True, cwd=p)

        ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650",
             "-subj", "/CN=argo-here-ca")
        ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=kube-apiserver")
        (p / "san.ext").write_text(
            "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,"
            "DNS:kubernetes.default,DNS:kubernetes.default.svc,"
            "DNS:kubernetes.default.svc.cluster.local\n")
        ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.crt", "-days", "3650", "-extfile", "san.ext")
        ossl("genrsa", "-out", "sa.key", "2048")
        ossl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")
        (p / "tokens.csv").write_text(f'{self.admin_token},argo-here-admin,argo-here-admin,'
                                      f'"system:masters"\n')
        (p / "admin.token").write_text(self.admin_token)
        for name, port in (("kubeconfig", API_PORT), ("kubeconfig.host", self.host_api_port)):
            (self.state / name).write_text(json.dumps({
                "apiVersion": "v1", "kind": "Config", "current-context": "argo-here",
                "clusters": [{"name": "argo-here", "cluster": {
                    "server": f"https://127.0.0.1:{port}",
                    "certificate-authority": str(p / "ca.crt")}}],
                "users": [{"name": "admin", "user": {"token": self.admin_token}}],
                "contexts": [{"name": "argo-here", "context": {
                    "cluster": "argo-here", "user": "admin", "namespace": NAMESPACE}}],
            }, indent=1))

    # components
    def start_apiserver(self) -> None:
        p = self.pki
        self.spawn("apiserver", [
            str(BIN / "argohere-apiserver"), "-etcd-dir", str(self.state / "etcd"),
            "-etcd-client-port", str(ETCD_PORT), "-etcd-peer-port", str(ETCD_PEER_PORT), "--",
            f"--etcd-servers=http://127.0.0.1:{ETCD_PORT}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={API_PORT}",
            f"--tls-cert-file={p / 'server.crt'}", f"--tls-private-key-file={p / 'server.key'}",
            f"--client-ca-file={p / 'ca.crt'}",
            f"--token-auth-file={p / 'tokens.csv'}",
            f"--service-account-key-file={p / 'sa.pub'}",
            f"--service-account-signing-key-file={p / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--authorization-mode=RBAC",
            "--service-cluster-ip-range=10.96.0.0/16",
            # 127.0.0.1 is not a valid Endpoints address, so the apiserver must not publish
            # itself in the kubernetes Service; pods reach it via KUBERNETES_SERVICE_HOST.
            "--endpoint-reconciler-type=none",
            "--allow-privileged=true", "--profiling=false",
            "--enable-priority-and-fairness=false",
            f"--cert-dir={p}",
        ])
        self.client = KubeClient("127.0.0.1", API_PORT, self.admin_token, str(p / "ca.crt"))
        self.wait_for("kube-apiserver /readyz",
                      lambda: self.client.request("GET", "/readyz") is not None, 180)

    def start_s3(self) -> None:
        self.spawn("s3", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                          "-p", str(S3_PORT)])

    def make_bucket(self, bucket: str) -> None:
        from minio import Minio

        m = Minio(f"127.0.0.1:{S3_PORT}", access_key=self.s3_access,
                  secret_key=self.s3_secret, secure=False)

        def ready() -> bool:
            if not m.bucket_exists(bucket):
                m.make_bucket(bucket)
            return True

        self.wait_for("S3 bucket", ready, 60)

    def bootstrap(self) -> str:
        """Namespace, CA bundle, CRDs and the chart's objects; returns the chart's bucket."""
        assert self.client
        c = self.client
        applier = Applier(c)
        applier.apply({"apiVersion": "v1", "kind": "Namespace",
                       "metadata": {"name": NAMESPACE}})
        ca = (self.pki / "ca.crt").read_text()
        for ns in ("default", NAMESPACE):
            applier.apply({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "kube-root-ca.crt", "namespace": ns},
                           "data": {"ca.crt": ca}})
            applier.apply({"apiVersion": "v1", "kind": "ServiceAccount",
                           "metadata": {"name": "default", "namespace": ns}})
        crds = sorted((ARGO_SRC / "manifests/base/crds/full").glob("argoproj.io_*.yaml"))
        if not crds:
            raise RuntimeError(f"no CRDs under {ARGO_SRC}/manifests/base/crds/full "
                               "(run tools/argohere/build)")
        import yaml

        names = []
        t0 = time.monotonic()
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # 2.5 MB each: C parser
        for f in crds:
            doc = yaml.load(f.read_text(), Loader=loader)
            # create, not server-side apply: the cluster is new, and apply's managed-fields
            # bookkeeping over these schemas costs many seconds each
            c.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", doc)
            names.append(doc["metadata"]["name"])
        log.info("CRDs applied in %.1fs", time.monotonic() - t0)

        def established() -> bool:
            for n in names:
                crd = c.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{n}")
                conds = {x["type"]: x["status"] for x in crd.get("status", {}).get(
                    "conditions", [])}
                if conds.get("Established") != "True":
                    return False
            return True

        self.wait_for("Argo CRDs established", established, 60)
        log.info("CRDs established after %.1fs", time.monotonic() - t0)
        applier.reset()
        bucket = "hkube2argo"
        skipped = []
        for obj in chart_objects(self.s3_access, self.s3_secret):
            if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == "artifact-repositories":
                bucket = yaml.safe_load(next(iter(obj["data"].values())))["s3"]["bucket"]
            if not applier.served(obj):
                skipped.append(f"{obj['kind']}/{obj['metadata']['name']}")
                continue
            applier.apply(obj)
        if skipped:
            log.info("chart objects whose API is not served here (not applied): %s", skipped)
        applier.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "workflow-controller-configmap", "namespace": NAMESPACE}, "data": {}})
        return bucket

    def start_argo(self) -> None:
        kubeconfig = str(self.state / "kubeconfig")
        self.spawn("workflow-controller", [
            str(BIN / "workflow-controller"), "--kubeconfig", kubeconfig, "--namespaced",
            "--managed-namespace", NAMESPACE, "--configmap", "workflow-controller-configmap",
            "--executor-image", "quay.io/argoproj/argoexec:v4.0.5", "--loglevel", "info"],
            # DEFAULT_REQUEUE_TIME=1s is what Argo's own Makefile runs its controller with
            # locally and in e2e tests ("by keeping this short we speed up tests"); the
            # default (10s) adds up to ~10s per DAG level.
            env={"LEADER_ELECTION_DISABLE": "true", "KUBECONFIG": kubeconfig,
                 "DEFAULT_REQUEUE_TIME": os.environ.get("ARGO_HERE_REQUEUE_TIME", "1s")})
        self.spawn("argo-server", [
            str(BIN / "argo"), "server", "--kubeconfig", kubeconfig, "--namespaced",
            "--managed-namespace", NAMESPACE, "--auth-mode", "client", "--secure=false",
            "--port", str(ARGO_PORT), "--loglevel", "info"],
            # In client auth mode the server builds each request's client from the default
            # loading rules (util/kubeconfig DefaultRestConfig), not from --kubeconfig.
            env={"KUBECONFIG": kubeconfig})

        def server_up() -> bool:
            with socket.create_connection(("127.0.0.1", ARGO_PORT), timeout=2):
                return True

        self.wait_for("argo server", server_up, 120)

    def start_runner(self) -> None:
        path = ":".join([str(BIN), str(Path(sys.executable).parent),
                         "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin",
                         "/sbin", "/bin"])
        self.spawn("podrunner", [
            sys.executable, str(HERE / "podrunner.py"), "--server", f"127.0.0.1:{API_PORT}",
            "--token-file", str(self.pki / "admin.token"), "--ca-file",
            str(self.pki / "ca.crt"), "--state", str(self.state / "node"), "--path", path])
        assert self.client
        self.wait_for("node registered",
                      lambda: self.client.get("/api/v1/nodes/argohere"), 60)

    def run(self) -> None:
        listeners = {"argo": netns.host_listener(), "s3": netns.host_listener(),
                     "api": netns.host_listener()}
        self.host_api_port = listeners["api"].getsockname()[1]
        netns.enter_new_netns()
        (self.state / "netns").write_text(os.readlink("/proc/self/ns/net"))
        (self.state / "supervisor.pid").write_text(str(os.getpid()))
        signal.signal(signal.SIGTERM, lambda *_: self.stop.set())
        signal.signal(signal.SIGINT, lambda *_: self.stop.set())
        try:
            t0 = time.monotonic()
            self.make_pki()
            self.start_s3()
            self.start_apiserver()
            log.info("apiserver ready after %.1fs", time.monotonic() - t0)
            bucket = self.bootstrap()
            self.make_bucket(bucket)
            self.start_argo()
            self.start_runner()
            for name, port in (("argo", ARGO_PORT), ("s3", S3_PORT), ("api", API_PORT)):
                threading.Thread(target=netns.forward, args=(listeners[name], port, self.stop),
                                 daemon=True, name=f"fwd-{name}").start()
            env = {
                "ARGO_SERVER": f"127.0.0.1:{listeners['argo'].getsockname()[1]}",
                "ARGO_HTTP1": "true", "ARGO_SECURE": "false", "ARGO_NAMESPACE": NAMESPACE,
                "ARGO_TOKEN": f"Bearer {self.admin_token}",
                "HKUBE2ARGO_S3_ENDPOINT": f"127.0.0.1:{listeners['s3'].getsockname()[1]}",
                "HKUBE2ARGO_S3_SECURE": "false",
                "AWS_ACCESS_KEY_ID": self.s3_access, "AWS_SECRET_ACCESS_KEY": self.s3_secret,
                "ARGO_HERE_KUBECONFIG": str(self.state / "kubeconfig.host"),
            }
            (self.state / "env").write_text(
                "".join(f"export {k}='{v}'\n" for k, v in env.items()))
            (self.state / "ready").write_text(f"{time.monotonic() - t0:.1f}\n")
            log.info("ready after %.1fs", time.monotonic() - t0)
            while not self.stop.wait(1.0):
                self.check_children()
        except Exception as e:
            log.exception("argo-here failed")
            (self.state / "failed").write_text(f"{e}\n")
        finally:
            self.stop.set()
            self.shutdown()


class Applier:
    """Server-side apply of any object whose API the server serves (discovery-driven)."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client
        self.resources: dict[tuple[str, str], tuple[str, bool]] = {}

    def reset(self) -> None:
        self.resources.clear()

    def _resource(self, api_version: str, kind: str) -> tuple[str, bool] | None:
        key = (api_version, kind)
        if key not in self.resources:
            base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            try:
                listing = self.client.get(base)
            except ApiError as e:
                if e.status == 404:
                    return None
                raise
            for r in listing.get("resources", []):
                if "/" not in r["name"]:
                    self.resources[(api_version, r["kind"])] = (r["name"], r["namespaced"])
        return self.resources.get(key)

    def served(self, obj: dict[str, Any]) -> bool:
        return self._resource(obj["apiVersion"], obj["kind"]) is not None

    def apply(self, obj: dict[str, Any]) -> Any:
        found = self._resource(obj["apiVersion"], obj["kind"])
        if not found:
            raise RuntimeError(f"{obj['apiVersion']} {obj['kind']} is not served")
        plural, namespaced = found
        base = "/api/v1" if obj["apiVersion"] == "v1" else f"/apis/{obj['apiVersion']}"
        meta = obj["metadata"]
        if namespaced:
            meta.setdefault("namespace", NAMESPACE)
            base += f"/namespaces/{meta['namespace']}"
        else:
            meta.pop("namespace", None)
        return self.client.request(
            "PATCH", f"{base}/{plural}/{meta['name']}", obj,
            content_type="application/apply-patch+yaml",
            query={"fieldManager": "argo-here", "force": "true"})


def chart_objects(access: str, secret: str) -> list[dict[str, Any]]:
    """charts/hkube2argo rendered by Helm's engine (helm-python-sdk), dependencies off, the
    artifact repository at this namespace's S3 server."""
    import helm_python
    import yaml

    values = {
        "argo-workflows": {"enabled": False}, "argo-events": {"enabled": False},
        "minio": {"enabled": False, "credentials": {"accessKey": access, "secretKey": secret}},
        "artifactRepository": {"endpoint": f"127.0.0.1:{S3_PORT}", "insecure": True},
    }
    chart = helm_python.Chart.load(ROOT / "charts" / "hkube2argo")
    rendered = chart.render(values, name="hkube2argo", namespace=NAMESPACE, is_install=True)
    out = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        out.extend(d for d in yaml.safe_load_all(text) if d)
    return out


def cmd_supervise(_args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    Supervisor(state_dir()).run()
    return 0


def cmd_env(_args: argparse.Namespace) -> int:
    state = state_dir()
    if not (_read_pid(state) and (state / "ready").exists()):
        print("argo-here: not running", file=sys.stderr)
        return 1
    sys.stdout.write((state / "env").read_text())
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="argo-here", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("start", help="start everything; print export lines")
    sub.add_parser("stop", help="stop everything start started")
    sub.add_parser("env", help="print the export lines of the running instance")
    sub.add_parser("supervise", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    return {"start": cmd_start, "stop": cmd_stop, "env": cmd_env,
            "supervise": cmd_supervise}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
