"""HKube's execution semantics (shared/docs/hkube-reference.md sections 0, 3.3, 3.5, 4, 7),
checked end to end: compile, run every task through the runtime wrapper, read the result."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hkube2argo.runner.run import RunResult

from .conftest import (
    EXAMPLES,
    NUMBERS_ALGORITHMS,
    PIPELINES,
    RunFn,
    describe,
    entries,
    run_pipeline,
)

NUMBERS = EXAMPLES / "numbers" / "numbers.yaml"


def item(node: str, index: int, algorithm: str, result: Any) -> dict[str, Any]:
    return {"nodeName": node, "batchIndex": index, "algorithmName": algorithm,
            "result": result}


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


# --- batches -------------------------------------------------------------------------------


def test_batch_over_flow_input(run: RunFn) -> None:
    result = run("batch-flowinput.yaml")
    assert result.status == "completed", describe(result)
    got = entries(result, "Item")
    assert [e["batchIndex"] for e in got] == [1, 2, 3]
    assert [e["result"]["input"] for e in got] == [["a", "t"], ["b", "t"], ["c", "t"]]
    assert [e["result"]["batchIndex"] for e in got] == [1, 2, 3]


def test_batch_over_node_results(run: RunFn) -> None:
    result = run("batch-node.yaml")
    assert result.status == "completed", describe(result)
    assert [(e["batchIndex"], e["result"]["input"]) for e in entries(result, "Item")] == [
        (1, [5]), (2, [6])]
    assert [(e["batchIndex"], e["result"]["input"]) for e in entries(result, "Sub")] == [
        (1, [7]), (2, [8]), (3, [9])]


def test_batch_on_batch_one_task_per_successful_item(run: RunFn) -> None:
    # A's items: [1,2], (fails), [3], [4,5,6] -> B gets 3 tasks, whole items, indices 1..3
    result = run("batch-on-batch.yaml")
    assert result.status == "completed", describe(result)
    got = entries(result, "B")
    assert [(e["batchIndex"], e["result"]["batchIndex"], e["result"]["input"]) for e in got] \
        == [(1, 1, [[1, 2]]), (2, 2, [[3]]), (3, 3, [[4, 5, 6]])]


def test_fan_in_is_in_batch_index_order(run: RunFn) -> None:
    result = run("fan-in-order.yaml")
    assert result.status == "completed", describe(result)
    assert entries(result, "Fanin")[0]["result"] == [[1, 2, 3]]
    # the items really finished out of order: 3 before 1 (journal = finish order)
    journal = [json.loads(ln)["node"] for ln in lines(result.folder / "journal.jsonl")]
    slow = [n for n in journal if re.search(r"/Slow\(\d\)$", n)]
    assert len(slow) == 3
    assert slow.index(next(n for n in slow if n.endswith("(3)"))) < \
        slow.index(next(n for n in slow if n.endswith("(1)"))), slow


def test_include_in_results(run: RunFn) -> None:
    result = run("include-in-results.yaml")
    assert result.status == "completed", describe(result)
    assert result.document["data"] == [
        {"nodeName": "Base", "algorithmName": "probe", "result": [1, 2, 3]},
        item("Each", 1, "probe", 10),
        {"nodeName": "Each", "batchIndex": 2, "algorithmName": "probe",
         "error": "Each item 2 fails"},
        item("Each", 3, "probe", 30),
        {"nodeName": "Singular", "algorithmName": "probe", "result": [1, 2, 3]},
        # @Each: tolerated failed items are left out, the rest in batch-index order
        {"nodeName": "Last", "algorithmName": "echo", "result": [[1, 2, 3], [10, 30],
                                                                 [1, 2, 3]]},
    ]


def test_three_sources_indexed_and_cartesian(run: RunFn) -> None:
    result = run("three-sources.yaml")
    assert result.status == "completed", describe(result)
    indexed = [(e["batchIndex"], e["result"]) for e in entries(result, "Indexed")]
    assert indexed == [
        (1, [1, {"k": "a"}, True, "t"]),
        (2, [2, {"k": "b"}, False, "t"]),
        (3, [None, {"k": "c"}, None, "t"]),
    ]
    cartesian = [e["result"] for e in entries(result, "Cartesian")]
    assert cartesian == [[n, {"k": k}, z] for n in (1, 2) for k in "abc" for z in (True, False)]
    assert [e["batchIndex"] for e in entries(result, "Cartesian")] == list(range(1, 13))


# --- empty batches -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def empty_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_pipeline(tmp_path_factory.mktemp("empty"), PIPELINES / "empty-batch.yaml")


def skipped(node: str) -> list[dict[str, Any]]:
    """HKube's entry for a skipped (zero-item) batch node: a pseudo item, result []."""
    return [{"nodeName": node, "batchIndex": -1, "algorithmName": "probe", "result": []}]


