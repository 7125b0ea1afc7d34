"""A fake HKube API server on 127.0.0.1: the two store list calls ``migrate`` makes, with
HKube's shapes (``core/api-server/api/rest-api/routes/v1/store.js``): GET
``/store/pipelines`` returns every stored pipeline; GET ``/store/algorithms`` takes
``limit`` and, without it, returns at most ``default_limit`` (HKube's service defaults to
1,000; the fake uses a small cap so that a client that forgets ``limit`` is caught).
Errors come as HKube's ``{"error": {"code", "message"}}``; a token, when set, is required.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

PREFIX = "/hkube/api-server/api/v1"


class FakeHKube:
    def __init__(self, pipelines: list[dict[str, Any]], algorithms: list[dict[str, Any]],
                 token: str | None = None, default_limit: int = 10):
        self.pipelines = pipelines
        self.algorithms = algorithms
        self.token = token
        self.default_limit = default_limit
        self.requests: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:  # quiet tests
                pass

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                fake.requests.append(self.path)
                url = urlparse(self.path)
                if fake.token and self.headers.get("Authorization") != f"Bearer {fake.token}":
                    self._answer(401, {"error": {"code": 401, "message": "Unauthorized"}})
                    return
                if url.path == f"{PREFIX}/store/pipelines":
                    self._answer(200, fake.pipelines)
                elif url.path == f"{PREFIX}/store/algorithms":
                    limit = parse_qs(url.query).get("limit", [str(fake.default_limit)])[0]
                    self._answer(200, fake.algorithms[:int(limit)])
                else:
                    self._answer(404, {"error": {"code": 404, "message": "Not Found"}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hkube/api-server"

    def __enter__(self) -> FakeHKube:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
