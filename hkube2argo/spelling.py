"""Unknown keys that look like misspellings of known ones.

HKube keeps unknown keys on pipelines, nodes, options and algorithms, so a typo such as
``algorithName`` silently does nothing there. We keep them too (they reach the
algorithm as in HKube) but warn when one is close to a field the object knows.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def suggest(key: str, known: Iterable[str]) -> str | None:
    """The known key ``key`` was probably meant to be, or None."""
    known = sorted(known)  # sets give no order; the hint must not depend on hashing
    lowered = {k.lower(): k for k in known}
    if key.lower() in lowered:
        return lowered[key.lower()]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.8)
    return close[0] if close else None
