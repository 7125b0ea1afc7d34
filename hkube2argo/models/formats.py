"""HKube's value formats (api-server ``custom-formats.js``, ``consts/regex.js``,
``@hkube/units-converter``), as plain functions the models and the planner share."""

from __future__ import annotations

import re

PIPELINE_NAME = r"^[:\-_.A-Za-z0-9]+$"
EXPERIMENT_NAME = r"^[:\-_.A-Za-z0-9]+$"
ALGORITHM_NAME = r"^[a-z0-9][-a-z0-9\.]*[a-z0-9]$"
ALGORITHM_IMAGE = r"^\S*$"
URL = r"(?i)^(f|ht)tps?://"

MIN_MEMORY_MI = 4.0

# Bytes per unit, as @hkube/units-converter knows them (no P/Pi/E/Ei, no bare number).
_MEMORY_UNITS: dict[str, float] = {
    "m": 1e-3,
    "K": 1e3,
    "Ki": 1024.0,
    "M": 1e6,
    "Mi": 1024.0**2,
    "G": 1e9,
    "Gi": 1024.0**3,
    "T": 1e12,
    "Ti": 1024.0**4,
}
_MEMORY_RX = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*([A-Za-z]+)\s*$")
MEMORY_UNITS_TEXT = ", ".join(_MEMORY_UNITS)


def memory_mi(value: str) -> float:
    """Memory in MiB; raises ValueError with the allowed forms when the unit is missing."""
    match = _MEMORY_RX.match(value)
    if not match:
        raise ValueError(f"'{value}' is not a memory size: write a number with a unit "
                         f"({MEMORY_UNITS_TEXT}), e.g. 512Mi")
    number, unit = match.groups()
    if unit not in _MEMORY_UNITS:
        raise ValueError(f"'{value}' has unit '{unit}'; allowed units are {MEMORY_UNITS_TEXT}")
    return float(number) * _MEMORY_UNITS[unit] / _MEMORY_UNITS["Mi"]


def check_algorithm_memory(value: str) -> str:
    """HKube's ``algorithm-memory`` format: a size with a unit, at least 4Mi."""
    mi = memory_mi(value)
    if mi < MIN_MEMORY_MI:
        raise ValueError(f"'{value}' is below the minimum of {MIN_MEMORY_MI:g}Mi")
    return value
