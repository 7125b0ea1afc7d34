"""What each kind of task does: ``prepare``, ``run``, ``zip``, ``collect``, ``results``.

Every task reads its spec and inbox and writes its outbox; none talks to storage or
Argo. The compiler decides the routes, so these functions hold HKube's rules only.
"""

from __future__ import annotations

import itertools
import os
import secrets
import string
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from . import algorithm, io, layout, routes, tolerance
from .inputs import MissingItem, raw_count, raw_item, resolve
from .values import decode_raw, dumps, failed, succeeded, unwrap

EXIT_OK = algorithm.EXIT_OK
EXIT_ALGORITHM_ERROR = algorithm.EXIT_ALGORITHM_ERROR
# the wrapper fails the pipeline itself, never retried: a batch failed beyond its
# batchTolerance, or a #@Node.path reader's path is missing in the node's result
EXIT_TOLERANCE = 4
TASK_ID_ALPHABET = string.digits + string.ascii_lowercase


def job_id() -> str:
    return os.environ.get("H2A_JOB_ID", "local")


# --- prepare ------------------------------------------------------------------------------


def merge(target: Any, source: Any) -> Any:
    """lodash ``merge`` (HKube merges a triggered pipeline's flowInput with it): objects
    recursively, arrays index by index, anything else replaced."""
    if isinstance(target, dict) and isinstance(source, dict):
        out = dict(target)
        for key, value in source.items():
            out[key] = merge(out[key], value) if key in out else value
        return out
    if isinstance(target, list) and isinstance(source, list):
        out_list = list(target)
        for i, value in enumerate(source):
            if i < len(out_list):
                out_list[i] = merge(out_list[i], value)
            else:
                out_list.append(value)
        return out_list
    return source


def prepare(spec: dict[str, Any]) -> int:
    """Unpack the pipeline: flowInput to storage, one spec per task, flowInput values
    routed to the tasks that read them. A run started by a parent pipeline's completion
    gets ``flowInput.parent`` = the parent's result data, merged as HKube does."""
    flow_input = decode_raw(_read_text(layout.local(layout.RAW_DIR, "flow-input")))
    pipeline = decode_raw(_read_text(layout.local(layout.RAW_DIR, "pipeline")))
    parent = io.read_optional(layout.local(layout.RAW_DIR, "parent-results.json"))
    if parent is not None:
        flow_input = merge(flow_input or {}, {"parent": parent.get("data", [])})
    io.write_json(io.outbox(layout.flow_input_key()), flow_input)
    for task, task_spec in pipeline["tasks"].items():
        io.write_json(io.outbox(layout.spec_key(task)), task_spec)
    routes.write(pipeline["flowInputRoutes"], succeeded(flow_input), 0)
    return EXIT_OK


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


# --- run ----------------------------------------------------------------------------------


def _args(spec: dict[str, Any], resolved: Any, index: int) -> dict[str, Any]:
    """HKube's ``args`` for ``start``: the keys its wrapper passes (hkube-reference 7.1)."""
    node = spec["node"]
    pipeline = spec["pipeline"]
    args: dict[str, Any] = dict(node.get("extra") or {})
    args.update({
        "input": resolved,
        "jobId": job_id(),
        "taskId": "".join(secrets.choice(TASK_ID_ALPHABET) for _ in range(8)),
        "nodeName": node["nodeName"],
        "algorithmName": node.get("algorithmName"),
        "pipelineName": pipeline["name"],
        "batchIndex": index,
        "kind": node.get("kind", "algorithm"),
        "priority": pipeline.get("priority"),
        "ttl": node.get("ttl"),
        "retry": node.get("retry"),
        "parents": node.get("parents", []),
        "childs": node.get("childs", []),
        "info": {
            "extraData": node.get("extraData"),
            "rootJobId": job_id(),
            "savePaths": node.get("savePaths", []),
            "lastRunResult": None,
        },
    })
    return args