def ran(result: RunResult, node: str) -> list[str]:
    tasks = result.folder / "tasks"
    return sorted(p.name for p in tasks.iterdir()
                  if re.fullmatch(rf"{node}(_\d+)?", p.name)) if tasks.is_dir() else []


def test_empty_batch_skip_cascade(empty_run: RunResult) -> None:
    result = empty_run
    assert result.status == "completed", describe(result)
    assert ran(result, "A") == [] and ran(result, "B") == []
    assert entries(result, "B") == skipped("B")  # "#@A" on a skipped node: skipped too
    assert entries(result, "C") == [{"nodeName": "C", "algorithmName": "echo",
                                     "result": [[]]}]  # "@A": gets []


def test_empty_raw_range_is_skipped(empty_run: RunResult) -> None:
    result = empty_run
    assert result.status == "completed", describe(result)
    assert ran(result, "Range") == []
    assert entries(empty_run, "AfterRange")[0]["result"] == [[], []]


def test_batch_over_scalar_is_skipped(empty_run: RunResult) -> None:
    result = empty_run
    assert result.status == "completed", describe(result)
    assert ran(result, "Scalar") == []
    assert [e["nodeName"] for e in result.document["data"]] == ["B", "C", "AfterRange"]


# --- wait-any ------------------------------------------------------------------------------


def test_wait_any_skips_indices_of_failed_items(run: RunFn) -> None:
    result = run("wait-any-fail.yaml")
    assert result.status == "completed", describe(result)
    b = entries(result, "B")
    assert [(e["batchIndex"], e["result"]["batchIndex"], e["result"]["input"]) for e in b] \
        == [(1, 1, [1]), (3, 3, [3])]
    c = entries(result, "C")
    assert c == [item("C", 1, "echo", [1, 10])]


# --- batchTolerance ------------------------------------------------------------------------


def tolerance_items(failing: set[int]) -> list[dict[str, Any]]:
    return [{"raise": f"item {i} fails"} if i in failing else {"value": i} for i in range(1, 7)]


def test_tolerated_failure_is_reported_in_results(run: RunFn) -> None:
    result = run("tolerance.yaml")  # 1 of 6 fails, tolerance 80
    assert result.status == "completed", describe(result)
    assert entries(result, "Items") == [
        item("Items", 1, "probe", 1), item("Items", 2, "probe", 2),
        item("Items", 3, "probe", 3),
        {"nodeName": "Items", "batchIndex": 4, "algorithmName": "probe",
         "error": "item 4 fails"},
        item("Items", 5, "probe", 5), item("Items", 6, "probe", 6)]


def _tolerance_pipeline(tmp_path: Path, tolerance: int) -> Path:
    data = yaml.safe_load((PIPELINES / "tolerance.yaml").read_text(encoding="utf-8"))
    data["options"]["batchTolerance"] = tolerance
    path = tmp_path / f"tolerance-{tolerance}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_failures_beyond_tolerance_fail_the_pipeline(run: RunFn, tmp_path: Path) -> None:
    # HKube checks on every failed item: round(100*failed/total) >= tolerance. With 4 of 6
    # failing and tolerance 60 the 4th failure is the first over it.
    items = tolerance_items({1, 3, 4, 6})
    result = run(_tolerance_pipeline(tmp_path, 60), flow_input={"items": items})
    assert result.status == "failed"
    assert result.node == "Items"
    assert "4/6 (67%) failed tasks, batch tolerance is 60%" in result.error
    assert "data" not in result.document
    assert result.document["status"] == "failed"
    assert result.document["nodeName"] == "Items"


