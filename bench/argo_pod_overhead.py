"""Pod overhead on a real Argo (tools/argo-here): how long each task's pod takes beyond its
main container's own run (printed; nothing is asserted).

    eval "$(tools/argo-here start)"
    python bench/argo_pod_overhead.py [WORKFLOW ...]     # default: every Workflow there

For every pod of the Workflows (read through the API server, ARGO_HERE_KUBECONFIG):
  pod      pod startTime -> last container finishedAt (init container, argoexec wait, main)
  main     the main container's startedAt -> finishedAt (the task's own work, incl. python)
  overhead pod - main
and the Workflow's own wall time (startedAt -> finishedAt) beside the sum of its pods' main
times. Medians over pods. Timestamps have one-second resolution (Kubernetes' RFC 3339), so
single values are +-1 s; medians over many pods are what to compare.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools" / "argohere"))

from kubeclient import KubeClient


def ts(value: str) -> float:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=dt.UTC).timestamp()


def client() -> tuple[KubeClient, str]:
    path = os.environ.get("ARGO_HERE_KUBECONFIG")
    if not path:
        sys.exit("ARGO_HERE_KUBECONFIG is not set: eval \"$(tools/argo-here start)\" first")
    cfg = json.loads(Path(path).read_text())
    cluster = cfg["clusters"][0]["cluster"]
    host, port = cluster["server"].removeprefix("https://").rsplit(":", 1)
    ctx = cfg["contexts"][0]["context"]
    return KubeClient(host, int(port), cfg["users"][0]["user"]["token"],
                      cluster["certificate-authority"]), ctx["namespace"]


def main(names: list[str]) -> None:
    c, ns = client()
    wfs = c.get(f"/apis/argoproj.io/v1alpha1/namespaces/{ns}/workflows")["items"]
    pods = c.get(f"/api/v1/namespaces/{ns}/pods")["items"]
    all_overheads: list[float] = []
    print(f"{'workflow':32} {'phase':10} {'pods':>4} {'wall s':>7} {'sum main s':>10} "
          f"{'median pod s':>12} {'median main s':>13} {'median overhead s':>17}")
    for wf in wfs:
        name = wf["metadata"]["name"]
        if names and name not in names:
            continue
        mine = [p for p in pods if p["metadata"].get("labels", {}).get(
            "workflows.argoproj.io/workflow") == name]
        pod_s, main_s = [], []
        for p in mine:
            st = p.get("status", {})
            ends = [cs["state"]["terminated"]["finishedAt"]
                    for cs in st.get("containerStatuses", []) + st.get(
                        "initContainerStatuses", []) if "terminated" in cs.get("state", {})]
            main = [cs["state"]["terminated"] for cs in st.get("containerStatuses", [])
                    if cs["name"] == "main" and "terminated" in cs.get("state", {})]
            if not ends or not main or "startTime" not in st:
                continue
            pod_s.append(max(ts(e) for e in ends) - ts(st["startTime"]))
            main_s.append(ts(main[0]["finishedAt"]) - ts(main[0]["startedAt"]))
        if not pod_s:
            continue
        overhead = [a - b for a, b in zip(pod_s, main_s, strict=True)]
        all_overheads += overhead
        status = wf.get("status", {})
        wall = (ts(status["finishedAt"]) - ts(status["startedAt"])
                if status.get("finishedAt") else float("nan"))
        print(f"{name:32} {status.get('phase', '?'):10} {len(pod_s):>4} {wall:>7.0f} "
              f"{sum(main_s):>10.0f} {statistics.median(pod_s):>12.1f} "
              f"{statistics.median(main_s):>13.1f} {statistics.median(overhead):>17.1f}")
    if all_overheads:
        print(f"all pods: {len(all_overheads)}, median overhead per pod "
              f"{statistics.median(all_overheads):.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
