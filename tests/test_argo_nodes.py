"""Argo's node rules in the local runner (runner/argonodes.py) and the failure webhook's
reading of ``{{workflow.failures}}`` (runtime/webhooks.py); docs/argo-fidelity.md items
4 and 5."""

from __future__ import annotations

import json

import pytest

from hkube2argo.runner import argonodes, tags
from hkube2argo.runner.argonodes import NodeTree
from hkube2argo.runtime import webhooks

WF = "numbers-abcde"


def test_loop_phase_is_the_last_failed_or_errored_item() -> None:
    assert argonodes.loop_phase(["Succeeded", "Failed", "Error", "Succeeded"]) == "Error"
    assert argonodes.loop_phase(["Error", "Failed"]) == "Failed"
    assert argonodes.loop_phase(["Succeeded", "Skipped"]) == "Succeeded"


@pytest.mark.parametrize(("continue_on", "phase", "runs"), [
    ({"failed": True}, "Failed", True), ({"failed": True}, "Error", False),
    ({"failed": True, "error": True}, "Error", True), (None, "Failed", False),
    (None, "Skipped", True), ({"failed": True, "error": True}, "Omitted", False)])
def test_dependents_accept_what_continue_on_allows(continue_on, phase, runs) -> None:
    assert argonodes.accepts(continue_on, phase) is runs


def _loop_then_leaf(items: list[str]) -> NodeTree:
    """pipeline DAG: Multiply (loop) -> Reduce (omitted: continueOn failed only)."""
    tree = NodeTree(WF)
    tree.add(WF, "DAG", "pipeline", None)
    tree.add(f"{WF}.Multiply", "TaskGroup", "alg", WF, parents=[WF])
    for i, phase in enumerate(items):
        tree.add(f"{WF}.Multiply({i}:{i + 1})", "Pod", "alg", WF, phase=phase,
                 parents=[f"{WF}.Multiply"])
    tree.mark(f"{WF}.Multiply", argonodes.loop_phase(items))
    tree.add(f"{WF}.Reduce", "Skipped", "alg", WF, phase="Omitted",
             parents=tree.outbound(f"{WF}.Multiply"))
    return tree


def test_dag_phase_follows_the_first_failed_branch_to_an_omitted_leaf() -> None:
    # the loop is Error (its last failed item), but the omitted leaf is first reached
    # through item 1, which Failed: assessDAGPhase keeps the first failed branch phase
    tree = _loop_then_leaf(["Failed", "Error", "Succeeded"])
    assert tree.phase(f"{WF}.Multiply") == "Error"
    assert tree.dag_phase(WF, [("Reduce", f"{WF}.Reduce")], lambda t: None) == "Failed"
    tree = _loop_then_leaf(["Succeeded", "Error"])
    assert tree.dag_phase(WF, [("Reduce", f"{WF}.Reduce")], lambda t: None) == "Error"


def test_a_leaf_whose_continue_on_covers_its_phase_does_not_fail_the_dag() -> None:
    tree = NodeTree(WF)
    tree.add(WF, "DAG", "pipeline", None)
    tree.add(f"{WF}.Items", "TaskGroup", "alg", WF, parents=[WF], phase="Error")
    tree.add(f"{WF}.Items(0:1)", "Pod", "alg", WF, phase="Error", parents=[f"{WF}.Items"])
    targets = [("Items", f"{WF}.Items")]
    assert tree.dag_phase(WF, targets, lambda t: {"failed": True}) == "Error"
    assert tree.dag_phase(WF, targets, lambda t: {"failed": True, "error": True}) == \
        "Succeeded"


def test_retry_verdicts_in_argo_order() -> None:
    always = {"limit": "3", "retryPolicy": "Always",
              "expression": "asInt(lastRetry.exitCode) != 3 && asInt(lastRetry.exitCode) != 4"}
    assert tags.retry_verdict(always, 0, 0, "Error") == (True, None)
    assert tags.retry_verdict(always, 3, 0, "Error") == (False, "No more retries left")
    assert tags.retry_verdict(always, 0, 3, "Failed") == \
        (False, "retryStrategy.expression evaluated to false")
    assert tags.retry_verdict({"limit": "3", "retryPolicy": "OnFailure"}, 0, -1, "Error") \
        == (False, None)