def test_tolerance_is_checked_at_each_failure(run: RunFn, tmp_path: Path) -> None:
    # 4 of 6 failing, tolerance 50: HKube fails the pipeline at the 3rd failure,
    # 3/6 = 50% >= 50% (hkube-reference 4.3), so its message counts 3, not 4.
    items = tolerance_items({1, 3, 4, 6})
    result = run(_tolerance_pipeline(tmp_path, 50), flow_input={"items": items})
    assert result.status == "failed"
    assert result.node == "Items"
    assert "3/6 (50%) failed tasks, batch tolerance is 50%" in result.error, result.error


def test_tolerance_zero_fails_on_one_failure(run: RunFn, tmp_path: Path) -> None:
    result = run(_tolerance_pipeline(tmp_path, 0))
    assert result.status == "failed"
    assert result.node == "Items"
    assert "1/6 (17%) failed tasks, batch tolerance is 0%" in result.error


# --- retries -------------------------------------------------------------------------------

NO_RETRY_OBJECT = None  # HKube's default: OnCrash, limit 3
RETRY_CASES = [
    # (algorithm, retry object, expected attempts)
    ("raiser", {"policy": "Never", "limit": 2}, 1),
    ("raiser", {"policy": "OnError", "limit": 2}, 3),
    ("raiser", {"policy": "OnCrash", "limit": 2}, 1),
    ("raiser", {"policy": "Always", "limit": 2}, 3),
    ("raiser", NO_RETRY_OBJECT, 1),
    ("crasher", {"policy": "Never", "limit": 2}, 1),
    ("crasher", {"policy": "OnError", "limit": 2}, 1),
    ("crasher", {"policy": "OnCrash", "limit": 2}, 3),
    ("crasher", {"policy": "Always", "limit": 2}, 3),
    ("crasher", NO_RETRY_OBJECT, 4),
]


@pytest.mark.parametrize(("algorithm", "retry", "attempts"), RETRY_CASES,
                         ids=[f"{a}-{r['policy'] if r else 'default'}"
                              for a, r, _ in RETRY_CASES])
def test_retry_policy(run: RunFn, tmp_path: Path, algorithm: str, retry: dict[str, Any] | None,
                      attempts: int) -> None:
    data = yaml.safe_load((PIPELINES / "retry.yaml").read_text(encoding="utf-8"))
    node = data["nodes"][0]
    node["algorithmName"] = algorithm
    if retry is not None:
        node["retry"] = retry
    pipeline = tmp_path / "retry.yaml"
    pipeline.write_text(yaml.safe_dump(data), encoding="utf-8")
    counter = tmp_path / "attempts.txt"
    result = run(pipeline, overrides={"counter": str(counter)})
    assert result.status == "failed"
    assert result.node == "Attempt"
    assert len(lines(counter)) == attempts
    if algorithm == "raiser":
        assert "raiser says no" in result.error


def test_flaky_algorithm_recovers_with_on_error(run: RunFn, tmp_path: Path) -> None:
    counter = tmp_path / "attempts.txt"
    result = run("flaky.yaml", overrides={"counter": str(counter)})
    assert result.status == "completed", describe(result)
    assert entries(result, "Flaky")[0]["result"] == {"attempts": 2}
    assert len(lines(counter)) == 2


# --- ttl -----------------------------------------------------------------------------------


def test_node_ttl_expires(run: RunFn) -> None:
    result = run("node-ttl.yaml")
    assert result.status == "failed"
    assert result.node == "Sleepy"
    assert "Algorithm TTL expired" in result.error


def test_pipeline_ttl_stops_the_run(run: RunFn) -> None:
    """The 10 s task is stopped by the 2 s pipeline ttl (how long stopping takes is printed
    by bench/ttl_stop.py, never asserted: machines are shared)."""
    result = run("pipeline-ttl.yaml")
    assert result.status == "failed"
    assert (result.node, result.error) == ("Sleepy", "pipeline expired (ttl 2 s)")
    assert result.document.get("data") is None  # Sleepy never returned its value


# --- node kinds and algorithm languages ----------------------------------------------------


