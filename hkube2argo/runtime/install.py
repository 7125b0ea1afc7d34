"""``python -m hkube2argo.runtime.install DIR``: copy this wrapper into DIR.

Image algorithms run in their own image; an init container of the runtime image copies
the wrapper (standard library only) into a shared volume, and the algorithm's container
runs it from there with ``PYTHONPATH=DIR``.
"""

from __future__ import annotations

import os
import shutil
import sys

PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # .../hkube2argo


def install(target: str) -> None:
    dest = os.path.join(target, "hkube2argo")
    os.makedirs(dest, exist_ok=True)
    with open(os.path.join(dest, "__init__.py"), "w", encoding="utf-8") as handle:
        handle.write('"""hkube2argo runtime only (copied into an algorithm image)."""\n')
    shutil.copytree(os.path.join(PACKAGE, "runtime"), os.path.join(dest, "runtime"),
                    dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))


if __name__ == "__main__":
    install(sys.argv[1])
