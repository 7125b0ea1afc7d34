"""The numbers pipeline on the local runner: wall time, per-task overhead, bytes moved.

    python bench/run_numbers.py [N ...]       # default 10 100 1000 (batch items)

Per-task overhead = (wall time - the same pipeline's time at N=1) / extra tasks, with the
given workers; the algorithms themselves take microseconds, so this is the runner's cost
(scheduling, artifacts, process start). Bytes read are compared with the data the
pipeline produces (every result's JSON), the budget being 2x. Printed, never asserted.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from hkube2argo.runner.run import Runner, StorageSpec

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = ROOT / "examples" / "numbers" / "numbers.yaml"
ALGORITHMS = ROOT / "examples" / "numbers" / "algorithms"


def data_bytes(n: int, mul: int = 2) -> int:
    """JSON size of everything the pipeline produces: Range's list, each Multiply result,
    Reduce's sum."""
    items = list(range(n))
    sizes = len(json.dumps(items)) + sum(len(json.dumps(i * mul)) for i in items)
    return sizes + len(json.dumps(sum(items) * mul))


def run(n: int, warm: bool, workers: int) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as state:
        runner = Runner(Path(state), workers=workers, warm=warm)
        start = time.perf_counter()
        result = runner.start(PIPELINE, [ALGORITHMS], StorageSpec(), overrides={"data": n})
        wall = time.perf_counter() - start
        assert result.status == "completed", result.error
        assert result.document["data"][0]["result"] == sum(range(n)) * 2
        return wall, result.stats


def payload(n: int, size: int = 10_000) -> None:
    """Bytes moved with real payloads: a batch over N strings of ``size`` bytes, each item
    passed on, all gathered by one node (the data plane's O(data) claim)."""
    import yaml

    with tempfile.TemporaryDirectory() as state:
        pipeline = Path(state) / "payload.yaml"
        flow = {"items": [f"{i:06d}" + "x" * (size - 6) for i in range(n)]}
        pipeline.write_text(yaml.safe_dump({"name": "payload", "flowInput": flow, "nodes": [
            {"nodeName": "Each", "algorithmName": "first", "input": ["#@flowInput.items"]},
            {"nodeName": "All", "algorithmName": "echo", "input": ["@Each"]}]}))
        result = Runner(Path(state), workers=os.cpu_count() or 2).start(
            pipeline, [ROOT / "examples" / "algorithms"], StorageSpec())
        assert result.status == "completed"
        by = result.stats["read_by_artifact"]
        inbox = by.get("shared", 0) + by.get("item", 0)
        produced = 3 * n * size  # the flowInput items, Each's results, All's result
        print(f"payload N={n} x {size} B: data read {inbox / 1e6:.2f} MB, produced "
              f"{produced / 1e6:.2f} MB, ratio {inbox / produced:.2f}")


def main(sizes: list[int]) -> None:
    workers = os.cpu_count() or 2
    print(f"numbers pipeline, {workers} workers; tasks = N + 4 (prepare, Range, N items, "
          "Reduce, results: Reduce judges the batch, no collect step)")
    print("read = every byte tasks downloaded; data read = inbox files only (values in their "
          "envelopes), vs. the JSON size of everything the pipeline produces")
    print(f"{'mode':>5} {'N':>6} {'wall s':>8} {'ms/task':>8} {'read KiB':>9} "
          f"{'data read':>9} {'data KiB':>9} {'ratio':>6}")
    for warm in (True, False):
        base, _ = run(1, warm, workers)
        for n in sizes:
            wall, stats = run(n, warm, workers)
            per_task = (wall - base) / max(1, n - 1) * 1000
            data = data_bytes(n)
            by = stats["read_by_artifact"]
            inbox = by.get("shared", 0) + by.get("item", 0)
            print(f"{'warm' if warm else 'cold':>5} {n:>6} {wall:>8.2f} {per_task:>8.1f} "
                  f"{stats['bytes_in'] / 1024:>9.1f} {inbox / 1024:>9.1f} "
                  f"{data / 1024:>9.1f} {inbox / data:>6.2f}")
    for n in (10, 100):
        payload(n)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 100, 1000])
