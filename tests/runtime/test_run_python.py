"""``run`` with Python algorithms: HKube's ``start``/``init``/``stop`` contract, the args it
passes, the result envelope along every route place, errors, crashes, ttl and SIGTERM."""

from __future__ import annotations

import base64
import re
import signal

from .harness import Task, explain, failed, ok, run_spec, wait_for

# One route of every place; the echo fixture's result is its input, ``[{"xs": [...], ...}]``.
ALL_ROUTES = [
    {"task": "down", "slot": "r0", "place": "shared"},
    {"task": "down", "slot": "r1", "path": ["0", "k"], "place": "shared"},
    {"task": "gather", "slot": "r0", "place": "fanin"},
    {"task": "each", "slot": "r2", "place": "item"},
    {"task": "split", "slot": "r0", "path": ["0", "xs"], "place": "split", "count": "n-split"},
    {"task": "zipper", "slot": "r3", "path": ["0", "xs"], "place": "stage"},
    {"task": "n1~collect", "slot": "status", "place": "status"},
]


def test_one_parameter_start_gets_hkube_args_after_init(task: Task) -> None:
    task.code("one_param.py", "fixture_helper.py").spec(run_spec(
        entry="one_param.py",
        input=["#@flowInput.x", 7],
        refs=[{"slot": "r0", "at": [0], "kind": "flowInput", "source": "shared"}],
        extraData={"code": ["x"], "n": 1},
        extra={"stateType": "stateless", "customKey": {"a": 1}},
        routes=[{"task": "down", "slot": "r0", "place": "shared"}],
    )).shared("r0.json", ok({"deep": [1, 2]}))
    proc = task.run("run")
    assert proc.returncode == 0, explain(proc)
    assert "one_param says hello" in proc.stdout  # the algorithm's stdout passes through
    envelope = task.out("inbox/down/shared/r0.json")
    assert envelope["status"] == "succeed"
    result = envelope["result"]
    assert result["init"] == "n1"  # init(args) ran before start
    assert result["helper"] == "sibling imported"
    assert result["cwd"] == str(task.root / "code")  # HKube chdirs into the code folder
    args = result["args"]
    assert args["input"] == [{"deep": [1, 2]}, 7]
    assert args["jobId"] == "job1"
    assert re.fullmatch(r"[0-9a-z]{8}", args["taskId"]), args["taskId"]
    assert args["nodeName"] == "n1"
    assert args["algorithmName"] == "alg1"
    assert args["pipelineName"] == "pipe"
    assert args["batchIndex"] == 0
    assert args["info"]["extraData"] == {"code": ["x"], "n": 1}
    assert args["stateType"] == "stateless"  # unknown node keys: at the top level
    assert args["customKey"] == {"a": 1}
    assert "flowInput" not in args


def test_batch_item_gets_its_one_based_index_and_a_fresh_task_id(task: Task) -> None:
    task.code("one_param.py", "fixture_helper.py").spec(run_spec(
        entry="one_param.py",
        input=["#[1...5]"],
        refs=[{"slot": "r0", "at": [0], "kind": "rawBatch", "source": "raw",
               "raw": [{"range": [1, 5]}]}],
        routes=[{"task": "down", "slot": "r0", "place": "fanin"}],
    ))
    ids = set()
    for index in (3, 5):
        proc = task.run("run", "--index", str(index))
        assert proc.returncode == 0, explain(proc)
        args = task.out(f"inbox/down/shared/r0/{index:06d}.json")["result"]["args"]
        assert args["batchIndex"] == index
        assert args["input"] == [index]
        ids.add(args["taskId"])
    assert len(ids) == 2


