"""How long a run takes to stop when its pipeline ttl expires (the e2e test checks that it
stops, this prints how fast): median of N runs of a 10 s task under a 2 s ttl, beside the
ttl itself. Usage: python bench/ttl_stop.py [N]"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from hkube2argo.runner.run import Runner, StorageSpec

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = ROOT / "tests" / "e2e" / "pipelines" / "pipeline-ttl.yaml"
ALGORITHMS = ROOT / "tests" / "e2e" / "algorithms"


def main(runs: int) -> None:
    took = []
    with tempfile.TemporaryDirectory() as state:
        runner = Runner(Path(state), workers=2)
        for _ in range(runs):
            started = time.monotonic()
            result = runner.start(PIPELINE, [ALGORITHMS], StorageSpec())
            took.append(time.monotonic() - started)
            assert result.status == "failed", result.document
    print(f"pipeline ttl 2 s, task 10 s: stopped after median {statistics.median(took):.2f} s "
          f"(min {min(took):.2f}, max {max(took):.2f}, {runs} runs)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
