"""An HKube store as its API returns it (``GET /api/v1/store/pipelines`` and
``/store/algorithms``): stored pipelines carry HKube's defaults and bookkeeping
(``modified``, ``version``, ``auditTrail``), algorithms their store fields. Every pipeline
covers one feature or one kind of problem; ``EXPECTED`` says what migrate must make of it.
Written for these tests (not copied from HKube's own test data).
"""

from __future__ import annotations

from typing import Any

STAMP = 1733400000000
DEFAULT_OPTIONS = {"batchTolerance": 80, "progressVerbosityLevel": "info", "ttl": 3600}


def _algorithm(name: str, **fields: Any) -> dict[str, Any]:
    base = {"name": name, "cpu": 0.1, "mem": "256Mi", "minHotWorkers": 0, "type": "Image",
            "options": {"pending": False}, "created": STAMP, "modified": STAMP,
            "version": "v1abc", "algorithmImage": f"hkube/{name}:v1"}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


ALGORITHMS = [
    _algorithm("green-alg"),
    _algorithm("yellow-alg"),
    _algorithm("black-alg"),
    _algorithm("no-image-alg", algorithmImage=None),  # stored before its image exists
    _algorithm("built-code-alg", type="Code", env="python", entryPoint="main.py",
               algorithmImage="registry.example/hkube/built-code-alg:v3"),
    _algorithm("unbuilt-code-alg", type="Code", env="python", entryPoint="main.py",
               algorithmImage=None, fileInfo={"fileExt": "tar.gz", "checksum": "abc"}),
    _algorithm("git-alg", type="Git", env="nodejs", algorithmImage=None,
               gitRepository={"url": "https://example.com/team/alg.git",
                              "branchName": "main"}),
    _algorithm("hot-alg", minHotWorkers=2, workerEnv={"LOG": "debug"}),
    _algorithm("old-debug-alg", kind="debug", options={"pending": False, "devMode": True}),
    _algorithm("sidecar-alg", sideCars=[{"name": "proxy", "container": {
        "name": "proxy", "image": "envoyproxy/envoy"}}]),
    _algorithm("bad-mem-alg", mem="lots"),
    _algorithm("cache-alg", reservedMemory="512Mi"),
]