def test_output_node_returns_its_input(run: RunFn) -> None:
    result = run("output-node.yaml")
    assert result.status == "completed", describe(result)
    out = entries(result, "Out")
    assert len(out) == 1
    assert out[0]["result"] == [7, {"k": [1, 2]}, "literal"]


def test_nodejs_sync_and_async(run: RunFn) -> None:
    result = run("nodejs.yaml")
    assert result.status == "completed", describe(result)
    assert entries(result, "Sync") == [{"nodeName": "Sync", "algorithmName": "js-sync",
                                        "result": {"sum": 10, "batchIndex": 0,
                                                   "nodeName": "Sync"}}]
    assert entries(result, "Async") == [
        item("Async", 1, "js-async", {"upper": "AB", "batchIndex": 1}),
        item("Async", 2, "js-async", {"upper": "CD", "batchIndex": 2})]


@pytest.mark.parametrize("pipeline", ["code-api.yaml", "js-code-api.yaml"])
def test_code_api_is_not_supported(run: RunFn, pipeline: str) -> None:
    result = run(pipeline)
    assert result.status == "failed"
    assert result.node == "Dynamic"
    assert "not supported by hkube2argo" in result.error


# --- args ----------------------------------------------------------------------------------


def test_args_as_hkube_gives_them(run: RunFn) -> None:
    result = run("args.yaml")
    assert result.status == "completed", describe(result)
    plain = entries(result, "Plain")[0]["result"]
    assert plain["batchIndex"] == 0
    assert plain["nodeName"] == "Plain"
    assert plain["algorithmName"] == "whoami"
    assert plain["pipelineName"] == "args-check"
    assert plain["jobId"] == result.job_id
    assert plain["extraData"] == {"k": "v", "n": [1, 2]}
    assert plain["input"] == [1]
    assert re.fullmatch(r"[0-9a-z]{8}", plain["taskId"])
    assert "flowInput" not in plain["keys"]
    batch = [e["result"] for e in entries(result, "Batch")]
    assert [b["batchIndex"] for b in batch] == [1, 2, 3]
    assert {b["nodeName"] for b in batch} == {"Batch"}
    assert {b["jobId"] for b in batch} == {result.job_id}
    assert {b["pipelineName"] for b in batch} == {"args-check"}
    assert [b["extraData"] for b in batch] == ["batch-extra"] * 3
    assert len({b["taskId"] for b in batch}) == 3


# --- hostile values ------------------------------------------------------------------------

LITERAL = ["{{workflow.name}}", "{{=1+1}}", "{{inputs.parameters.task}}", "$(HOME)",
           "it's \"quoted\" \\ back\\slash\n\ttab",
           {"{{workflow.name}}": "{{tasks.A.outputs.parameters.x}}", "$(HOME)": []}]


def check_hostile(result: RunResult, flow_input: dict[str, Any]) -> None:
    assert result.status == "completed", describe(result)
    assert entries(result, "Whole")[0]["result"] == [flow_input]
    assert [e["result"] for e in entries(result, "Each")] == [[v] for v in flow_input["list"]]
    assert [e["batchIndex"] for e in entries(result, "Each")] == \
        list(range(1, len(flow_input["list"]) + 1))
    assert entries(result, "Chain")[0]["result"] == [[flow_input["nested"]]]
    assert entries(result, "Literal")[0]["result"] == LITERAL


def test_hostile_values_in_the_pipeline_file(run: RunFn) -> None:
    given = yaml.safe_load((PIPELINES / "hostile.yaml").read_text(encoding="utf-8"))
    check_hostile(run("hostile.yaml"), given["flowInput"])


