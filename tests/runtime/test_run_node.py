"""``run`` with Node.js algorithms (``module.exports.start``) through ``node_shim.js``."""

from __future__ import annotations

import base64
import os
import re
import signal
import time

from .harness import Task, explain, failed, ok, run_spec, wait_for

OUT = {"task": "down", "slot": "r0", "place": "shared"}


def node_task(task: Task, entry: str, **spec: object) -> Task:
    return task.code(entry).spec(run_spec(env="nodejs", entry=entry, routes=[OUT], **spec))


def test_sync_start_init_args_and_stdout(task: Task) -> None:
    node_task(task, "sync.js", input=["#[1...3]", {"k": "@A"}],
              refs=[{"slot": "r0", "at": [0], "kind": "rawBatch", "source": "raw",
                     "raw": [{"range": [1, 3]}]},
                    {"slot": "r1", "at": [1, "k"], "kind": "node", "source": "shared"}],
              extraData={"e": 1}, extra={"customKey": "c"})
    task.shared("r1.json", ok(["a", "b"]))
    proc = task.run("run", "--index", "2")
    assert proc.returncode == 0, explain(proc)
    assert "sync.js says hello" in proc.stdout
    result = task.out("inbox/down/shared/r0.json")["result"]
    assert result["init"] == "n1"
    args = result["args"]
    assert args["input"] == [2, {"k": ["a", "b"]}]
    assert args["batchIndex"] == 2
    assert args["jobId"] == "job1"
    assert re.fullmatch(r"[0-9a-z]{8}", args["taskId"])
    assert (args["nodeName"], args["algorithmName"], args["pipelineName"]) == \
        ("n1", "alg1", "pipe")
    assert args["info"]["extraData"] == {"e": 1}
    assert args["customKey"] == "c"


def test_async_start(task: Task) -> None:
    node_task(task, "async.js", input=[[1, 2, 3]])
    proc = task.run("run")
    assert proc.returncode == 0, explain(proc)
    assert task.out("inbox/down/shared/r0.json") == ok({"async": True, "sum": 6})


def test_throwing_start_is_an_algorithm_error(task: Task) -> None:
    node_task(task, "throws.js", input=["x1"])
    proc = task.run("run")
    assert proc.returncode == 3, explain(proc)
    assert task.out("inbox/down/shared/r0.json") == failed("js boom x1")
    assert "js boom x1" in proc.stderr


def test_buffer_result_travels_base64(task: Task) -> None:
    node_task(task, "buffer.js")
    proc = task.run("run")
    assert proc.returncode == 0, explain(proc)
    envelope = task.out("inbox/down/shared/r0.json")
    assert envelope["status"] == "succeed"
    assert base64.b64decode(envelope["resultBytes"]) == bytes([0, 255, 104, 107])


def test_hkube_api_is_not_supported(task: Task) -> None:
    node_task(task, "code_api.js")
    proc = task.run("run")
    assert proc.returncode == 3, explain(proc)
    error = task.out("inbox/down/shared/r0.json")["error"]
    assert error.startswith("hkubeApi.startAlgorithm is not supported by hkube2argo")


def test_missing_start_function(task: Task) -> None:
    node_task(task, "no_start.js")
    proc = task.run("run")
    assert proc.returncode == 3, explain(proc)
    assert task.out("inbox/down/shared/r0.json") == failed("no_start.js has no start function")


def test_node_ttl_expires_for_nodejs(task: Task) -> None:
    node_task(task, "slow.js", input=[str(task.root)], ttl=1)
    proc = task.run("run", timeout=20)
    assert proc.returncode == 3, explain(proc)
    assert task.out("inbox/down/shared/r0.json") == failed("Algorithm TTL expired")


def test_bytes_input_reaches_a_node_algorithm_as_a_buffer(task: Task) -> None:
    """HKube's Node.js wrapper decodes binary data to a Buffer; an upstream Python
    algorithm returning bytes must not crash a Node.js reader."""
    node_task(task, "bytes_in.js", input=["@A"],
              refs=[{"slot": "r0", "at": [0], "kind": "node", "source": "shared"}])
    task.shared("r0.json", {"status": "succeed",
                            "resultBytes": base64.b64encode(b"\x00\xff").decode()})
    proc = task.run("run")
    assert proc.returncode == 0, explain(proc)
    assert task.out("inbox/down/shared/r0.json") == ok({"isBuffer": True, "hex": "00ff"})


def _running(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as handle:
            return [int(p) for p in handle.read().split()]
    except FileNotFoundError:
        return []


def test_sigterm_to_the_process_group_calls_the_node_stop(task: Task) -> None:
    """Argo's emissary sends SIGTERM to the main command's process group
    (``osspecific.Kill``: ``kill(-pgid)``) and reports a signalled exit as 128+signal."""
    node_task(task, "slow.js", input=[str(task.root)])
    proc = task.popen("run", new_group=True)
    children: list[int] = []
    try:
        wait_for(task.root / "started")
        children = _children(proc.pid)
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=15)
        deadline = time.monotonic() + 5
        while any(_running(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        leftovers = [c for c in children if _running(c)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        for child in children:  # only the node process this test started
            if _running(child):
                os.kill(child, signal.SIGKILL)
    assert children, "no node child process was seen"
    assert leftovers == [], "the node child outlived the wrapper"
    assert (task.root / "stopped").read_text() == "yes", "the algorithm's stop() never ran"
    assert proc.returncode in (143, -signal.SIGTERM)  # Argo reports both as 143
    assert not task.has_out("inbox/down/shared/r0.json")


def test_relative_root(task: Task) -> None:
    node_task(task, "async.js", input=[[1, 2]])
    proc = task.run("run", H2A_ROOT=".")
    assert proc.returncode == 0, explain(proc)
    assert task.out("inbox/down/shared/r0.json") == ok({"async": True, "sum": 3})
