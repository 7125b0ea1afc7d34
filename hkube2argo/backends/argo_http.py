"""The Argo Server REST client of the Argo backend (``argo.py``): JSON over HTTP/1.1, with
retries for reads and one-line errors for everything that goes wrong.

It is ``urllib`` from the standard library, not hera's ``WorkflowsService``:

- hera's service has no EventSource or Sensor endpoints, which ``pipeline store`` needs for
  ``triggers.pipelines``;
- it parses every answer into hera's models (Argo 3.x fields), while this backend reads
  only a few fields and sends, byte for byte, the manifests the compiler emitted and
  strictly linted (v4 fields included);
- retries, timeouts and one-line errors need control over each request: reads (GET) are
  retried with backoff, submissions never are.

It always speaks **plain HTTP/1.1 with JSON** (the grpc-gateway side of the Argo Server),
which is what ``ARGO_HTTP1=true`` selects in the argo CLI; there is no gRPC client here,
so ``ARGO_HTTP1`` is accepted and changes nothing.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.client import HTTPException
from typing import Any

from .base import BackendError, NotFound

TRIES = 3  # GET attempts
RETRY_STATUS = {429, 502, 503, 504}


class Conflict(BackendError):
    """409 from the Argo Server (already exists, or a stale resourceVersion)."""



class ArgoHttp:
    """JSON over HTTP/1.1 to the Argo Server; every failure is one BackendError line."""

    def __init__(self, base_url: str, token: str | None = None, *, verify: bool = True,
                 timeout: float = 30.0, tries: int = TRIES, backoff: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.tries = max(1, tries)
        self.backoff = backoff
        self.sleep = sleep
        handlers: list[Any] = []
        parsed = urllib.parse.urlsplit(self.base_url)
        if parsed.scheme == "https":
            context = ssl.create_default_context()
            if not verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            handlers.append(urllib.request.HTTPSHandler(context=context))
        if _loopback(parsed.hostname or ""):
            handlers.append(urllib.request.ProxyHandler({}))  # as Go's client: no proxy
        handlers.append(_NoRedirect())
        self.opener = urllib.request.build_opener(*handlers)

    def call(self, method: str, path: str, body: Any = None, *,
             missing: str | None = None) -> Any:
        """The decoded JSON answer. ``missing``: the NotFound message for a 404."""
        url = self.base_url + path
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = self.token
        tries = self.tries if method == "GET" else 1  # a submission is never sent twice
        for attempt in range(tries):
            last = attempt == tries - 1
            request = urllib.request.Request(url, data=data, method=method, headers=headers)
            try:
                with self.opener.open(request, timeout=self.timeout) as response:
                    raw = response.read()
                return json.loads(raw) if raw.strip() else {}
            except urllib.error.HTTPError as exc:
                text = _read_error(exc)
                if exc.code in RETRY_STATUS and not last:
                    self._wait(attempt)
                    continue
                if 300 <= exc.code < 400:
                    raise BackendError(
                        f"the Argo Server at {self.base_url} redirected {method} {path} to "
                        f"{exc.headers.get('Location') or '?'}: check ARGO_SECURE and "
                        "ARGO_BASE_HREF") from None
                raise self._http_error(method, path, exc.code, text, missing) from None
            except (urllib.error.URLError, OSError, HTTPException) as exc:
                reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
                if not last and not isinstance(reason, ssl.SSLError):
                    self._wait(attempt)
                    continue
                raise BackendError(self._network_error(method, path, reason)) from None
            except ValueError:
                raise BackendError(f"the Argo Server at {self.base_url} answered {method} "
                                   f"{path} with something that is not JSON (is "
                                   "ARGO_BASE_HREF right?)") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, attempt: int) -> None:
        self.sleep(self.backoff * (2 ** attempt))

    def _http_error(self, method: str, path: str, code: int, text: str,
                    missing: str | None) -> BackendError:
        message, argo = _argo_message(text)
        where = f"the Argo Server at {self.base_url}"
        if code == 401:
            hint = "" if (self.token or "").lower().startswith(("bearer ", "basic ")) else \
                ": set ARGO_TOKEN to the whole header value, 'Bearer <token>'"
            return BackendError(f"{where} rejected the credentials (401 Unauthorized: "
                                f"{message}){hint}")
        if code == 403:
            return BackendError(f"{where} refused {method} {path} (403 Forbidden: {message}): "
                                "the token's account lacks the permission")
        if code == 404 and argo:
            return NotFound(f"{missing}" if missing else f"not found: {message}")
        if code == 404:
            return BackendError(f"{where} has no {path} (404: {message}): is ARGO_BASE_HREF "
                                "right?")
        if code == 409:
            return Conflict(f"{where}: {method} {path}: 409 Conflict: {message}")
        return BackendError(f"{where} answered {code} to {method} {path}: {message}")

    def _network_error(self, method: str, path: str, reason: Any) -> str:
        where = f"the Argo Server at {self.base_url}"
        if isinstance(reason, TimeoutError | socket.timeout):
            text = f"{where} did not answer {method} {path} within {self.timeout:g} s"
            if method != "GET":
                text += ("; it may have been applied anyway: look before sending it again "
                         "(argo list)")
            return text
        if isinstance(reason, ssl.SSLError):
            return (f"TLS with {where} failed ({getattr(reason, 'reason', None) or reason}): "
                    "ARGO_SECURE=false for a plain-HTTP server, ARGO_INSECURE_SKIP_VERIFY=true "
                    "for a self-signed certificate")
        detail = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
        return (f"cannot reach {where} ({detail}): check ARGO_SERVER and that the server "
                "(or its port-forward) is running")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: urllib would turn a POST into a GET without its body."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read_error(exc: urllib.error.HTTPError) -> str:
    try:
        return exc.read().decode("utf-8", errors="replace")
    except (OSError, HTTPException):
        return ""
    finally:
        exc.close()


def _argo_message(text: str) -> tuple[str, bool]:
    """(message, whether the body is the Argo Server's own error object)."""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict) and ("message" in body or "error" in body):
        message = str(body.get("message") or body.get("error") or "").strip()
        return message or "no message", "code" in body
    text = " ".join(text.split())
    return (text[:300] or "no message"), False
