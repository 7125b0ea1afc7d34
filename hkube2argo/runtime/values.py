"""HKube's value rules: paths into results, envelopes that carry results or errors."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Sequence
from typing import Any

RAW_MARK = "h2a1:"  # raw artifacts: marker + base64(gzip(JSON)); no '{{' can appear


def is_array_index(segment: str) -> bool:
    """A path segment JavaScript reads as an array index: "0", "12" (not "01", not "²")."""
    return segment == "0" or (segment[:1] in "123456789" and segment.isascii()
                              and segment.isdigit())


MISSING = object()  # what lookup() finds where a path leads nowhere (null is a value)


def lookup(value: Any, path: Sequence[str]) -> Any:
    """``@A.items.0.id``: keys into objects, numeric segments into arrays; MISSING when the
    path leads nowhere."""
    for seg in path:
        if isinstance(value, dict) and seg in value:
            value = value[seg]
        elif isinstance(value, list) and is_array_index(seg) and int(seg) < len(value):
            value = value[int(seg)]
        else:
            return MISSING
    return value


def get_path(value: Any, path: Sequence[str]) -> Any:
    """A path's value as an algorithm receives it: missing -> None (HKube gives null)."""
    found = lookup(value, path)
    return None if found is MISSING else found


def encode_raw(value: Any) -> str:
    """JSON for a raw Argo artifact, safe from Argo's ``{{`` substitution (base64 alphabet)."""
    data = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return RAW_MARK + base64.b64encode(gzip.compress(data, mtime=0)).decode("ascii")


def decode_raw(text: str) -> Any:
    text = text.strip()
    if not text.startswith(RAW_MARK):
        raise ValueError("not an hkube2argo raw artifact")
    return json.loads(gzip.decompress(base64.b64decode(text[len(RAW_MARK):])).decode("utf-8"))


def succeeded(result: Any) -> dict[str, Any]:
    """The envelope of a successful task; bytes results travel base64-encoded."""
    if isinstance(result, (bytes, bytearray)):
        return {"status": "succeed", "resultBytes": base64.b64encode(bytes(result)).decode()}
    return {"status": "succeed", "result": result}


def failed(error: str) -> dict[str, Any]:
    return {"status": "failed", "error": error}


def unwrap(envelope: dict[str, Any]) -> Any:
    """The value an envelope carries (bytes back as bytes)."""
    if "resultBytes" in envelope:
        return base64.b64decode(envelope["resultBytes"])
    return envelope.get("result")


def project(envelope: dict[str, Any], path: list[str]) -> dict[str, Any]:
    """The envelope with its result narrowed to ``path`` (errors pass unchanged)."""
    if envelope.get("status") != "succeed" or not path:
        return envelope
    return {"status": "succeed", "result": get_path(unwrap(envelope), path)}


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def item_index(file_name: str) -> int | None:
    """The batch index of an ``NNNNNN.json`` file name, else None."""
    stem, dot, ext = file_name.partition(".")
    return int(stem) if dot and ext == "json" and stem.isdigit() else None
