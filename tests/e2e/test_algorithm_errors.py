"""An algorithm's exception keeps its type and its own frames in the task's log (HKube's
error string alone says only "division by zero"), with and without --debug-node; the
result document keeps HKube's string."""

from __future__ import annotations

from pathlib import Path

import pytest

from hkube2argo.runner.run import Runner, StorageSpec

PY = '''def helper(x):
    return x / 0


def start(args):
    return helper(args["input"][0])
'''
JS = '''function helper(x) { throw new TypeError('not a number: ' + x); }
module.exports.start = (args) => helper(args.input[0]);
'''


def _pipeline(tmp_path: Path, env: str) -> tuple[Path, Path]:
    algorithms = tmp_path / "algorithms"
    code = algorithms / "boom"
    code.mkdir(parents=True)
    entry = "boom.py" if env == "python" else "boom.js"
    (code / entry).write_text(PY if env == "python" else JS)
    (algorithms / "boom.yaml").write_text(f"name: boom\nenv: {env}\n"
                                          f"code: {{path: boom, entryPoint: {entry}}}\n")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("name: zd\nnodes:\n  - {nodeName: Boom, algorithmName: boom, "
                        "input: [1], retry: {policy: Never}}\n")
    return pipeline, algorithms


@pytest.mark.parametrize("debug", [False, True])
def test_a_python_exception_keeps_its_type_and_frames(tmp_path: Path, debug: bool,
                                                     capfd) -> None:
    pipeline, algorithms = _pipeline(tmp_path, "python")
    runner = Runner(tmp_path / "state", workers=1, debug_node="Boom" if debug else None)
    result = runner.start(pipeline, [algorithms], StorageSpec())
    assert (result.status, result.node, result.error) == ("failed", "Boom", "division by zero")
    assert result.document["error"] == "division by zero"  # HKube's string
    shown = result.log_tail if not debug else capfd.readouterr().err
    assert "ZeroDivisionError: division by zero" in shown
    assert "in helper" in shown and "return x / 0" in shown  # the algorithm's own frame
    assert "runtime/algorithm.py" not in shown  # not the wrapper's frames


def test_a_node_exception_keeps_its_stack(tmp_path: Path) -> None:
    pipeline, algorithms = _pipeline(tmp_path, "nodejs")
    result = Runner(tmp_path / "state", workers=1).start(pipeline, [algorithms],
                                                         StorageSpec())
    assert (result.status, result.error) == ("failed", "not a number: 1")
    assert "TypeError: not a number: 1" in result.log_tail
    assert "at helper" in result.log_tail