def _call(spec: dict[str, Any], args: dict[str, Any],
          on_hard_expiry: Callable[[], None] | None = None) -> algorithm.Outcome:
    node = spec["node"]
    if node.get("kind") == "output":
        return algorithm.Outcome(result=args["input"])  # HKube's output node echoes its input
    alg = spec["algorithm"]
    # code algorithms get their code unpacked under the root; image algorithms carry it
    code_dir = os.path.abspath(os.environ.get("H2A_CODE_DIR") or layout.local(layout.CODE_DIR))
    if os.path.isfile(code_dir):  # Argo renamed a one-file pack's file to the code path
        return algorithm.Outcome(error=f"the algorithm's code arrived as a file at {code_dir}, "
                                       "not a folder: its code was packed by an older "
                                       "hkube2argo; apply the algorithm again")
    if alg.get("env") == "nodejs":
        return algorithm.run_node(code_dir, alg.get("entryPoint"), args, node.get("ttl"),
                                  os.environ.get("H2A_NODE", "node"))
    return algorithm.run_python(code_dir, alg.get("entryPoint") or "main.py", args,
                                node.get("ttl"), on_hard_expiry)


def run(spec: dict[str, Any], index: int) -> int:
    """One algorithm task (one batch item when ``index`` > 0)."""
    if not all(tolerance.judge(check) for check in spec.get("checks", ())):
        return EXIT_TOLERANCE
    try:
        resolved = resolve(spec["node"]["input"], spec["node"]["refs"], index)
    except MissingItem:
        # the upstream item failed or was skipped: HKube does not run this one
        routes.write(spec["routes"], {"status": "skipped"}, index)
        return EXIT_OK
    ending = threading.Lock()  # the algorithm's return and the ttl's watchdog: one wins

    def finish(envelope: dict[str, Any]) -> int:
        missing = routes.missing_split(spec["routes"], envelope) if index == 0 else None
        if missing is not None:
            name = spec["node"]["nodeName"]
            message = (f"unable to find {name}.{missing}: a child fans out over it "
                       f"(#@{name}.{missing}), and {name}'s result has no such path")
            routes.write(spec["routes"], failed(message), index)
            io.report_failure(name, message)
            return EXIT_TOLERANCE  # the pipeline fails here, as in HKube: no retry helps
        routes.write(spec["routes"], envelope, index)
        if envelope["status"] != "succeed":
            io.report_failure(spec["node"]["nodeName"], envelope["error"])
            return EXIT_ALGORITHM_ERROR
        return EXIT_OK

    def hard_expiry() -> None:
        """The algorithm ignored its ttl: record the expiry as a normal one, and go."""
        if ending.acquire(blocking=False):
            code = finish(failed(algorithm.TTL_MESSAGE))
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    outcome = _call(spec, _args(spec, resolved, index), hard_expiry)
    if not ending.acquire(blocking=False):
        threading.Event().wait()  # the watchdog is recording the expiry and ends the process
    if outcome.error is None:
        envelope = succeeded(outcome.result)
        try:
            dumps(envelope).encode("utf-8")
        # UnicodeEncodeError is a ValueError; RecursionError: nested deeper than json goes
        except (TypeError, ValueError, RecursionError) as exc:
            why = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            envelope = failed(f"the result is not JSON-serialisable: {why}")
    else:
        envelope = failed(outcome.error)
    return finish(envelope)


# --- zip ----------------------------------------------------------------------------------


def zip_batch(spec: dict[str, Any]) -> int:
    """Several batch sources into per-item inputs: indexed (item i takes element i of each
    source, shorter sources give null) or cartesian (first source varies slowest)."""
    columns: list[tuple[str, list[Any]]] = []
    for source in spec["sources"]:
        if "raw" in source:
            values = [raw_item(source["raw"], i) for i in range(1, raw_count(source["raw"]) + 1)]
        else:
            staged = io.read_indexed(io.inbox("shared", source["slot"]))
            values = [unwrap(env) for _, env in sorted(staged.items())]
        columns.append((source["slot"], values))
    if spec["operation"] == "cartesian":
        rows = itertools.product(*(values for _, values in columns))
    else:
        size = max((len(values) for _, values in columns), default=0)
        rows = ((values[i] if i < len(values) else None for _, values in columns)
                for i in range(size))
    count = 0
    for count, row in enumerate(rows, start=1):
        for (slot, _), value in zip(columns, row):  # same length by construction
            io.write_json(io.outbox(f"{layout.inbox_item(spec['target'], count)}/{slot}.json"),
                          succeeded(value))
    io.write_count("count", count)
    routes.write_sizes(spec.get("sizeTo", ()), count)
    return EXIT_OK