def _pipeline(name: str, nodes: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    options = {**DEFAULT_OPTIONS, **fields.pop("options", {})}
    body = {"name": name, "kind": "batch", "experimentName": "main", "priority": 3,
            "nodes": nodes, "options": options, "modified": STAMP, "version": "v1abc",
            "auditTrail": [{"user": "hkube", "timestamp": STAMP, "version": "v1abc"}]}
    body.update(fields)
    return body


def _node(name: str, algorithm: str, *inputs: Any, **fields: Any) -> dict[str, Any]:
    return {"nodeName": name, "algorithmName": algorithm, "input": list(inputs), **fields}


FILES = {"files": {"link": "a", "links": ["a", "b", "c"]}}
SIMPLE = [_node("green", "green-alg", "@flowInput.files.link"),
          _node("yellow", "yellow-alg", "@green"), _node("black", "black-alg", "@yellow")]

PIPELINES = [
    _pipeline("simple", SIMPLE, flowInput=FILES),
    _pipeline("batch", [_node("green", "green-alg", "#@flowInput.files.links"),
                        _node("yellow", "yellow-alg", "#@green"),
                        _node("black", "black-alg", "@yellow")], flowInput=FILES),
    _pipeline("wait-any", [_node("A", "green-alg", "#@flowInput.files.links"),
                           _node("B", "yellow-alg", "*@A")], flowInput=FILES),
    _pipeline("trigger-1", SIMPLE, flowInput=FILES),
    _pipeline("trigger-2", [_node("one", "green-alg", "@flowInput.parent")],
              triggers={"pipelines": ["trigger-1"]}),
    _pipeline("cron-hourly", SIMPLE, flowInput=FILES,
              triggers={"cron": {"pattern": "0 * * * *", "enabled": True}}),
    _pipeline("cron-every-10s", SIMPLE, flowInput=FILES,
              triggers={"cron": {"pattern": "*/10 * * * * *", "enabled": True}}),
    _pipeline("cron-at-second-30", SIMPLE, flowInput=FILES,
              triggers={"cron": {"pattern": "30 0 * * * *", "enabled": True}}),
    _pipeline("concurrent-reject", SIMPLE, flowInput=FILES,
              options={"concurrentPipelines": {"amount": 2, "rejectOnFailure": True}}),
    _pipeline("concurrent-queue", SIMPLE, flowInput=FILES,
              options={"concurrentPipelines": {"amount": 3, "rejectOnFailure": False}}),
    _pipeline("webhooks", SIMPLE, flowInput=FILES,
              webhooks={"progress": "http://hooks.example/progress",
                        "result": "http://hooks.example/result"}),
    _pipeline("ttl", SIMPLE, flowInput=FILES, options={"ttl": 60, "activeTtl": 30}),
    _pipeline("retry", [_node("green", "green-alg", 1,
                              retry={"policy": "Always", "limit": 2})]),
    _pipeline("urgent", SIMPLE, flowInput=FILES, priority=1),
    _pipeline("streaming", SIMPLE, kind="stream", flowInput=FILES),
    _pipeline("uses-no-image", [_node("A", "no-image-alg", 1)]),
    _pipeline("uses-unbuilt-code", [_node("A", "unbuilt-code-alg", 1)]),
    _pipeline("uses-git", [_node("A", "git-alg", 1)]),
    _pipeline("uses-hot", [_node("A", "hot-alg", 1)]),
    _pipeline("uses-sidecar", [_node("A", "sidecar-alg", 1)]),
    _pipeline("uses-built-code", [_node("A", "built-code-alg", 1)]),
    _pipeline("uses-old-debug", [_node("A", "old-debug-alg", 1)]),
    _pipeline("uses-bad-mem", [_node("A", "bad-mem-alg", 1)]),
    _pipeline("uses-cache", [_node("A", "cache-alg", 1)]),
    _pipeline("missing-algorithm", [_node("A", "not-stored-alg", 1)]),
    _pipeline("flowinput-at-run-time", [_node("A", "green-alg", "@flowInput.day")]),
    _pipeline("orphan-child", [_node("A", "green-alg", "@flowInput.parent")],
              triggers={"pipelines": ["deleted-parent"]}),
    _pipeline("nested-input", [_node("green", "green-alg", 1),
                               _node("yellow", "yellow-alg", {"first": "@green.data"})]),
    _pipeline("cyclic", [_node("A", "green-alg", "@B"), _node("B", "yellow-alg", "@A")]),
    _pipeline("debug-node", [_node("A", "green-alg", 1, kind="debug")]),
    _pipeline("include-in-results", [_node("green", "green-alg", 1, includeInResults=True),
                                     _node("yellow", "yellow-alg", "@green")]),
]

EXPECTED = {  # pipeline -> (verdict, a phrase its notes must hold, or "" for none)
    "simple": ("exact", ""),
    "batch": ("exact", ""),
    "wait-any": ("exact", ""),
    "trigger-1": ("exact", ""),
    "trigger-2": ("exact", ""),
    "cron-hourly": ("exact", ""),
    "cron-every-10s": ("approximated", "fires more than once a minute"),
    "cron-at-second-30": ("approximated", "fires at second 0, not at second 30"),
    "concurrent-reject": ("approximated", "queues it until one ends"),
    "concurrent-queue": ("exact", ""),
    "webhooks": ("exact", ""),
    "ttl": ("exact", ""),
    "retry": ("exact", ""),
    "urgent": ("exact", ""),
    "streaming": ("unsupported", "kind: stream"),
    "uses-no-image": ("unsupported", "no image: build it or set algorithmImage"),
    "uses-unbuilt-code": ("unsupported", "needs code.path"),
    "uses-git": ("unsupported", "algorithm"),
    "uses-hot": ("approximated", "minHotWorkers is HKube's"),
    "uses-sidecar": ("approximated", "sideCars is HKube's"),
    "uses-built-code": ("exact", ""),
    "uses-old-debug": ("exact", ""),
    "uses-bad-mem": ("unsupported", "mem"),
    "uses-cache": ("approximated", "reservedMemory is HKube's"),
    "missing-algorithm": ("unsupported", "not-stored-alg"),
    "flowinput-at-run-time": ("exact", ""),
    "orphan-child": ("approximated", "'deleted-parent' is not in this store"),
    "nested-input": ("exact", ""),
    "cyclic": ("unsupported", "cycl"),
    "debug-node": ("unsupported", "kind"),
    "include-in-results": ("exact", ""),
}

ALGORITHM_EXPECTED = {
    "green-alg": "image", "yellow-alg": "image", "black-alg": "image",
    "no-image-alg": "broken", "built-code-alg": "image", "unbuilt-code-alg": "to-build",
    "git-alg": "to-build", "hot-alg": "image", "old-debug-alg": "image",
    "sidecar-alg": "image", "bad-mem-alg": "broken", "cache-alg": "image",
}


def export() -> dict[str, Any]:
    """The two lists in one object, as ``migrate`` reads an export file."""
    return {"pipelines": PIPELINES, "algorithms": ALGORITHMS}
