"""HKube cron patterns (npm ``cron`` 1.8.2) to Argo's 5-field cron.

HKube's library takes an optional leading seconds field and counts months from 0;
Argo (robfig/cron ``ParseStandard``) has no seconds and counts months from 1. So a
seconds field that is one value is dropped (the schedule keeps its minutes), anything
that fires more than once a minute is refused, and numeric months move up by one.

Every field is checked against HKube's own bounds first (npm ``cron`` 1.8.2 ``_parseField``:
ranges must run upwards, steps are 1 or more, names only in the month and weekday fields),
because croniter accepts patterns that Argo's parser (robfig/cron) rejects, such as
``1-7`` weekdays, backwards ranges or ``L``: those would compile and then fail on apply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_FIELD = re.compile(r"^[A-Za-z0-9*,/-]+$")
# Argo's v4 CRD pattern for one schedule (argo-notes section 5).
ARGO_SCHEDULE = re.compile(
    r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)"
    r"|@every\s+([0-9]+(ns|us|µs|ms|s|m|h))+"
    r"|([A-Za-z0-9*,/?-]+\s+){4}[A-Za-z0-9*,/?-]+)$")


MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
               "dec")  # npm cron 1.8.2 aliases: jan = 0 .. dec = 11
WEEKDAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # sun = 0 .. sat = 6


class CronError(ValueError):
    """A pattern that cannot become an Argo schedule; the message says why."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int  # HKube's bounds (npm cron 1.8.2 CronTime.constraints)
    names: tuple[str, ...] = ()


_FIELDS = (_Field("minute", 0, 59), _Field("hour", 0, 23), _Field("day of month", 1, 31),
           _Field("month", 0, 11, MONTH_NAMES), _Field("weekday", 0, 6, WEEKDAY_NAMES))


def _bound(text: str, field: _Field) -> int:
    if text.isdigit():
        return int(text)
    if text.isalpha() and field.names:
        if text.lower() in field.names:
            return field.names.index(text.lower())
        raise CronError(f"'{text}' is not a {field.name} name "
                        f"({field.names[0].upper()}..{field.names[-1].upper()})")
    raise CronError(f"{field.name} '{text}' is not a number (names such as JAN or MON are "
                    "allowed in the month and weekday fields only)")


def _check_atom(atom: str, field: _Field) -> None:
    """One list element against HKube's rules; raises CronError with the reason."""
    base, slash, step = atom.partition("/")
    if slash and not (step.isdigit() and int(step) > 0):
        raise CronError(f"{field.name} '{atom}': a step must be a whole number of 1 or more")
    if base == "*":
        return
    if "*" in base:
        raise CronError(f"{field.name} '{atom}': * stands alone (write * or */step)")
    bounds = base.split("-")
    if len(bounds) > 2 or not all(bounds):
        raise CronError(f"{field.name} '{atom}' is not a value, a range or a step")
    values = [_bound(b, field) for b in bounds]
    if field.name == "weekday" and atom == "7":
        return  # a lone 7 is Sunday in standard cron; converted to 0 below
    for value in values:
        if field.name == "month" and not field.low <= value <= field.high:
            raise CronError(f"month {value} is out of range: HKube's cron counts months "
                            "0-11 (0 = January)")
        if not field.low <= value <= field.high:
            note = " (0 = Sunday)" if field.name == "weekday" else ""
            raise CronError(f"{field.name} {value} is out of range "
                            f"{field.low}-{field.high}{note}")
    if len(values) == 2 and values[0] > values[1]:
        raise CronError(f"{field.name} range '{base}' runs backwards: write the two parts as "
                        "a list, e.g. 5-6,0-1 (HKube's cron rejects it too)")


def _shift_month_atom(atom: str) -> str:
    """One list element of the month field: numbers move from 0-11 to 1-12."""
    base, slash, step = atom.partition("/")
    if base == "*":
        return atom  # */n from January is the same set of months either way
    bounds = base.split("-")
    if len(bounds) > 2 or not all(bounds):
        raise CronError(f"month '{atom}' is not a value, a range or a step")
    shifted = []
    for bound in bounds:
        if bound.isdigit():
            month = int(bound)
            if not 0 <= month <= 11:
                raise CronError(f"month {month} is out of range: HKube's cron counts months "
                                "0-11 (0 = January)")
            shifted.append(str(month + 1))
        elif bound.isalpha():
            shifted.append(bound.upper())  # JAN..DEC are the same in both
        else:
            raise CronError(f"month '{bound}' is not a number 0-11 or a name")
    return "-".join(shifted) + (slash + step if slash else "")


def _single_second(field: str) -> bool:
    return field.isdigit() and 0 <= int(field) <= 59


def to_argo(pattern: str) -> str:
    """The Argo schedule for an HKube pattern; raises CronError with the reason."""
    text = " ".join(pattern.split())
    if not text:
        raise CronError("the cron pattern is empty")
    if text.startswith("@"):
        if text.lower() in MACROS:
            return text.lower()
        raise CronError(f"'{text}' is not a cron macro (known: {', '.join(MACROS)})")
    fields = text.split(" ")
    if len(fields) not in (5, 6):
        raise CronError(f"'{text}' has {len(fields)} fields; write 5 (minute hour day month "
                        "weekday) or 6 with leading seconds")
    for field in fields:
        if not _FIELD.match(field):
            raise CronError(f"'{field}' is not a cron field (digits, names, * , - / only)")
    if len(fields) == 6:
        seconds, fields = fields[0], fields[1:]
        if seconds.isdigit() and not _single_second(seconds):
            raise CronError(f"second {int(seconds)} is out of range 0-59")
        if not _single_second(seconds):
            raise CronError(f"seconds field '{seconds}' fires more than once a minute; Argo "
                            "schedules at minute precision: use a single second such as 0")
    for field, spec in zip(fields, _FIELDS, strict=True):
        for atom in field.split(","):
            _check_atom(atom, spec)
    minute, hour, day, month, weekday = fields
    month = ",".join(_shift_month_atom(atom) for atom in month.split(","))
    weekday = ",".join("0" if atom == "7" else atom for atom in weekday.split(","))
    result = " ".join((minute, hour, day, month, weekday))
    _check(result, text)
    return result


def _check(schedule: str, original: str) -> None:
    from croniter import croniter  # deferred: only the compile and validate paths need it

    if not ARGO_SCHEDULE.match(schedule) or not croniter.is_valid(schedule):
        raise CronError(f"'{original}' is not a valid cron pattern")
