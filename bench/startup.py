"""Whole-process CPU of the commands people type most, beside ``python -c pass`` measured in
the same run (printed; nothing is asserted).

    python bench/startup.py [--repeat N]

Each command runs as its own process, interleaved round by round so load on the machine
falls on all of them alike; the figure is the median of the child's user+system CPU.
Commands: ``hkube2argo --help``, ``validate`` of the numbers example, ``exec status`` of a
finished local job (the embedded backend), ``compile`` of a 1,000-node chain (the shape of
``bench/compile_large.py``). Targets (issue 14 item 6, issue 17): the first three at most
0.15 s above ``python -c pass``; the compile at most 0.6 s as a whole process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compile_large import chain

ROOT = Path(__file__).resolve().parent.parent
NUMBERS = ROOT / "examples" / "numbers"
ALGORITHMS = ROOT / "examples" / "algorithms"
CLI = [sys.executable, "-m", "hkube2argo"]


def cpu_of(argv: list[str], cwd: Path, source: str | None = None) -> float:
    """The child's user+system CPU seconds (its own rusage, from wait4); ``source``: another
    checkout's folder to import hkube2argo from (PYTHONPATH comes before the editable
    install)."""
    env = {**os.environ, "PYTHONPATH": source} if source else None
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read() if proc.stderr else b""
    if proc.returncode:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {err.decode()[-500:]}")
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--against", metavar="DIR",
                        help="also time another checkout (e.g. `git archive main` unpacked), "
                             "interleaved, as the baseline")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "chain.yaml").write_text(yaml.safe_dump(chain(1000), sort_keys=False))
        done = subprocess.run([*CLI, "run", str(NUMBERS / "numbers.yaml"), "-a",
                               str(NUMBERS / "algorithms")], cwd=work, capture_output=True,
                              text=True, check=True)
        job = next(iter(os.listdir(work / ".hkube2argo" / "jobs")))
        assert "completed" in done.stderr + done.stdout, done.stderr[-300:]
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "hkube2argo --help": [*CLI, "--help"],
            "validate numbers": [*CLI, "validate", str(NUMBERS / "numbers.yaml"), "-a",
                                 str(NUMBERS / "algorithms")],
            "exec status": [*CLI, "exec", "status", job],
            "compile chain-1000": [*CLI, "compile", str(work / "chain.yaml"), "-a",
                                   str(ALGORITHMS), "-o", str(work / "out")],
        }
        sources = {"this": None, **({"against": args.against} if args.against else {})}
        samples: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.repeat):
            for name, argv in commands.items():
                for label, source in sources.items():
                    if name == "python -c pass" and label != "this":
                        continue
                    samples.setdefault((name, label), []).append(cpu_of(argv, work, source))
    base = statistics.median(samples["python -c pass", "this"])
    print(f"{'command':<20} {'checkout':<8} {'CPU s (median)':>15} {'above pass':>11}   "
          f"({args.repeat} runs, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
    for (name, label), values in samples.items():
        median = statistics.median(values)
        print(f"{name:<20} {label:<8} {median:>15.3f} {median - base:>11.3f}")


if __name__ == "__main__":
    main()