# --- collect ------------------------------------------------------------------------------


def collect(spec: dict[str, Any], total: int) -> int:
    """After every item of a batch node: HKube's batchTolerance, the node's summary for the
    results, and the successful items re-indexed for ``#@Batch`` readers."""
    statuses = tolerance.records(io.read_indexed(io.inbox("shared", "status")), total)
    summary = {"total": total, "items": {str(i): {k: v for k, v in r.items() if k != "at"}
                                         for i, r in statuses.items()}}
    ok = [i for i, r in statuses.items() if r["status"] == "succeed"]
    for route in spec["routes"]:
        if route.get("from"):
            staged = io.read_indexed(io.inbox("shared", route["from"]))
            routes.write_elements(route, [unwrap(staged[i]) for i in ok if i in staged])
        else:
            routes.write([route], succeeded(summary), 0)
    io.write_count("count", len(ok))
    routes.write_sizes(spec.get("sizeTo", ()), len(ok))
    message = tolerance.exceeded(statuses, total, spec["tolerance"])
    if message is not None:
        io.report_failure(spec["nodeName"], message)
        return EXIT_TOLERANCE
    return EXIT_OK


# --- results ------------------------------------------------------------------------------


def _entries(node: dict[str, Any]) -> list[dict[str, Any]]:
    base = {"nodeName": node["nodeName"], "algorithmName": node.get("algorithmName")}
    if not node["fansOut"]:
        envelope = io.read_optional(io.inbox("shared", f"{node['slot']}.json"))
        if envelope is None or envelope.get("status") == "skipped":
            return []
        return [{**base, **_outcome(envelope)}]
    summary_env = io.read_optional(io.inbox("shared", f"{node['slot']}--summary.json"))
    items = io.read_indexed(io.inbox("shared", node["slot"]))
    if "check" in node:
        total = tolerance.size(node["check"], items)
    else:
        total = unwrap(summary_env)["total"] if summary_env else max(items, default=0)
    if total == 0:
        return [{"nodeName": base["nodeName"], "batchIndex": -1,
                 "algorithmName": base["algorithmName"], "result": []}]
    entries = []
    recorded = unwrap(summary_env)["items"] if summary_env else {}
    for i in range(1, total + 1):
        envelope = items.get(i) or recorded.get(str(i)) or failed(tolerance.LOST)
        if envelope.get("status") == "skipped":
            continue
        entries.append({"nodeName": base["nodeName"], "batchIndex": i,
                        "algorithmName": base["algorithmName"], **_outcome(envelope)})
    return entries


def _outcome(envelope: dict[str, Any]) -> dict[str, Any]:
    if envelope.get("status") == "succeed":
        result = unwrap(envelope)
        if isinstance(result, bytes):
            return {"result": {"bytesBase64": envelope["resultBytes"]}}
        return {"result": result}
    return {"error": envelope.get("error", "failed")}


def results(spec: dict[str, Any]) -> int:
    """HKube's ``/exec/results`` document: leaves and includeInResults nodes, one entry per
    batch item in index order."""
    if not all(tolerance.judge(node["check"]) for node in spec["nodes"] if "check" in node):
        return EXIT_TOLERANCE
    data: list[dict[str, Any]] = []
    for node in spec["nodes"]:
        # HKube drops only undefined keys: a null result stays "result": null
        data.extend({k: v for k, v in e.items() if not (k == "algorithmName" and v is None)}
                    for e in _entries(node))
    document = {
        "jobId": job_id(),
        "pipeline": spec["pipeline"],
        "status": "completed",
        "timestamp": int(time.time() * 1000),
        "data": data,
    }
    io.write_json(io.outbox(layout.results_key()), document)
    prefix = os.environ.get("H2A_JOB_PREFIX", "")
    io.write_text("results-key", f"{prefix}/{layout.results_key()}" if prefix
                  else layout.results_key())
    return EXIT_OK


# --- max ----------------------------------------------------------------------------------


def max_count(values: list[int]) -> int:
    """The loop size of a wait-any group with several batch roots (zipped by index)."""
    io.write_count("count", max(values, default=0))
    return EXIT_OK