# --- workflow.failures --------------------------------------------------------------------


def test_no_failures_is_the_quoted_word_null() -> None:
    tree = NodeTree(WF)
    tree.add(WF, "DAG", "pipeline", None, phase="Succeeded")
    assert tree.failures() == '"null"'
    assert webhooks.failures_list('"null"') == []


def _failed_run() -> NodeTree:
    """Reduce retried and failed (its Retry node says "No more retries left"), two
    Multiply items failed (tolerated), Range crashed once then succeeded."""
    tree = NodeTree(WF)
    tree.add(WF, "DAG", "pipeline", None)
    tree.add(f"{WF}.Range", "Retry", "alg-range", WF, display="Range", parents=[WF])
    tree.add(f"{WF}.Range(0)", "Pod", "alg-range", WF, display="Range(0)", phase="Failed",
             message="main: Error (exit code 137)", parents=[f"{WF}.Range"])
    tree.add(f"{WF}.Range(1)", "Pod", "alg-range", WF, display="Range(1)", phase="Succeeded",
             parents=[f"{WF}.Range"])
    tree.mark(f"{WF}.Range", "Succeeded")
    tree.add(f"{WF}.Multiply", "TaskGroup", "alg-multiply", WF, display="Multiply",
             phase="Failed")
    for i in (1, 2):
        tree.add(f"{WF}.Multiply({i}:{i + 1})", "Pod", "alg-multiply", WF,
                 display=f"Multiply({i}:{i + 1})", phase="Failed",
                 message=f"main: Error (exit code 3): Multiply failed: bad item {i}")
    tree.add(f"{WF}.Reduce", "Retry", "alg-reduce", WF, display="Reduce")
    for n in range(2):
        tree.add(f"{WF}.Reduce({n})", "Pod", "alg-reduce", WF, display=f"Reduce({n})",
                 phase="Failed", message=f"main: Error (exit code 1): Reduce failed: try {n}",
                 parents=[f"{WF}.Reduce"])
    tree.mark(f"{WF}.Reduce", "Failed", "No more retries left")
    tree.mark(WF, "Failed")
    return tree


def test_failures_are_quoted_json_in_argo_field_names() -> None:
    value = _failed_run().failures()
    assert value.startswith('"[{\\"displayName\\":')
    items = json.loads(json.loads(value))  # "consumers must JSON-decode twice"
    assert set(items[0]) == {"displayName", "message", "templateName", "phase", "podName",
                             "finishedAt"}
    assert {i["displayName"] for i in items} == {"Range(0)", "Multiply", "Multiply(1:2)",
                                                 "Multiply(2:3)", "Reduce", "Reduce(0)",
                                                 "Reduce(1)", WF}
    names = [i["displayName"] for i in items]
    assert names != sorted(names)  # a Go map: not in name order
    reduce = next(i for i in items if i["displayName"] == "Reduce(1)")
    assert reduce["podName"] == f"{WF}-alg-reduce-{argonodes.fnv32a(WF + '.Reduce(1)')}"


def test_failure_webhook_names_the_failed_pod_whatever_the_order() -> None:
    items = json.loads(json.loads(_failed_run().failures()))
    nodes = {"Range": "Range", "Multiply": "Multiply", "Reduce": "Reduce"}
    assert items[0]["displayName"] != "Reduce(1)"  # taking the first entry is wrong
    orders = [items[i:] + items[:i] for i in range(len(items))]
    orders += [list(reversed(o)) for o in orders]  # every entry first, both directions
    for order in orders:
        quoted = json.dumps(json.dumps(list(order)))
        assert webhooks._failure(quoted, nodes, {"Multiply"}) == ("Reduce", "try 1")
        assert webhooks._failure(json.dumps(list(order)), nodes, {"Multiply"}) == \
            ("Reduce", "try 1")  # the unquoted form too


def test_go_quote_round_trips_through_the_webhook_decoder() -> None:
    text = 'a "b" \\ \n\t é 日本 \u200b \U0001d11e <&> \x07'
    quoted = argonodes.go_quote(text)
    assert "\\u200b" in quoted and "\\a" in quoted
    assert webhooks.go_unquote(quoted) == text
