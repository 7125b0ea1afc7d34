"""A small TCP proxy for fault tests: forwards 127.0.0.1:<port> to a target port until the
test cuts it (every connection closed, new ones refused) or freezes it (connections are
accepted and read, but nothing is forwarded or answered)."""

from __future__ import annotations

import contextlib
import select
import socket
import threading


class TcpProxy:
    def __init__(self, target_port: int):
        self.target = ("127.0.0.1", target_port)
        self.frozen = threading.Event()
        self.closed = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self.connections = 0
        self.port = 0
        self._listen()

    def _listen(self) -> None:
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", self.port))
        self.server.listen(64)
        self.port = int(self.server.getsockname()[1])
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            with self._lock:
                if self.closed.is_set():
                    client.close()
                    return
                self._sockets.add(client)
                self.connections += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = None
        try:
            if not self.frozen.is_set():
                upstream = socket.create_connection(self.target)
                with self._lock:
                    self._sockets.add(upstream)
            while not self.closed.is_set():
                if self.frozen.is_set():  # swallow what comes, answer nothing
                    ready, _, _ = select.select([client], [], [], 0.2)
                    if ready and not client.recv(65536):
                        return
                    continue
                assert upstream is not None
                ready, _, _ = select.select([client, upstream], [], [], 0.2)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is client else client).sendall(data)
        except OSError:
            return
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with self._lock:
                        self._sockets.discard(sock)
                    with contextlib.suppress(OSError):
                        sock.close()

    def freeze(self) -> None:
        """From now on: accept, read, never answer (a hung server)."""
        self.frozen.set()

    def cut(self) -> None:
        """Close every connection and stop listening (a killed server, a cut network)."""
        self.closed.set()
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the accept (Linux), frees the port
        with contextlib.suppress(OSError):
            self.server.close()
        with self._lock:
            for sock in list(self._sockets):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()
            self._sockets.clear()

    def restore(self) -> None:
        """Forward again, on the same port (the server is back)."""
        self.cut()
        self._thread.join(timeout=5)
        self.closed.clear()
        self.frozen.clear()
        self._listen()

    def close(self) -> None:
        self.cut()
        self._thread.join(timeout=5)