def test_two_parameter_start_and_result_along_every_route_place(task: Task) -> None:
    value = {"xs": [10, 20, 30], "k": "v"}
    task.code("echo.py").spec(run_spec(entry="echo.py", input=[value], routes=ALL_ROUTES))
    proc = task.run("run", "--index", "7")
    assert proc.returncode == 0, explain(proc)
    assert task.out("inbox/down/shared/r0.json") == ok([value])
    assert task.out("inbox/down/shared/r1.json") == ok("v")  # narrowed to the route's path
    assert task.out("inbox/gather/shared/r0/000007.json") == ok([value])
    assert task.out("inbox/each/7/r2.json") == ok([value])
    for j, x in enumerate(value["xs"], start=1):
        assert task.out(f"inbox/split/{j}/r0.json") == ok(x)
        assert task.out(f"inbox/zipper/shared/r3/{j:06d}.json") == ok(x)
    assert not task.has_out("inbox/split/4/r0.json")
    assert task.count("n-split") == "3"
    assert task.status("inbox/n1~collect/shared/status/000007.json") == {"status": "succeed"}


def test_failure_along_every_route_place(task: Task) -> None:
    task.code("raises.py").spec(run_spec(entry="raises.py", input=[42], routes=ALL_ROUTES))
    proc = task.run("run", "--index", "2")
    assert proc.returncode == 3, explain(proc)
    error = failed("boom: bad input 42")
    assert "boom: bad input 42" in proc.stderr
    assert task.out("inbox/down/shared/r0.json") == error
    assert task.out("inbox/down/shared/r1.json") == error  # errors are not narrowed
    fanin = task.out("inbox/gather/shared/r0/000002.json")
    assert isinstance(fanin.pop("at"), float)  # when it failed: tolerance is judged in order
    assert fanin == error
    assert task.out("inbox/each/2/r2.json") == error
    assert task.status("inbox/n1~collect/shared/status/000002.json") == error
    assert task.count("n-split") == "0"  # a failed value has no elements to split
    assert not task.has_out("inbox/split/1/r0.json")
    assert not task.has_out("inbox/zipper/shared/r3/000001.json")


def test_a_failure_leaves_its_termination_message(task: Task, tmp_path) -> None:
    # Argo shows a pod's termination message as the node's message: the HKube error
    # reaches the UI and `exec status` instead of a bare exit code
    log = tmp_path / "termination-log"
    task.code("raises.py").spec(run_spec(entry="raises.py", input=[42]))
    proc = task.run("run", H2A_TERMINATION_LOG=str(log))
    assert proc.returncode == 3, explain(proc)
    assert log.read_text(encoding="utf-8") == "n1 failed: boom: bad input 42"


def test_bytes_result_travels_base64(task: Task) -> None:
    task.code("returns_bytes.py").spec(run_spec(
        entry="returns_bytes.py", routes=[{"task": "down", "slot": "r0", "place": "shared"}]))
    proc = task.run("run")
    assert proc.returncode == 0, explain(proc)
    envelope = task.out("inbox/down/shared/r0.json")
    assert envelope["status"] == "succeed"
    assert base64.b64decode(envelope["resultBytes"]) == b"\x00\xffhkube\n"


def test_non_json_result_is_a_failed_envelope(task: Task) -> None:
    task.code("returns_set.py").spec(run_spec(
        entry="returns_set.py", routes=[{"task": "down", "slot": "r0", "place": "shared"}]))
    proc = task.run("run")
    assert proc.returncode == 3, explain(proc)
    envelope = task.out("inbox/down/shared/r0.json")
    assert envelope["status"] == "failed"
    assert "serialisable" in envelope["error"] and "set" in envelope["error"]


def test_crash_exits_with_its_code_and_writes_no_envelope(task: Task) -> None:
    task.code("crash.py").spec(run_spec(entry="crash.py", routes=ALL_ROUTES))
    proc = task.run("run", "--index", "1")
    assert proc.returncode == 9, explain(proc)
    assert not (task.root / "out").exists()
    assert not task.has_count("n-split")


def test_hkube_api_is_not_supported(task: Task) -> None:
    task.code("code_api.py").spec(run_spec(
        entry="code_api.py", routes=[{"task": "down", "slot": "r0", "place": "shared"}]))
    proc = task.run("run")
    assert proc.returncode == 3, explain(proc)
    error = task.out("inbox/down/shared/r0.json")["error"]
    assert error.startswith("hkubeApi.start_algorithm is not supported by hkube2argo")
    assert "hkubeApi.start_algorithm is not supported by hkube2argo" in proc.stderr


