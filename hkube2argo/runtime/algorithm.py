"""Loading and calling an HKube algorithm, unchanged: Python ``start(args[, hkubeApi])``
with optional ``init``/``stop``/``exit``, or Node.js ``module.exports.start`` (sync or
async) through ``node_shim.js``.

Exceptions raised by the algorithm are *algorithm errors* (HKube's OnError); anything
that kills the process is a *crash* (OnCrash). Exit codes keep the two apart for Argo's
retry expression.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

EXIT_OK = 0
EXIT_ALGORITHM_ERROR = 3  # the algorithm raised (or its ttl expired); anything else: a crash
TTL_MESSAGE = "Algorithm TTL expired"
# How long past its ttl an algorithm may take to give up after SIGALRM, before the wrapper
# records the expiry and ends the process itself (an algorithm that ignores SIGALRM or
# swallows the ttl's exception). Far below the template's activeDeadlineSeconds (ttl + 60 s).
TTL_HARD_GRACE = 2.0
# The kubelet's message for a pod killed at its activeDeadlineSeconds (Kubernetes
# pkg/kubelet/active_deadline.go); Argo copies a failed pod's status message into the
# node's (workflow/controller/operator.go, inferFailedReason), so ``lastRetry.message`` is
# this when the template's deadline (the ttl's backstop) ended the attempt.
POD_DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"
SHIM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_shim.js")


class AlgorithmError(Exception):
    """The algorithm failed by raising (HKube: the task failed with this message)."""


class NotSupportedByHKube2Argo(Exception):
    """Raised by every hkubeApi method."""


class HKubeApi:
    """The second ``start`` argument. HKube's code API starts algorithms and
    sub-pipelines dynamically, which a compiled Argo DAG cannot express."""

    def __getattr__(self, name: str) -> Any:
        def unsupported(*_: Any, **__: Any) -> Any:
            raise NotSupportedByHKube2Argo(
                f"hkubeApi.{name} is not supported by hkube2argo: the code API starts "
                "algorithms and pipelines dynamically, which a compiled DAG cannot do")
        return unsupported


@dataclass
class Outcome:
    result: Any = None
    error: str | None = None


_terminating = False  # set by the SIGTERM handler: its SystemExit must go through
_expired = False  # set when the ttl's alarm went off, even if the algorithm swallowed it


class _TtlExpired(BaseException):
    """Raised in the algorithm's thread when its ttl runs out (BaseException: user code's
    ``except Exception`` does not swallow it)."""


def _module_name(entry_point: str) -> str:
    name = entry_point[:-3] if entry_point.endswith(".py") else entry_point
    return "h2a_algorithm_" + name.replace("/", ".").replace(".", "_")


def load_python(code_dir: str, entry_point: str) -> Any:
    """Import the entry-point file the way HKube's wrapper does: from inside its folder,
    with the folder importable so sibling modules load."""
    code_dir = os.path.abspath(code_dir)
    path = os.path.join(code_dir, entry_point)
    if not path.endswith(".py") and not os.path.exists(path):
        path += ".py"
    os.chdir(code_dir)
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)
    spec = importlib.util.spec_from_file_location(_module_name(entry_point), path)
    if spec is None or spec.loader is None:
        raise AlgorithmError(f"cannot load the algorithm entry point {entry_point}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "start", None)):
        raise AlgorithmError(f"{entry_point} has no start function")
    return module


def _accepts_two(func: Any) -> bool:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


def _arm_ttl(ttl: int | None,
             on_hard_expiry: Callable[[], None] | None = None) -> threading.Timer | None:
    """SIGALRM at the ttl raises :class:`_TtlExpired` in the algorithm; a watchdog thread
    ``TTL_HARD_GRACE`` later calls ``on_hard_expiry`` (which records the expiry and ends
    the process), for algorithms that ignore the alarm or swallow its exception."""
    if not ttl:
        return None
    if threading.current_thread() is not threading.main_thread():
        print("hkube2argo: ttl not enforced in a debug run (not the main thread)",
              file=sys.stderr)
        return None

    def expire(*_: Any) -> None:
        global _expired
        _expired = True
        raise _TtlExpired

    signal.signal(signal.SIGALRM, expire)
    signal.alarm(int(ttl))
    if on_hard_expiry is None:
        return None
    watchdog = threading.Timer(ttl + TTL_HARD_GRACE, on_hard_expiry)
    watchdog.daemon = True
    watchdog.start()
    return watchdog


def _install_stop(module: Any, args: dict[str, Any]) -> None:
    """SIGTERM (Argo stop, pod deletion): let the algorithm's ``stop`` run, then go."""
    if threading.current_thread() is not threading.main_thread():
        return

    def on_term(*_: Any) -> None:
        global _terminating
        _terminating = True
        stop = getattr(module, "stop", None)
        if callable(stop):
            try:
                stop({**args, "forceStop": True})
            except Exception as exc:  # stop must not hide the termination
                print(f"hkube2argo: stop() raised {exc!r}", file=sys.stderr)
        sys.exit(128 + signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_term)


