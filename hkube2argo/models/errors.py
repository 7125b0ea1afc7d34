"""Pydantic errors turned into HKube-shaped messages: the field path and what is allowed."""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from ..diagnostics import Loc

_PREFIXES = ("Value error, ", "Assertion failed, ")
_SHOWN = 60


def _shown(value: Any) -> str:
    """The value as the user wrote it (JSON), strings in quotes, shortened."""
    try:
        text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) \
            else repr(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield from _models_in(typing.get_args(annotation)[0])
    elif origin in (typing.Union, types.UnionType, list, dict, tuple):
        for arg in typing.get_args(annotation):
            yield from _models_in(arg)


def model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that validates the object at ``loc`` (by alias), if any."""
    current: type[BaseModel] | None = root
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int):
            continue
        field = next((f for name, f in current.model_fields.items()
                      if (f.alias or name) == part), None)
        if field is None:
            # dict values (e.g. algorithmEnv.KEY): stay on the value type of the mapping
            continue
        current = next(_models_in(field.annotation), None)
    return current


def _allowed_keys(model: type[BaseModel]) -> str:
    return ", ".join(sorted(f.alias or n for n, f in model.model_fields.items()))


def real_loc(loc: tuple[Any, ...], data: Any, missing: bool) -> Loc:
    """The error's location in the user's data: pydantic adds labels of its own (union
    members, tags) that name no key; those are dropped by looking at the data itself."""
    out: list[str | int] = []
    here = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        present = (isinstance(here, dict) and part in here) or (
            isinstance(here, list) and isinstance(part, int) and part < len(here))
        if present:
            out.append(part)
            here = here[part]
        elif last and missing:
            out.append(part)  # a required key is absent by definition
        else:
            continue  # a label of pydantic's
    return tuple(out)


def translate(exc: ValidationError, root: type[BaseModel],
              data: Any = None) -> list[tuple[Loc, str]]:
    """(location, message) for each pydantic error, in HKube's vocabulary."""
    out: list[tuple[Loc, str]] = []
    for err in exc.errors(include_url=False):
        loc: Loc = real_loc(err["loc"], data, err["type"] == "missing") \
            if data is not None else tuple(err["loc"])
        kind = err["type"]
        msg = err["msg"]
        for prefix in _PREFIXES:
            if msg.startswith(prefix):
                msg = msg[len(prefix):]
        if kind == "missing":
            msg = "required field is missing"
        elif kind == "extra_forbidden":
            parent = model_at(root, loc[:-1])
            allowed = f"; allowed: {_allowed_keys(parent)}" if parent else ""
            msg = f"unknown key '{loc[-1]}'{allowed}"
        elif kind == "too_short" and loc == ("nodes",):
            msg = "pipeline must have at least one node"
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            msg = f"must be an object, got {_shown(err.get('input'))}"
        elif kind == "list_type":
            msg = f"must be an array, got {_shown(err.get('input'))}"
        elif kind != "value_error" and "input" in err and not isinstance(err["input"], dict):
            msg = f"{msg}, got {_shown(err['input'])}"
        out.append((loc, msg))
    return out