def test_missing_start_is_an_algorithm_error(task: Task) -> None:
    task.code("no_start.py").spec(run_spec(
        entry="no_start", routes=[{"task": "down", "slot": "r0", "place": "shared"}]))
    proc = task.run("run")
    assert proc.returncode == 3, explain(proc)
    assert task.out("inbox/down/shared/r0.json") == failed("no_start has no start function")


def test_node_ttl_expires(task: Task) -> None:
    task.code("slow.py").spec(run_spec(
        entry="slow.py", input=[str(task.root)], ttl=1,
        routes=[{"task": "down", "slot": "r0", "place": "shared"}]))
    proc = task.run("run", timeout=20)
    assert proc.returncode == 3, explain(proc)
    assert task.out("inbox/down/shared/r0.json") == failed("Algorithm TTL expired")
    assert "Algorithm TTL expired" in proc.stderr


def test_sigterm_calls_stop_and_exits_143(task: Task) -> None:
    task.code("slow.py").spec(run_spec(
        entry="slow.py", input=[str(task.root)],
        routes=[{"task": "down", "slot": "r0", "place": "shared"}]))
    proc = task.popen("run")
    stderr = ""
    try:
        wait_for(task.root / "started")
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 143, stderr
    assert (task.root / "stopped").read_text() == '{"forceStop": true}'
    assert not task.has_out("inbox/down/shared/r0.json")


def test_output_node_echoes_its_resolved_input(task: Task) -> None:
    spec = run_spec(
        env=None, kind="output", algorithmName=None,
        input=[{"a": "@A"}, "lit"],
        refs=[{"slot": "r0", "at": [0, "a"], "kind": "node", "source": "shared"}],
        routes=[{"task": "results", "slot": "n1", "place": "shared"}],
    )
    spec["algorithm"] = {"env": None, "entryPoint": None, "type": None}
    task.spec(spec).shared("r0.json", ok([1, 2]))  # no code/ folder at all
    proc = task.run("run")
    assert proc.returncode == 0, explain(proc)
    assert task.out("inbox/results/shared/n1.json") == ok([{"a": [1, 2]}, "lit"])


def test_unencodable_result_is_an_algorithm_error_not_a_crash(task: Task) -> None:
    """A string with a lone surrogate (e.g. from ``os.fsdecode`` of a non-UTF-8 name) cannot
    be stored: HKube's wrapper reports a failed task; nothing half-written is left."""
    task.code("echo.py").spec(run_spec(entry="echo.py", input=["a\ud800b"], routes=[
        {"task": "down", "slot": "r0", "place": "shared"}]))
    proc = task.run("run")
    assert proc.returncode == 3, explain(proc)
    assert task.out("inbox/down/shared/r0.json")["status"] == "failed"
    assert not [p for p in task.outputs() if p.endswith(".tmp")]


def test_relative_root(task: Task) -> None:
    """``H2A_ROOT`` relative to the working directory: the algorithm's ``chdir`` into its
    code folder must not move where the code is loaded from or the outbox is written."""
    task.code("echo.py").spec(run_spec(entry="echo.py", input=[1], routes=[
        {"task": "down", "slot": "r0", "place": "shared"}]))
    proc = task.run("run", H2A_ROOT=".")
    assert proc.returncode == 0, explain(proc)
    assert task.out("inbox/down/shared/r0.json") == ok([1])


def test_sys_exit_zero_in_start_is_not_a_success(task: Task) -> None:
    """HKube runs ``start`` in a thread and never reports such a task done; here it must not
    pass as a success that produced nothing (readers would silently get null)."""
    task.code("exits_zero.py").spec(run_spec(entry="exits_zero.py", routes=[
        {"task": "down", "slot": "r0", "place": "shared"}]))
    proc = task.run("run")
    assert proc.returncode != 0, explain(proc)