def run_python(code_dir: str, entry_point: str, args: dict[str, Any],
               ttl: int | None = None,
               on_hard_expiry: Callable[[], None] | None = None) -> Outcome:
    """``on_hard_expiry``: see :func:`_arm_ttl`. A result returned after the alarm went off
    (the algorithm caught the ttl's exception) is still a ttl expiry."""
    watchdog = None
    try:
        module = load_python(code_dir, entry_point)
        _install_stop(module, args)
        init = getattr(module, "init", None)
        if callable(init):
            init(args)
        watchdog = _arm_ttl(ttl, on_hard_expiry)
        try:
            start = module.start
            result = start(args, HKubeApi()) if _accepts_two(start) else start(args)
        finally:
            if ttl and threading.current_thread() is threading.main_thread():
                signal.alarm(0)
        if _expired:
            return Outcome(error=TTL_MESSAGE)
        return Outcome(result=result)
    except _TtlExpired:
        return Outcome(error=TTL_MESSAGE)
    except SystemExit as exc:
        if _terminating:
            raise
        # HKube never reports such a task done; here it fails, with the reason
        return Outcome(error=f"the algorithm called sys.exit({exc.code!r}) instead of "
                             "returning a result")
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # every algorithm failure is reported, not raised
        if _expired:
            return Outcome(error=TTL_MESSAGE)
        _print_traceback(exc, code_dir)
        return Outcome(error=str(exc) or type(exc).__name__)
    finally:
        if watchdog is not None:
            watchdog.cancel()


def _print_traceback(exc: BaseException, code_dir: str) -> None:
    """The algorithm's own frames and the exception's type, in the task's log: HKube's
    error string (``str(exc)``) alone loses both ("division by zero")."""
    root = os.path.abspath(code_dir) + os.sep
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if os.path.abspath(f.filename).startswith(root)]
    lines = ["Traceback (the algorithm's frames, most recent call last):\n"]
    lines += traceback.format_list(frames[-8:])
    lines += traceback.format_exception_only(type(exc), exc)
    sys.stderr.write("".join(lines))
    sys.stderr.flush()


def _bytes_for_node(value: Any) -> Any:
    """Bytes cross to Node.js tagged; the shim turns them into Buffers."""
    if isinstance(value, (bytes, bytearray)):
        import base64

        return {"$h2aBytes": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def run_node(code_dir: str, entry_point: str | None, args: dict[str, Any],
             ttl: int | None = None, node: str = "node") -> Outcome:
    """Node.js algorithms run in a ``node`` child process; its output passes through."""
    with tempfile.TemporaryDirectory(prefix="h2a-node-") as tmp:
        args_path = os.path.join(tmp, "args.json")
        out_path = os.path.join(tmp, "outcome.json")
        with open(args_path, "w", encoding="utf-8") as handle:
            json.dump(args, handle, default=_bytes_for_node)
        code_dir = os.path.abspath(code_dir)
        cmd = [node, SHIM, code_dir, entry_point or "index.js", args_path, out_path]
        try:
            proc = subprocess.run(cmd, cwd=code_dir, timeout=ttl or None, check=False)
        except subprocess.TimeoutExpired:
            return Outcome(error=TTL_MESSAGE)
        if not os.path.exists(out_path):
            # node died without an answer: that is a crash, not an algorithm error
            raise RuntimeError(f"node exited with code {proc.returncode} and no outcome")
        with open(out_path, encoding="utf-8") as handle:
            outcome = json.load(handle)
    if "error" in outcome:
        return Outcome(error=outcome["error"])
    if "resultBase64" in outcome:
        import base64

        return Outcome(result=base64.b64decode(outcome["resultBase64"]))
    return Outcome(result=outcome.get("result"))