def hostile_flow_input() -> dict[str, Any]:
    big = ("{{workflow.name}} $(HOME) \"'\\\n\t\u05e2\u05d1\u05e8\u05d9\u05ea "
           "\U0001F600 ") * 3000
    big = big[:100 * 1024]
    nasty = ["{{workflow.name}}", "{{=1+1}}", "{{inputs.parameters.task}}",
             "{{tasks.Whole.outputs.parameters.n-Each}}", "{{item}}", "{{retries}}",
             "$(HOME)", "${HOME}", "`id`", "'single' \"double\"", "back\\slash\\\\",
             "new\nline", "cr\r\nlf", "\ttab", "\u202eRTL override \u05e9\u05dc\u05d5\u05dd",
             "\U0001F4A9\U0001F680", "", " ", "null", "true", "1", "-1", "#[1...3]",
             "@flowInput.list", "*@Whole", "#@flowInput.list", "\\@x", [], {}, [[], {}],
             {"": []}, None, True, 0, -1.5, 10**15]
    return {
        "list": [*nasty, big],
        "nested": {"{{workflow.name}}": {"$(HOME)": [[], {}, {"{{=1+1}}": nasty}]},
                   "big": big, "empty": {"a": [], "b": {}}},
        "tag": "{{inputs.parameters.task}}",
        "{{workflow.name}}": "key",
        "$(HOME)": "key",
    }


def test_hostile_values_as_flow_input(run: RunFn) -> None:
    flow_input = hostile_flow_input()
    assert len(flow_input["list"][-1]) == 100 * 1024
    check_hostile(run("hostile.yaml", flow_input=flow_input), flow_input)


# --- flowInput replacement -----------------------------------------------------------------


def test_overrides_replace_flow_input_keys(run: RunFn) -> None:
    result = run(NUMBERS, [NUMBERS_ALGORITHMS], overrides={"data": 10, "mul": 3})
    assert result.status == "completed", describe(result)
    assert result.document["data"] == [{"nodeName": "Reduce", "algorithmName": "reduce",
                                        "result": 135}]


def test_flow_input_replaces_the_stored_one(run: RunFn) -> None:
    result = run(NUMBERS, [NUMBERS_ALGORITHMS], flow_input={"data": 10, "mul": 3})
    assert result.status == "completed", describe(result)
    assert result.document["data"][0]["result"] == 135


def test_cli_params_replace_flow_input_keys(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hkube2argo", "run", str(NUMBERS), "-a", str(NUMBERS_ALGORITHMS),
         "-p", "data=10", "-p", "mul=3", "--state", str(tmp_path), "--workers", "2"],
        capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["data"][0]["result"] == 135


# --- failures ------------------------------------------------------------------------------


def test_failed_plain_node_stops_the_pipeline(run: RunFn, tmp_path: Path) -> None:
    marker = tmp_path / "after.txt"
    counter = tmp_path / "attempts.txt"
    result = run("stop-on-failure.yaml",
                 overrides={"counter": str(counter), "after": {"append": str(marker)}})
    assert result.status == "failed"
    assert result.node == "Fail"
    assert "raiser says no" in result.error
    assert len(lines(counter)) == 1
    assert not marker.exists(), lines(marker)
    assert "data" not in result.document
    assert result.document["nodeName"] == "Fail"



# --- #@Node.path missing in a plain node's result (issue 11, item 16) ---------------------


def _path_pipeline(tmp_path: Path, path: str) -> Path:
    data = {"name": "missing-path", "nodes": [
        {"nodeName": "Range", "algorithmName": "probe",
         "input": [{"value": {"items": [1, 2], "scalar": 5}}]},
        {"nodeName": "B", "algorithmName": "echo", "input": [f"#@Range.{path}"]},
        {"nodeName": "C", "algorithmName": "echo", "input": ["@B"]}]}
    target = tmp_path / f"missing-{path}.yaml"
    target.write_text(yaml.safe_dump(data), encoding="utf-8")
    return target


def test_a_missing_batch_path_fails_the_pipeline_as_in_hkube(run: RunFn, tmp_path: Path) -> None:
    result = run(_path_pipeline(tmp_path, "itmes"))  # a typo of "items"
    assert result.status == "failed", describe(result)
    assert result.node == "Range"
    assert result.error.startswith("unable to find Range.itmes")
    assert ran(result, "B") == []


def test_a_batch_path_holding_no_array_is_an_empty_batch(run: RunFn, tmp_path: Path) -> None:
    result = run(_path_pipeline(tmp_path, "scalar"))  # HKube: no items, B skipped
    assert result.status == "completed", describe(result)
    assert entries(result, "C") == [{"nodeName": "C", "algorithmName": "echo", "result": [[]]}]
