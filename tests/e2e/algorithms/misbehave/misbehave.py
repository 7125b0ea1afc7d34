"""Algorithms that misbehave, for the fault tests. input[0] says how:

{"ignore_alarm": seconds}  ignore SIGALRM (and swallow the ttl's exception), then sleep
{"hold_gil": seconds}      ignore SIGALRM and sleep in C holding the GIL: no handler and no
                           thread of the wrapper runs (only the container's deadline ends it)
{"deep": depth}            return a list nested ``depth`` levels deep
{"fork": "plain"|"setsid", "pids": path}  leave a child (same process group, or a new
                           session) that would sleep for minutes; its pid appended to path
{"gate": path, "append": path, "value": v}  wait (at most a minute) until the gate file
                           exists, append "<nodeName> <batchIndex>" to the other, return v
{"mark": path}             create the file at path (so a test knows the task started);
                           with "sleep": seconds, sleep after that
Anything else is returned as it is.
"""

import contextlib
import os
import signal
import time


def _child(kind, pids):
    """Leave a sleeping process behind; return once its pid is written."""
    ready, told = os.pipe()
    if os.fork():
        os.close(told)
        os.read(ready, 1)
        os.close(ready)
        return
    try:
        os.close(ready)
        if kind == "setsid":
            os.setsid()
            if os.fork():  # a daemon's double fork: the grandchild is nobody's child
                os._exit(0)
        with open(pids, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
        os.write(told, b"!")
        os.close(told)
        time.sleep(300)
    finally:
        os._exit(0)


def start(args):
    how = args["input"][0]
    if not isinstance(how, dict):
        return how
    if "ignore_alarm" in how:
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        end = time.monotonic() + how["ignore_alarm"]
        while time.monotonic() < end:
            with contextlib.suppress(BaseException):  # a careless algorithm swallows all
                time.sleep(0.05)
        return "survived"
    if "hold_gil" in how:
        import ctypes

        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        ctypes.PyDLL(None).sleep(int(how["hold_gil"]))  # PyDLL: the GIL stays held
        return "survived"
    if "deep" in how:
        value = []
        for _ in range(how["deep"]):
            value = [value]
        return value
    if "fork" in how:
        _child(how["fork"], how["pids"])
        return "forked"
    if "gate" in how:
        end = time.monotonic() + 60
        while not os.path.exists(how["gate"]) and time.monotonic() < end:
            time.sleep(0.02)
        with open(how["append"], "a", encoding="utf-8") as handle:
            handle.write(f"{args['nodeName']} {args['batchIndex']}\n")
        return how.get("value")
    if "mark" in how:
        with open(how["mark"], "a", encoding="utf-8"):
            pass
        time.sleep(how.get("sleep", 0))
        return how.get("value", "marked")
    return how
