"""Names that reach Argo and Kubernetes, made from HKube names.

HKube names allow characters Argo forbids (``_``, ``.``, spaces, unicode). A name that
survives sanitising unchanged is kept (the Argo UI then shows the HKube name); any other
gets a stable hash of the original appended, so two different HKube names never map
to the same Argo name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

# expr-lang words that broke `depends` evaluation once (argo-notes section 10); a task
# named like them gets a suffix, which costs nothing.
EXPR_WORDS = frozenset({
    "in", "not", "and", "or", "matches", "contains", "startswith", "endswith", "split",
    "map", "filter", "all", "none", "any", "one", "len", "true", "false", "nil", "let",
    "startsWith", "endsWith",
})
# our own steps' task names (jobgraph.PREPARE, RESULTS, the progress reporter): a node
# named like one would silently merge with it
RESERVED_TASKS = frozenset({"prepare", "results", "progress"})
TASK_MAX = 40  # task names also end up inside pod names; keep them short
RESERVED_MARK = "--"  # sanitising never leaves a double dash, so suffixes using it are ours


def short_hash(text: str, size: int = 6) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:size]


def _squash(text: str, allowed: str) -> str:
    out = re.sub(f"[^{allowed}]+", "-", text)
    return re.sub(r"-{2,}", "-", out).strip("-")


def task_name(name: str, limit: int = TASK_MAX) -> str:
    """A DAG task / storage key for a node: ``^[a-zA-Z][-a-zA-Z0-9]*$``, no ``--``."""
    clean = _squash(name, "a-zA-Z0-9")
    changed = clean != name
    # expr is case-sensitive: "In" is a fine name, "in" is not
    if not clean or not clean[0].isalpha() or clean in EXPR_WORDS | RESERVED_TASKS:
        clean = f"n-{clean}".rstrip("-")
        changed = True
    if changed or len(clean) > limit:
        clean = f"{clean[: limit - 7].rstrip('-')}-{short_hash(name)}"
    return clean


def dns_name(name: str, limit: int = 63) -> str:
    """A Kubernetes object name (DNS-1123 subdomain, lowercase), within ``limit``."""
    clean = _squash(name.lower(), "a-z0-9")
    if clean == name and len(clean) <= limit:
        return clean
    base = clean[: limit - 7].strip("-") or "pipeline"
    return f"{base}-{short_hash(name)}"


def label_value(name: str) -> str:
    """A label value (63 chars of ``[A-Za-z0-9._-]``, alphanumeric at both ends)."""
    clean = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._")
    if clean == name and len(clean) <= 63:
        return clean
    return f"{clean[:56].strip('-._')}-{short_hash(name)}".lstrip("-")


def unique(names: Iterable[tuple[str, str]]) -> dict[str, str]:
    """original -> sanitised, guaranteed distinct (a clash, however unlikely, gets a longer
    hash rather than silently merging two nodes)."""
    out: dict[str, str] = {}
    taken: dict[str, str] = {}
    for original, clean in names:
        size = 6
        while clean in taken and taken[clean] != original:
            size += 4
            clean = f"{clean[: TASK_MAX - size - 1]}-{short_hash(original, size)}"
        out[original] = clean
        taken[clean] = original
    return out
