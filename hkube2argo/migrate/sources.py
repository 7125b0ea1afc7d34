"""Where a whole HKube installation is read from: a running HKube API, a JSON export, or a
folder of descriptor files. Each gives the same thing, a ``Store`` of pipeline and
algorithm descriptors with a source for every message.

HKube's API lists the store with ``GET /api/v1/store/pipelines`` (one array; its only
query is ``sort``) and ``GET /api/v1/store/algorithms`` (``name``, ``sort``, ``limit``; some
versions cap an unlimited list at 1,000), as its ``core/api-server`` routes
(``api/rest-api/routes/v1/store.js``) and swagger (``core/openapi-spec``) define them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic, ValidationFailed
from ..loading import DESCRIPTOR_SUFFIXES, Descriptor, Source, load_file

ALGORITHM_LIMIT = 100_000  # asked of GET /store/algorithms, which may default to 1,000


class SourceError(Exception):
    """The source cannot be read at all (unreachable API, refused token, no such path)."""


@dataclass
class Store:
    """An HKube store as read: descriptors, and problems with the files that held them."""

    name: str  # what was read, for the report
    pipelines: list[Descriptor] = field(default_factory=list)
    algorithms: list[Descriptor] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def is_pipeline(data: Any) -> bool:
    """HKube's two descriptor kinds differ by ``nodes``: only pipelines have them."""
    return isinstance(data, dict) and "nodes" in data


def _part(parent: Descriptor, key: str, index: int, item: Any) -> Descriptor:
    """One element of an export's list, its messages pointing into the export file."""
    parent.source.line_of(())  # computes the file's lines once, for every element
    src = parent.source
    return Descriptor(item, Source(src.file, (*src.base, key, index), src.lines))


def read_export(path: Path) -> Store:
    """A JSON (or YAML) export: ``{pipelines: [...], algorithms: [...]}``, as HKube's API
    returns the two lists."""
    found = load_file(path)
    store = Store(str(path))
    if len(found) != 1 or not isinstance(found[0].data, dict) or not (
            {"pipelines", "algorithms"} & set(found[0].data)):
        raise SourceError(f"{path}: an export is one object {{pipelines: [...], algorithms: "
                          "[...]}} (the lists HKube's GET /store/pipelines and "
                          "/store/algorithms return)")
    top = found[0]
    for key, target in (("pipelines", store.pipelines), ("algorithms", store.algorithms)):
        items = top.data.get(key, [])
        if not isinstance(items, list):
            store.diagnostics.append(top.source.diag(f"{key} must be a list", (key,)))
            continue
        target.extend(_part(top, key, i, item) for i, item in enumerate(items))
    return store


def read_folder(path: Path) -> Store:
    """Descriptor files in a folder and in its ``pipelines/`` and ``algorithms/`` folders,
    told apart by content (a pipeline has ``nodes``). Other sub-folders hold code."""
    store = Store(str(path))
    folders = [path, *(path / sub for sub in ("pipelines", "algorithms")
                       if (path / sub).is_dir())]
    files = sorted(f for folder in folders for f in folder.iterdir()
                   if f.is_file() and f.suffix.lower() in DESCRIPTOR_SUFFIXES)
    for file in files:
        try:
            descriptors = load_file(file)
        except ValidationFailed as exc:
            store.diagnostics.extend(exc.diagnostics)
            continue
        for desc in descriptors:
            if isinstance(desc.data, dict) and {"pipelines", "algorithms"} & set(desc.data) \
                    and "nodes" not in desc.data and "name" not in desc.data:
                inner = read_export(file)  # an export file inside the folder
                store.pipelines += inner.pipelines
                store.algorithms += inner.algorithms
                store.diagnostics += inner.diagnostics
            elif is_pipeline(desc.data):
                store.pipelines.append(desc)
            elif isinstance(desc.data, dict) and "name" in desc.data:
                store.algorithms.append(desc)
            else:  # an expected result, a flowInput file: not the store's
                store.diagnostics.append(desc.source.diag(
                    "skipped: neither a pipeline (no nodes) nor an algorithm (no name)",
                    severity="warning"))
    if not files:
        raise SourceError(f"{path}: no descriptor files (*.yaml, *.yml, *.json) in it or in "
                          "its pipelines/ and algorithms/ folders")
    return store


def read_api(url: str, token: str | None = None, timeout: float = 30.0) -> Store:
    """The store of a running HKube: its REST API's two list calls."""
    import urllib3

    base = url.rstrip("/")
    if not base.endswith("/api/v1"):
        base += "/api/v1"
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = token if token.lower().startswith("bearer ") \
            else f"Bearer {token}"
    http = urllib3.PoolManager(timeout=urllib3.Timeout(total=timeout),
                               retries=urllib3.Retry(total=2, backoff_factor=0.5,
                                                     status_forcelist=(502, 503, 504)))
    store = Store(url)
    for kind, query, target in (("pipelines", "", store.pipelines),
                                ("algorithms", f"?limit={ALGORITHM_LIMIT}", store.algorithms)):
        address = f"{base}/store/{kind}{query}"
        try:
            answer = http.request("GET", address, headers=headers)
        except urllib3.exceptions.HTTPError as exc:
            raise SourceError(f"cannot reach HKube at {url}: {_reason(exc)}") from None
        if answer.status in (401, 403):
            raise SourceError(f"HKube at {url} refused the request ({answer.status}): give a "
                              "valid token with --hkube-token (or HKUBE_TOKEN)")
        if answer.status != 200:
            raise SourceError(f"GET {address}: HTTP {answer.status}: "
                              f"{_message(answer.data)}")
        try:
            items = json.loads(answer.data)
        except ValueError:
            raise SourceError(f"GET {address} did not answer JSON: is {url} HKube's API "
                              "server (with its path prefix, such as /hkube/api-server)?"
                              ) from None
        if not isinstance(items, list):
            raise SourceError(f"GET {address} answered {type(items).__name__}, not a list")
        target.extend(Descriptor(item, Source(f"{url} {kind}[{i}]"
                                              + (f" ({item['name']})"
                                                 if isinstance(item, dict)
                                                 and isinstance(item.get("name"), str)
                                                 else "")))
                      for i, item in enumerate(items))
    return store


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or exc
    return str(reason).split(": ", 1)[-1] if ">: " in str(reason) else str(reason)


def _message(body: bytes) -> str:
    """HKube's error shape is ``{"error": {"code", "message"}}``."""
    try:
        value = json.loads(body)
        return str(value["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return body[:200].decode("utf-8", "replace")


def read_source(source: str, token: str | None = None) -> Store:
    """A URL, a folder or an export file."""
    if source.startswith(("http://", "https://")):
        return read_api(source, token)
    path = Path(source)
    if path.is_dir():
        return read_folder(path)
    if path.is_file():
        return read_export(path)
    raise SourceError(f"{source}: no such file or folder (give a folder of descriptors, a "
                      "JSON export, or --hkube-url URL)")
