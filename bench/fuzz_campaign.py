"""The long fuzz campaign (printed figures; the suite runs a short profile in
tests/test_fuzz.py with the same cases and oracle, tests/fuzzing.py).

    python bench/fuzz_campaign.py [PIPELINES [ALGORITHMS]]   # default 10000 2000

Each case runs in this process under a time bound (SIGALRM, ``CASE_SECONDS``) and the
whole campaign under an address-space bound (``MEMORY_LIMIT``): a case that exceeds
either is counted as a hang or a memory failure, and the campaign goes on. Printed:
cases by outcome, crashes (any exception but ValidationFailed) and oracle findings
grouped by their first line, hangs, the slowest case, peak memory (max RSS).
Derandomized: the same version of the code sees the same cases.
"""

from __future__ import annotations

import collections
import resource
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.setrecursionlimit(10_000)

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests import fuzzing  # noqa: E402

CASE_SECONDS = 20
MEMORY_LIMIT = 3 * 1024 ** 3


class Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Hang()


class Tally:
    def __init__(self) -> None:
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.problems: dict[str, list[str]] = collections.defaultdict(list)
        self.slowest = (0.0, "")

    def run(self, label: str, check: Any, case: Any) -> None:
        signal.alarm(CASE_SECONDS)
        start = time.perf_counter()
        try:
            outcome = check()
            self.outcomes[f"{label}: {outcome.kind}"] += 1
        except Hang:
            self.outcomes[f"{label}: HANG"] += 1
            self.problems[f"hang (> {CASE_SECONDS} s)"].append(repr(case)[:300])
        except MemoryError:
            self.outcomes[f"{label}: MEMORY"] += 1
            self.problems["memory bound exceeded"].append(repr(case)[:300])
        except fuzzing.Finding as exc:
            self.outcomes[f"{label}: FINDING"] += 1
            self.problems[f"finding: {str(exc).splitlines()[0][:160]}"].append(repr(case)[:300])
        except Exception as exc:  # the campaign counts every crash
            self.outcomes[f"{label}: CRASH"] += 1
            where = traceback.extract_tb(exc.__traceback__)[-1]
            key = (f"crash: {type(exc).__name__} at {Path(where.filename).name}:{where.lineno}"
                   f" ({str(exc).splitlines()[0][:100] if str(exc) else ''})")
            self.problems[key].append(repr(case)[:300])
        finally:
            signal.alarm(0)
        spent = time.perf_counter() - start
        if spent > self.slowest[0]:
            self.slowest = (spent, repr(case)[:200])


def main() -> None:
    pipelines = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    algorithms = int(sys.argv[2]) if len(sys.argv) > 2 else 2_000
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, hard))
    signal.signal(signal.SIGALRM, _alarm)
    tally = Tally()
    profile = settings(derandomize=True, database=None, deadline=None, print_blob=False,
                       phases=[Phase.generate],
                       suppress_health_check=list(HealthCheck))
    started = time.perf_counter()
    with fuzzing.workspace() as space:

        catalog, folder = space.catalog, space.folder

        @settings(profile, max_examples=pipelines)
        @given(fuzzing.pipeline_cases)
        def pipeline_campaign(case: Any) -> None:
            tally.run("pipeline", lambda: fuzzing.check_pipeline_case(case, catalog), case)

        @settings(profile, max_examples=algorithms)
        @given(fuzzing.algorithm_values(), st.sampled_from(["yaml", "json"]))
        def algorithm_campaign(data: Any, fmt: str) -> None:
            tally.run("algorithm", lambda: fuzzing.check_algorithm_case(data, fmt, folder),
                      data)

        pipeline_campaign()
        algorithm_campaign()
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = sum(tally.outcomes.values())
    print(f"cases: {total} in {elapsed:.0f} s ({1000 * elapsed / max(total, 1):.1f} ms"
          f" per case); peak RSS {peak:.0f} MiB; slowest case "
          f"{tally.slowest[0]:.2f} s")
    for key, count in sorted(tally.outcomes.items()):
        print(f"  {key:28} {count}")
    crashes = sum(v for k, v in tally.outcomes.items() if k.endswith(("CRASH", "FINDING")))
    hangs = sum(v for k, v in tally.outcomes.items() if k.endswith("HANG"))
    print(f"crashes + findings: {crashes}; hangs: {hangs}")
    for key, cases in sorted(tally.problems.items(), key=lambda kv: -len(kv[1])):
        print(f"\n{len(cases):5} x {key}")
        for case in cases[:2]:
            print(f"        e.g. {case}")


if __name__ == "__main__":
    main()
