"""How long validating (load -> models -> checks -> plan) a large pipeline takes.

Prints figures; asserts nothing (machines are shared and noisy). Usage:

    python bench/validate_large.py [NODES ...]     # default 100 1000 5000
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

from hkube2argo.validate import load_algorithms, plan_pipeline


def pipeline(n: int, seed: int = 7) -> dict:
    """A layered DAG: every node references up to three earlier nodes, a third of them as
    batch sources, with nested inputs and flowInput paths; mimics a big real pipeline."""
    rng = random.Random(seed)
    nodes = []
    for i in range(n):
        refs: list = ["@flowInput.cfg.scale", {"k": f"@flowInput.items.{i % 10}"}]
        for p in rng.sample(range(i), min(i, 3)):
            refs.append(("#@" if rng.random() < 0.1 else "@") + f"N{p}.out")
        if i % 50 == 0:
            refs.append("#[1...100]")
        nodes.append({"nodeName": f"N{i}", "algorithmName": f"alg-{i % 20}", "input": refs,
                      "retry": {"policy": "OnError", "limit": 2}})
    return {"name": f"large-{n}", "nodes": nodes,
            "flowInput": {"cfg": {"scale": 2}, "items": list(range(10))}}


def measure(n: int, repeats: int = 5) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        algs = folder / "algorithms"
        algs.mkdir()
        for j in range(20):
            (algs / f"alg-{j}.yaml").write_text(f"name: alg-{j}\nimage: example/alg:{j}\n")
        out = {}
        for fmt in ("yaml", "json"):
            path = folder / f"p.{fmt}"
            data = pipeline(n)
            path.write_text(yaml.safe_dump(data) if fmt == "yaml" else json.dumps(data))
            load_algorithms([algs])  # warm imports
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                plan = plan_pipeline(path, [algs])
                times.append(time.perf_counter() - start)
            assert len(plan.nodes) == n
            out[fmt] = statistics.median(times)
        return out


def main(sizes: list[int]) -> None:
    print(f"{'nodes':>7} {'yaml (s)':>10} {'json (s)':>10}   (median of 5, whole validate)")
    for n in sizes:
        t = measure(n)
        print(f"{n:>7} {t['yaml']:>10.3f} {t['json']:>10.3f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000, 5000])
