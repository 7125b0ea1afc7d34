"""``results``: HKube's ``/exec/results`` document from the result nodes' inboxes."""

from __future__ import annotations

import time

from .harness import Task, explain, failed, ok

NODES = [
    {"nodeName": "plain", "algorithmName": "a1", "slot": "plain", "fansOut": False},
    {"nodeName": "quiet", "algorithmName": "a1", "slot": "quiet", "fansOut": False},
    {"nodeName": "batch", "algorithmName": "a2", "slot": "batch", "fansOut": True},
    {"nodeName": "empty", "algorithmName": "a3", "slot": "empty", "fansOut": True},
    {"nodeName": "out", "algorithmName": None, "slot": "out", "fansOut": False},
]


def layout(task: Task) -> None:
    task.write("spec.json", {"mode": "results", "task": "results", "pipeline": "pipe",
                             "nodes": NODES})
    task.shared("plain.json", ok({"x": [1, 2]}))
    task.shared("quiet.json", {"status": "skipped"})
    task.shared("batch/000001.json", ok("r1"))
    task.shared("batch/000002.json", failed("e2"))
    # item 3 crashed: no file of its own, the collect summary records it as failed
    task.shared("batch/000004.json", {"status": "skipped"})
    task.shared("batch/000005.json", ok([5]))
    lost = failed("the task crashed or was lost")
    task.shared("batch--summary.json", ok({"total": 5, "items": {
        "1": {"status": "succeed"}, "2": failed("e2"), "3": lost,
        "4": {"status": "skipped"}, "5": {"status": "succeed"}}}))
    task.shared("empty--summary.json", ok({"total": 0, "items": {}}))
    task.shared("out.json", ok("echoed"))


def test_results_document(task: Task) -> None:
    layout(task)
    before = int(time.time() * 1000)
    proc = task.run("results", H2A_JOB_PREFIX="pipelines/jobs/job1")
    assert proc.returncode == 0, explain(proc)
    document = task.out("results.json")
    assert set(document) == {"jobId", "pipeline", "status", "timestamp", "data"}
    assert document["jobId"] == "job1"
    assert document["pipeline"] == "pipe"
    assert document["status"] == "completed"
    if isinstance(document["timestamp"], int):  # epoch ms (HKube's own docs show ISO too)
        assert before <= document["timestamp"] <= int(time.time() * 1000)
    else:
        assert isinstance(document["timestamp"], str)
    assert document["data"] == [
        {"nodeName": "plain", "algorithmName": "a1", "result": {"x": [1, 2]}},
        {"nodeName": "batch", "batchIndex": 1, "algorithmName": "a2", "result": "r1"},
        {"nodeName": "batch", "batchIndex": 2, "algorithmName": "a2", "error": "e2"},
        {"nodeName": "batch", "batchIndex": 3, "algorithmName": "a2",
         "error": "the task crashed or was lost"},
        {"nodeName": "batch", "batchIndex": 5, "algorithmName": "a2", "result": [5]},
        {"nodeName": "empty", "batchIndex": -1, "algorithmName": "a3", "result": []},
        {"nodeName": "out", "result": "echoed"},
    ]
    assert task.count("results-key") == "pipelines/jobs/job1/results.json"


def test_results_key_without_a_job_prefix(task: Task) -> None:
    task.write("spec.json", {"mode": "results", "task": "results", "pipeline": "pipe",
                             "nodes": []})
    proc = task.run("results")
    assert proc.returncode == 0, explain(proc)
    assert task.out("results.json")["data"] == []
    assert task.count("results-key") == "results.json"


def test_null_result_is_kept(task: Task) -> None:
    """HKube's ``setJobResultsToStorage`` removes only ``undefined`` keys
    (``_removeUndefined``): an algorithm that returned null has ``"result": null``."""
    task.write("spec.json", {"mode": "results", "task": "results", "pipeline": "pipe",
                             "nodes": [NODES[0], NODES[2]]})
    task.shared("plain.json", ok(None))
    task.shared("batch/000001.json", ok(None))
    task.shared("batch--summary.json", ok({"total": 1, "items": {"1": {"status": "succeed"}}}))
    proc = task.run("results")
    assert proc.returncode == 0, explain(proc)
    assert task.out("results.json")["data"] == [
        {"nodeName": "plain", "algorithmName": "a1", "result": None},
        {"nodeName": "batch", "batchIndex": 1, "algorithmName": "a2", "result": None},
    ]
