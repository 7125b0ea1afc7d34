"""Input resolution: every reference source fills its place in the node's input template.

The echo fixture returns ``args["input"]`` (bytes as ``{"bytes": hex}``); the crash fixture
exits 9 if it is ever called, so exit 0 proves a skipped item never ran the algorithm.
"""

from __future__ import annotations

import base64
from typing import Any

from .harness import Task, explain, failed, ok, run_spec

OUT = {"task": "down", "slot": "r0", "place": "shared"}
STATUS = {"task": "n1~collect", "slot": "status", "place": "status"}
SPLIT = {"task": "next", "slot": "r0", "place": "split", "count": "n-next"}


def echo(task: Task, template: Any, refs: list[dict[str, Any]], *args: str) -> Any:
    task.code("echo.py").spec(run_spec(entry="echo.py", input=template, refs=refs,
                                       routes=[OUT]))
    proc = task.run("run", *args)
    assert proc.returncode == 0, explain(proc)
    envelope = task.out("inbox/down/shared/r0.json")
    assert envelope["status"] == "succeed", envelope
    return envelope["result"]


def test_shared_fanin_raw_nested_and_literals_in_one_template(task: Task) -> None:
    template = [
        "@A",
        {"k": ["@B", "lit"], "empty": {}, "none": None},
        [],
        {},
        "#[1...3,'x']",
        "@flowInput.z",
        "plain string",
    ]
    refs = [
        {"slot": "r0", "at": [0], "kind": "node", "source": "shared"},
        {"slot": "r1", "at": [1, "k", 0], "kind": "node", "source": "fanin"},
        {"slot": "r2", "at": [4], "kind": "rawBatch", "source": "raw",
         "raw": [{"range": [1, 3]}, {"value": "x"}]},
        {"slot": "r3", "at": [5], "kind": "flowInput", "source": "shared"},
    ]
    task.shared("r0.json", ok({"a": [1, {"b": None}]}))
    # the fan-in folder: written out of order, a failed and a skipped item among them
    task.shared("r1/000010.json", ok("ten"))
    task.shared("r1/000002.json", ok("two"))
    task.shared("r1/000003.json", failed("item 3 failed"))
    task.shared("r1/000004.json", {"status": "skipped"})
    task.shared("r1/000001.json", ok("one"))
    task.shared("r1/000005.json.tmp", ok("half written"))  # not an item file
    task.shared("r3.json", ok(None))
    result = echo(task, template, refs, "--index", "4")
    assert result == [
        {"a": [1, {"b": None}]},
        {"k": [["one", "two", "ten"], "lit"], "empty": {}, "none": None},
        [],
        {},
        "x",  # item 4 of 1,2,3,'x'
        None,
        "plain string",
    ]


def test_fanin_folder_missing_is_an_empty_list(task: Task) -> None:
    refs = [{"slot": "r0", "at": [0], "kind": "node", "source": "fanin"}]
    assert echo(task, ["@B"], refs) == [[]]


def test_shared_bytes_reach_a_python_algorithm_as_bytes(task: Task) -> None:
    refs = [{"slot": "r0", "at": [0], "kind": "node", "source": "shared"}]
    task.shared("r0.json", {"status": "succeed",
                            "resultBytes": base64.b64encode(b"\x00\x01\xfe").decode()})
    assert echo(task, ["@A"], refs) == [{"bytes": "0001fe"}]


def test_raw_batch_items_ranges_values_and_past_the_end(task: Task) -> None:
    refs = [{"slot": "r0", "at": [0, "v"], "kind": "rawBatch", "source": "raw",
             "raw": [{"value": "a"}, {"range": [5, 6]}, {"range": [3, 1]},
                     {"value": {"o": 1}}]}]
    expected = {1: "a", 2: 5, 3: 6, 4: {"o": 1}, 5: None}
    for index, value in expected.items():
        assert echo(task, [{"v": "#[...]"}], refs, "--index", str(index)) == [{"v": value}]


def test_item_value_of_this_index(task: Task) -> None:
    refs = [{"slot": "r0", "at": [1], "kind": "waitAny", "source": "item"}]
    task.item("r0.json", ok({"i": 2}))
    assert echo(task, ["lit", "*@A"], refs, "--index", "2") == ["lit", {"i": 2}]


def test_item_optional_missing_is_null(task: Task) -> None:
    refs = [{"slot": "r0", "at": [0], "kind": "nodeBatch", "source": "item", "optional": True},
            {"slot": "r1", "at": [1], "kind": "nodeBatch", "source": "item"}]
    task.item("r1.json", ok(5))
    assert echo(task, ["#@A", "#@B"], refs, "--index", "3") == [None, 5]


def _skipped(task: Task) -> None:
    task.code("crash.py").spec(run_spec(
        entry="crash.py", input=["#@A", "@B"],
        refs=[{"slot": "r0", "at": [0], "kind": "nodeBatch", "source": "item"},
              {"slot": "r1", "at": [1], "kind": "node", "source": "shared"}],
        routes=[OUT, STATUS, SPLIT]))
    task.shared("r1.json", ok("shared value"))
    proc = task.run("run", "--index", "4")
    assert proc.returncode == 0, explain(proc)  # crash.py would have exited 9
    assert task.out("inbox/down/shared/r0.json") == {"status": "skipped"}
    assert task.status("inbox/n1~collect/shared/status/000004.json") == {"status": "skipped"}
    assert task.count("n-next") == "0"


def test_item_missing_skips_the_item_without_calling_the_algorithm(task: Task) -> None:
    _skipped(task)


def test_item_present_but_failed_skips_the_item(task: Task) -> None:
    task.item("r0.json", failed("upstream item failed"))
    _skipped(task)


def test_item_upstream_skipped_skips_the_item(task: Task) -> None:
    task.item("r0.json", {"status": "skipped"})
    _skipped(task)
