"""Model configuration shared by every descriptor model.

HKube validates with ajv (``coerceTypes: true``): ``"3"`` is accepted where an integer
is expected and numbers where strings are. Pydantic's lax mode plus
``coerce_numbers_to_str`` gives the same leniency. Field names are snake_case in Python
and HKube's camelCase on the wire.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class HKubeModel(BaseModel):
    """A closed HKube object: unknown keys are an error (``additionalProperties: false``)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        # Only HKube's camelCase names: a snake_case key is an unknown key like any other
        # (kept and warned about), never silently applied.
        populate_by_name=False,
        coerce_numbers_to_str=True,
        extra="forbid",
        frozen=True,
    )

    def wire(self) -> dict[str, Any]:
        """The object as HKube would store it: camelCase keys, unset optionals left out."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class OpenHKubeModel(HKubeModel):
    """An open HKube object: unknown keys pass and are kept (they reach the algorithm)."""

    model_config = ConfigDict(extra="allow")
    # Keys HKube's own server adds or that we accept without meaning; never "misspellings".
    quiet_keys: ClassVar[frozenset[str]] = frozenset()

    @property
    def extra_fields(self) -> dict[str, Any]:
        return dict(self.__pydantic_extra__ or {})
