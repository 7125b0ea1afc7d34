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
_RETRY_MESSAGE = re.compile(r"^lastRetry\.message\s*(==|!=)\s*'([^'\\]*)'$")
_AND = re.compile(r"\s*&&\s*")
_OR = re.compile(r"\s*\|\|\s*")


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


Term = tuple[str, str, int | str]  # (exitCode | message, operator, value)


def _retry_terms(expression: str) -> list[list[Term]]:
    """The emitters' retry expressions: terms ``asInt(lastRetry.exitCode) OP N`` and
    ``lastRetry.message OP 'text'`` (OP ``==`` or ``!=``), joined by ``&&`` within
    groups and ``||`` between them (expr's precedence: ``&&`` binds tighter)."""
    groups = []
    for alternative in _OR.split(expression.strip()):
        terms: list[Term] = []
        for part in _AND.split(alternative):
            code, message = _RETRY.match(part), _RETRY_MESSAGE.match(part)
            if code:
                terms.append(("exitCode", code.group(1), int(code.group(2))))
            elif message:
                terms.append(("message", message.group(1), message.group(2)))
            else:
                raise Unsupported(f"retryStrategy expression {expression!r}")
        groups.append(terms)
    return groups


def check_retry_expression(expression: str | None) -> None:
    if expression is not None:
        _retry_terms(expression)


def should_retry(strategy: Mapping[str, Any] | None, attempt: int, exit_code: int,
                 message: str = "") -> bool:
    """Argo's retryStrategy for one failed attempt (``attempt`` counts from 0), as
    workflow/controller/operator.go ``processNodeRetries`` decides it: the policy, then the
    limit, then ``expression`` over ``lastRetry.exitCode`` and ``lastRetry.message`` (the
    node's message: the kubelet's for a pod killed at its deadline; see
    ``buildRetryStrategyLocalScope``)."""
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
    return _holds(expression, exit_code, message)


def _holds(expression: str, exit_code: int, message: str) -> bool:
    seen = {"exitCode": exit_code, "message": message}
    return any(all((seen[what] == value) == (op == "==") for what, op, value in group)
               for group in _retry_terms(expression))


def retry_verdict(strategy: Mapping[str, Any] | None, attempt: int, exit_code: int,
                  phase: str, message: str = "") -> tuple[bool, str | None]:
    """operator.go ``processNodeRetries`` after attempt ``attempt`` (from 0) ended in
    ``phase`` (Failed or Error): whether to run another, and else the Retry node's message
    (None: the last attempt's own). The checks in Argo's order: the policy for the phase
    (``RetryPolicyActual``: OnFailure, or Always with an expression), the limit ("No more
    retries left"), the expression on ``lastRetry.exitCode`` and ``lastRetry.message``
    (the node's message: the kubelet's for a pod killed at its deadline; see
    ``buildRetryStrategyLocalScope``)."""
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
    if expression is not None and not _holds(expression, exit_code, message):
        return False, "retryStrategy.expression evaluated to false"
    return True, None
