"""Argo's template tags and the few expressions the emitters write, evaluated locally.

Only what hkube2argo emits is understood; anything else raises :class:`Unsupported`, so
a manifest that would behave differently on Argo never runs here silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_TAG = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_WHEN = re.compile(r"^\s*(-?\d+)\s*(<=|>=|==|!=|<|>)\s*(-?\d+)\s*$")
_RETRY = re.compile(r"^asInt\(lastRetry\.exitCode\)\s*(==|!=)\s*(-?\d+)$")
_AND = re.compile(r"\s*&&\s*")


class Unsupported(ValueError):
    """A manifest feature the local runner does not implement."""


class Unresolved(ValueError):
    """A tag with no value (Argo would fail the node the same way)."""


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace every ``{{name}}``; an unknown name is an error, as under Argo's strict
    prefixes (tasks., inputs.)."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("="):
            raise Unsupported(f"expression tag {{{{{name}}}}}")
        if name not in values:
            raise Unresolved(f"failed to resolve {{{{{name}}}}}")
        return values[name]

    return _TAG.sub(one, text)


def substitute_all(value: Any, values: Mapping[str, str]) -> Any:
    """Substitute inside strings of a JSON-like value (template fields)."""
    if isinstance(value, str):
        return substitute(value, values)
    if isinstance(value, list):
        return [substitute_all(v, values) for v in value]
    if isinstance(value, dict):
        return {k: substitute_all(v, values) for k, v in value.items()}
    return value


def when(expression: str) -> bool:
    """``when`` after substitution: one numeric comparison (what wait-any groups use)."""
    match = _WHEN.match(expression)
    if not match:
        raise Unsupported(f"when expression {expression!r}")
    left, op, right = int(match.group(1)), match.group(2), int(match.group(3))
    return {"<=": left <= right, ">=": left >= right, "==": left == right,
            "!=": left != right, "<": left < right, ">": left > right}[op]


def _retry_terms(expression: str) -> list[tuple[str, int]]:
    """``asInt(lastRetry.exitCode) OP N``, possibly several joined by ``&&``."""
    terms = []
    for part in _AND.split(expression.strip()):
        match = _RETRY.match(part)
        if not match:
            raise Unsupported(f"retryStrategy expression {expression!r}")
        terms.append((match.group(1), int(match.group(2))))
    return terms


def check_retry_expression(expression: str | None) -> None:
    if expression is not None:
        _retry_terms(expression)


def should_retry(strategy: Mapping[str, Any] | None, attempt: int, exit_code: int) -> bool:
    """Argo's retryStrategy for one failed attempt (``attempt`` counts from 0)."""
    if not strategy:
        return False
    limit = int(str(strategy.get("limit", "0")))
    if attempt >= limit:
        return False
    policy = strategy.get("retryPolicy", "OnFailure")
    if policy not in ("Always", "OnFailure", "OnError"):
        raise Unsupported(f"retryPolicy {policy}")
    expression = strategy.get("expression")
    if expression is None:
        return True
    return all((exit_code == code) if op == "==" else (exit_code != code)
               for op, code in _retry_terms(expression))


def retry_verdict(strategy: Mapping[str, Any] | None, attempt: int, exit_code: int,
                  phase: str) -> tuple[bool, str | None]:
    """operator.go ``processNodeRetries`` after attempt ``attempt`` (from 0) ended in
    ``phase`` (Failed or Error): whether to run another, and else the Retry node's message
    (None: the last attempt's own). The checks in Argo's order: the policy for the phase
    (``RetryPolicyActual``: OnFailure, or Always with an expression), the limit ("No more
    retries left"), the expression on ``lastRetry.exitCode``."""
    if not strategy:
        return False, None
    policy = strategy.get("retryPolicy") or ("Always" if strategy.get("expression")
                                             else "OnFailure")
    if policy not in ("Always", "OnFailure", "OnError"):
        raise Unsupported(f"retryPolicy {policy}")
    on_failed, on_error = policy in ("Always", "OnFailure"), policy in ("Always", "OnError")
    if (phase == "Failed" and not on_failed) or (phase == "Error" and not on_error):
        return False, None
    if "limit" in strategy and attempt + 1 > int(str(strategy["limit"])):
        return False, "No more retries left"
    expression = strategy.get("expression")
    if expression is not None and not all(
            (exit_code == code) if op == "==" else (exit_code != code)
            for op, code in _retry_terms(expression)):
        return False, "retryStrategy.expression evaluated to false"
    return True, None
