"""Where things are: paths inside the task and object keys under the job's prefix.

Both the compiler (which declares artifacts) and the wrapper (which reads and writes
files) use these, so the two can never disagree on a name.
"""

from __future__ import annotations

import os

# Inside a task, relative to H2A_ROOT (``/tmp/h2a`` in pods, a task folder locally).
ROOT_ENV = "H2A_ROOT"
DEFAULT_ROOT = "/tmp/h2a"
SPEC_FILE = "spec.json"  # this task's spec
SHARED_DIR = "in/shared"  # inbox: what every item of the node receives
ITEM_DIR = "in/item"  # inbox: what this batch item alone receives
CODE_DIR = "code"  # the algorithm's code, unpacked
OUT_DIR = "out"  # everything here is uploaded under the job prefix, same relative paths
RAW_DIR = "raw"  # raw artifacts (pipeline spec, flowInput) for the prepare task
COUNTS_DIR = "counts"  # small numbers that become Argo output parameters


_resolved: dict[str, str] = {}


def root() -> str:
    """Absolute, resolved the first time it is asked for (before the algorithm can change
    the working folder), so an algorithm's ``chdir`` moves nothing of ours."""
    given = os.environ.get(ROOT_ENV, DEFAULT_ROOT)
    if given not in _resolved:
        _resolved[given] = os.path.abspath(given)
    return _resolved[given]


def local(*parts: str) -> str:
    return os.path.join(root(), *parts)


# Object keys, relative to the job prefix ``<keyPrefix>/jobs/<jobId>``.
def spec_key(task: str) -> str:
    return f"spec/{task}.json"


def inbox_shared(task: str) -> str:
    return f"inbox/{task}/shared"


def inbox_item(task: str, index: int | str) -> str:
    return f"inbox/{task}/{index}"


def flow_input_key() -> str:
    return "flowInput.json"


def results_key() -> str:
    return "results.json"


def item_file(index: int) -> str:
    """Zero-padded so that a listing's lexical order is the batch order."""
    return f"{index:06d}.json"


def job_prefix(key_prefix: str, job_id: str) -> str:
    return f"{key_prefix}/jobs/{job_id}"
