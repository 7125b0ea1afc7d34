"""``python -m hkube2argo.runtime MODE [--index N] [--total N]``: the task entry point.

Exit codes: 0 success, 3 algorithm error (retried under OnError/Always), 4 batch
tolerance exceeded; anything else is a crash (retried under OnCrash/Always).
"""

from __future__ import annotations

import argparse
import os
import sys

from . import io, layout, tasks

MODES = ("prepare", "run", "zip", "collect", "results", "max", "webhook", "progress")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hkube2argo.runtime")
    parser.add_argument("mode", choices=MODES)
    parser.add_argument("--index", type=int, default=0, help="batch index (1-based), 0 = none")
    parser.add_argument("--total", type=int, default=0, help="items of the batch (collect)")
    parser.add_argument("--values", default="", help="comma-separated sizes (max)")
    parser.add_argument("--status", default="", help="Argo's workflow.status (webhook)")
    opts = parser.parse_args(argv)
    if opts.mode == "prepare":
        return tasks.prepare({})
    if opts.mode == "max":
        return tasks.max_count([int(v) for v in opts.values.split(",") if v.strip()])
    if opts.mode == "webhook":
        from . import webhooks

        return webhooks.send(opts.status, os.environ.get("H2A_FAILURES", ""))
    if opts.mode == "progress":
        from . import progress

        return progress.main()
    spec = io.read_json(layout.local(layout.SPEC_FILE))
    if opts.mode == "run":
        return tasks.run(spec, opts.index)
    if opts.mode == "zip":
        return tasks.zip_batch(spec)
    if opts.mode == "collect":
        return tasks.collect(spec, opts.total)
    return tasks.results(spec)


def run_entry(argv: list[str]) -> int:
    """The entry point for callers that are not a fresh interpreter (warm workers, the
    runner's --debug-node): ``sys.exit`` and stray exceptions become exit codes."""
    import traceback

    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except Exception:
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    sys.exit(main())
