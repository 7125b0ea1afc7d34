"""``prepare`` (unpacking the raw pipeline and flowInput artifacts) and the ``install``
helper that copies a standalone wrapper into an algorithm image."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hkube2argo.runtime.values import encode_raw

from .harness import Task, base_env, explain, ok

TASKS = {
    "a": {"mode": "run", "task": "a", "node": {"nodeName": "a"}, "routes": []},
    "b~collect": {"mode": "collect", "task": "b~collect", "tolerance": 10, "routes": []},
}
ROUTES = [
    {"task": "b", "slot": "r0", "path": ["nums"], "place": "split", "count": "n-b"},
    {"task": "a", "slot": "r1", "path": ["conf", "name"], "place": "shared"},
    {"task": "a", "slot": "r2", "path": [], "place": "shared"},
]
HOSTILE = {
    "argo": "{{workflow.name}} {{inputs.parameters.x}} {{=1+1}} {{= sprig.trim(' x ') }}",
    "quotes": "single ' double \" back ` backslash \\ \\n literal",
    "lines": "line1\nline2\r\nline3\ttab\u2028\u2029",
    "shell": "$(HOME) ${HOME} $HOME `id` ; rm -rf / && echo",
    "unicode": "héllo ✓ 𝄞 日本語 \ufeffbom \u200bzwsp",
    "binaryish": "".join(chr(i) for i in range(1, 256)),
    "{{key}}": {"$(k)": ["\x01\x7f", -0.5, 1e300, 10**18, True, None]},
}


def prepare(task: Task, flow_input: Any, routes: list[dict[str, Any]]) -> None:
    task.raw("pipeline", encode_raw({"tasks": TASKS, "flowInputRoutes": routes}))
    task.raw("flow-input", encode_raw(flow_input))
    proc = task.run("prepare")
    assert proc.returncode == 0, explain(proc)


def test_prepare_unpacks_specs_flow_input_and_routes(task: Task) -> None:
    flow_input = {"nums": [3, 1, 2], "conf": {"name": "n"}}
    prepare(task, flow_input, ROUTES)
    assert task.out("flowInput.json") == flow_input
    for name, spec in TASKS.items():
        assert task.out(f"spec/{name}.json") == spec
    assert task.count("n-b") == "3"
    for j, value in enumerate([3, 1, 2], start=1):
        assert task.out(f"inbox/b/{j}/r0.json") == ok(value)
    assert task.out("inbox/a/shared/r1.json") == ok("n")
    assert task.out("inbox/a/shared/r2.json") == ok(flow_input)


def test_prepare_flow_input_not_an_array_splits_into_nothing(task: Task) -> None:
    prepare(task, {"nums": {"not": "a list"}, "conf": {}}, ROUTES)
    assert task.count("n-b") == "0"
    assert task.out("inbox/a/shared/r1.json") == ok(None)


def test_hostile_flow_input_arrives_byte_exact(task: Task) -> None:
    prepare(task, HOSTILE, [{"task": "a", "slot": "r0", "path": [], "place": "shared"},
                            {"task": "a", "slot": "r1", "path": ["{{key}}"], "place": "shared"}])
    assert task.out("flowInput.json") == HOSTILE
    assert task.out("inbox/a/shared/r0.json") == ok(HOSTILE)
    assert task.out("inbox/a/shared/r1.json") == ok(HOSTILE["{{key}}"])
    # the file itself is UTF-8 JSON, the strings are not re-encoded (no \\u escapes of text)
    text = (task.root / "out" / "flowInput.json").read_text(encoding="utf-8")
    assert "{{workflow.name}}" in text and "日本語" in text and "𝄞" in text


def test_installed_runtime_runs_alone(tmp_path: Path) -> None:
    target = tmp_path / "runtime-volume"
    proc = subprocess.run([sys.executable, "-m", "hkube2argo.runtime.install", str(target)],
                          cwd=tmp_path, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (target / "hkube2argo" / "runtime" / "node_shim.js").is_file()
    assert not list(target.rglob("__pycache__"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = base_env(tmp_path / "task", PYTHONPATH=str(target))
    # -S: no site-packages (so not this checkout's editable install); standard library only
    proc = subprocess.run([sys.executable, "-S", "-c",
                           "import hkube2argo.runtime.tasks as t; print(t.__file__)"],
                          cwd=elsewhere, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(target / "hkube2argo" / "runtime" / "tasks.py")
    # exactly as the pod runs it
    proc = subprocess.run([sys.executable, "-S", "-m", "hkube2argo.runtime", "max",
                           "--values", "1"], cwd=elsewhere, env=env, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "task" / "counts" / "count").read_text() == "1"
    assert os.listdir(elsewhere) == []


def test_prepare_without_a_parent_reads_the_empty_folder_argo_leaves(task: Task) -> None:
    # an optional artifact with a key that was not found is still mounted (subPath of the
    # input-artifacts emptyDir) and the kubelet creates the missing subPath as a folder
    (task.root / "raw" / "parent-results.json").mkdir(parents=True)
    prepare(task, {"nums": [1]}, ROUTES)
    assert task.out("flowInput.json") == {"nums": [1]}


def test_prepare_with_a_parent_merges_its_results(task: Task) -> None:
    task.raw("parent-results.json", '{"data": [{"nodeName": "A", "result": 1}]}')
    prepare(task, {"nums": [1]}, ROUTES)
    assert task.out("flowInput.json") == {"nums": [1],
                                          "parent": [{"nodeName": "A", "result": 1}]}
