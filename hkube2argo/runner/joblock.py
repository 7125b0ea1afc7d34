"""One runner per job. Two runners of one job (two ``--resume`` at once, or a resume while
the job still runs) would each run every remaining task, in the same task folders. The
runner holds an exclusive ``flock`` on ``<job>/lock`` while it works on the job, with its pid
written inside for the message the second one gets. The kernel drops the lock with the
process, even after ``kill -9``, so a killed job can be resumed at once. Where ``fcntl`` does
not exist (Windows) jobs are not locked."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = "lock"


class JobBusy(Exception):
    """Another process runs this job; ``pid`` is its pid when it has written it."""

    def __init__(self, pid: int | None):
        super().__init__(f"pid {pid}" if pid else "pid unknown")
        self.pid = pid


@contextmanager
def hold(folder: Path) -> Iterator[None]:
    """Lock the job in ``folder`` for the duration; :class:`JobBusy` if it is taken."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(folder / LOCK_FILE, "a+", encoding="ascii") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            text = handle.read().strip()
            raise JobBusy(int(text) if text.isdigit() else None) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield  # closing the file releases the lock
