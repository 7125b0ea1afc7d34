"""A small Kubernetes API client for the pod runner and tools/argo-here (standard library only).

Only what a kubelet-like process needs: JSON requests with a bearer token over TLS checked
against the cluster's CA, JSON merge patches, and watches read line by line. Every request
has a timeout; a watch ends after ``timeoutSeconds`` and the caller starts another.
"""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


class ApiError(Exception):
    """A non-2xx answer: ``status`` is the HTTP code, ``body`` the decoded Status if any."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        message = body.get("message") if isinstance(body, dict) else body
        super().__init__(f"{method} {path}: HTTP {status}: {message}")
        self.status = status
        self.body = body


@dataclass
class KubeClient:
    """Talks to one API server as one identity (a bearer token)."""

    host: str
    port: int
    token: str
    ca_file: str
    timeout: float = 30.0

    def _context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca_file)
        return ctx

    def _connect(self, timeout: float) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            self.host, self.port, context=self._context(), timeout=timeout)

    def request(self, method: str, path: str, body: Any = None,
                content_type: str = "application/json",
                query: dict[str, Any] | None = None) -> Any:
        """One request; returns the decoded JSON answer or raises ApiError."""
        if query:
            path = f"{path}?{urllib.parse.urlencode(query)}"
        conn = self._connect(self.timeout)
        try:
            headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
            data = None
            if body is not None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                headers["Content-Type"] = content_type
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            decoded: Any = json.loads(raw) if raw else None
        except ValueError:
            decoded = raw.decode(errors="replace")
        if resp.status >= 300:
            raise ApiError(method, path, resp.status, decoded)
        return decoded

    def get(self, path: str, **query: Any) -> Any:
        return self.request("GET", path, query=query or None)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, body)

    def merge_patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, body, content_type="application/merge-patch+json")

    def delete(self, path: str, body: Any = None) -> Any:
        return self.request("DELETE", path, body)

    def watch(self, path: str, resource_version: str, timeout_seconds: int = 240
              ) -> Iterator[dict[str, Any]]:
        """Yield watch events (``{"type": ..., "object": ...}``) until the server ends the watch.

        The socket timeout is a little longer than the server-side ``timeoutSeconds`` so a
        silent connection cannot hang the caller.
        """
        query = urllib.parse.urlencode({
            "watch": "1", "resourceVersion": resource_version,
            "allowWatchBookmarks": "true", "timeoutSeconds": str(timeout_seconds)})
        conn = self._connect(timeout_seconds + 30)
        try:
            conn.request("GET", f"{path}?{query}",
                         headers={"Authorization": f"Bearer {self.token}",
                                  "Accept": "application/json"})
            resp = conn.getresponse()
            if resp.status >= 300:
                raise ApiError("WATCH", path, resp.status, resp.read().decode(errors="replace"))
            while True:
                line = resp.readline()
                if not line:
                    return
                if line.strip():
                    yield json.loads(line)
        finally:
            conn.close()
