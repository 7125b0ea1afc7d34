"""A private network namespace for argo-here, and TCP forwards into it from 127.0.0.1.

Argo's binaries listen on every interface at fixed ports (workflow-controller's healthz on
``:6060`` in cmd/workflow-controller/main.go, metrics on ``:9090``, the argo server on
``:<port>`` in server/apiserver/argoserver.go ``Run``) and none of them can be told to bind to
127.0.0.1. So the supervisor moves itself, and everything it starts, into a new network
namespace that has only a loopback interface: nothing is reachable from outside the machine,
two argo-here instances never collide on a port, and the few ports the user needs (argo
server, S3, API server) are forwarded from listeners that were opened on the host's 127.0.0.1
*before* the move (a socket keeps the namespace it was created in).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import socket
import struct
import threading

log = logging.getLogger("netns")

CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def enter_new_netns() -> None:
    """unshare(CLONE_NEWNET) for this process (call before starting threads), then bring
    ``lo`` up, as a fresh namespace has it down."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare(CLONE_NEWNET): {__import__('os').strerror(err)}")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(s, SIOCGIFFLAGS, ifr))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", flags | IFF_UP, b""))


def host_listener() -> socket.socket:
    """A listening socket on the host's 127.0.0.1 at a free port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    return s


def forward(listener: socket.socket, target_port: int, stop: threading.Event) -> None:
    """Accept on ``listener`` (host side) and splice each connection to 127.0.0.1:target_port
    in the current (private) namespace. Runs until ``stop`` is set."""
    listener.settimeout(0.5)
    while not stop.is_set():
        try:
            client, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        threading.Thread(target=_splice, args=(client, target_port), daemon=True).start()


def _splice(client: socket.socket, port: int) -> None:
    try:
        upstream = socket.create_connection(("127.0.0.1", port), timeout=10)
    except OSError as e:
        log.warning("forward to :%d failed: %s", port, e)
        client.close()
        return
    upstream.settimeout(None)
    client.settimeout(None)

    def pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                b.shutdown(socket.SHUT_WR)

    t = threading.Thread(target=pump, args=(upstream, client), daemon=True)
    t.start()
    pump(client, upstream)
    t.join()
    client.close()
    upstream.close()
