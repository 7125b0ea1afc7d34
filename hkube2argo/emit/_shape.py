"""The base of the generated Argo shapes (``shapes.py``): plain objects that dump exactly as
Hera's pydantic models do, without importing Hera on the compile path.

Hera's models cost ~0.8 s of CPU to import (hundreds of pydantic classes) and validate every
value as it is built; the emitters only build objects from values they made themselves, and
the strict lint checks the result against Argo's own schema afterwards, so nothing is lost by
building plain objects here. Values read from users' descriptors (Kubernetes volumes,
``valueFrom``) still go through Hera's models (``model_validate``), imported then.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, ClassVar


class Model:
    """An Argo object: the fields given, dumped in Hera's field order under their JSON names
    with ``None`` left out (Hera's ``model_dump(mode="json", by_alias=True,
    exclude_none=True)``)."""

    _fields: ClassVar[tuple[tuple[str, str], ...]] = ()
    _names: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls) -> None:
        # a field is given by its Python name or its JSON name (Hera's populate_by_name)
        cls._names = {**{alias: name for name, alias in cls._fields},
                      **{name: name for name, _ in cls._fields}}

    def __init__(self, **values: Any) -> None:
        names = self._names
        for key, value in values.items():
            name = names.get(key)
            if name is None:
                raise TypeError(f"{type(self).__name__} has no field {key!r}")
            self.__dict__[name] = value

    def __getattr__(self, name: str) -> Any:
        if name in type(self)._names:  # a field not given reads None, as in Hera
            return None
        raise AttributeError(f"{type(self).__name__} has no field {name!r}")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and dump(other) == dump(self)

    __hash__ = None  # type: ignore[assignment]  # mutable, as Hera's models

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dump(self)!r})"

    def model_dump(self, **_: Any) -> dict[str, Any]:
        return dump(self)

    def model_dump_json(self, exclude: set[str] | frozenset[str] = frozenset()) -> str:
        data = dump(self)
        return json.dumps({k: v for k, v in data.items() if k not in exclude},
                          separators=(",", ":"))

    @classmethod
    def model_validate(cls, data: Any) -> Model:
        """A user's value (a Kubernetes object) read as Hera reads it: Hera's model checks and
        normalises it (imported only here: few pipelines carry such values)."""
        from hera.workflows import models as hera_models

        model = getattr(hera_models, cls.__name__).model_validate(data)
        return _Dumped(model.model_dump(mode="json", by_alias=True, exclude_none=True))


class _Dumped(Model):
    """An object already in its JSON form."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__["_data"] = data

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


class Root:
    """A Kubernetes scalar type (IntOrString, Quantity): dumps as its value."""

    __slots__ = ("root",)

    def __init__(self, root: Any) -> None:
        self.root = root

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.root == self.root  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.root!r})"


def dump(value: Any) -> Any:
    """``value`` in its JSON form, as Hera's ``model_dump(mode="json", by_alias=True,
    exclude_none=True)`` gives it."""
    if isinstance(value, Model):
        if isinstance(value, _Dumped):
            return value.__dict__["_data"]
        given = value.__dict__
        return {alias: dump(given[name]) for name, alias in value._fields
                if given.get(name) is not None}
    if isinstance(value, Root):
        return dump(value.root)
    if isinstance(value, (list, tuple)):
        return [dump(v) for v in value]
    if isinstance(value, dict):
        return {k: dump(v) for k, v in value.items() if v is not None}
    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "model_dump") and not isinstance(value, type):  # one of Hera's models
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    return value
