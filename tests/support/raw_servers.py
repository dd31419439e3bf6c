"""Raw-socket servers on 127.0.0.1, for misbehaviour no HTTP server library will do.

A head cut mid-line, a body that trickles one byte at a time, a request read
and never answered: these need the socket itself, so the test writes a
``handle(conn, n)`` and ``SocketServer`` runs it on a thread per connection
(``n`` counts connections from 1).  The ``socket_server`` fixture starts them
and stops every one in teardown; ``SocketServer`` can also be used alone
(stop it in a ``finally``).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

Handler = Callable[[socket.socket, int], None]


class SocketServer:
    """Listens on 127.0.0.1 (a free port) until ``stop``; ``handle(conn, n)`` serves
    connection n on a thread of its own and the connection is closed when it returns.
    Whatever a handler raises is kept in ``errors`` (a client going away included),
    for the tests that must see none."""

    def __init__(self, handle: Handler, backlog: int = 16) -> None:
        self.handle = handle
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=backlog)
        self.addr: tuple[str, int] = self.sock.getsockname()[:2]
        self.port = self.addr[1]
        self.connections = 0
        self.closed = threading.Event()
        """Set each time a handler returns (its connection is closed)."""
        self.errors: list[BaseException] = []
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self._conns.append(conn)
            th = threading.Thread(target=self._serve, args=(conn, self.connections), daemon=True)
            self._threads.append(th)
            th.start()

    def _serve(self, conn: socket.socket, n: int) -> None:
        try:
            with conn:
                self.handle(conn, n)
        except BaseException as e:  # noqa: BLE001 - kept for the test to check
            self.errors.append(e)
        self.closed.set()

    def stop(self) -> None:
        """Stop listening and end every connection; no thread of the server is left."""
        # shutdown() wakes a thread blocked in accept() or recv(); close() does not
        for s in (self.sock, *self._conns):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        for th in (self._accepter, *self._threads):
            th.join(5)
            assert not th.is_alive(), "a socket server thread outlived stop()"


@pytest.fixture
def socket_server() -> Iterator[Callable[[Handler], SocketServer]]:
    """``socket_server(handle)`` starts a SocketServer, stopped after the test."""
    servers: list[SocketServer] = []

    def start(handle: Handler) -> SocketServer:
        server = SocketServer(handle)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def read_head(conn: socket.socket) -> bytes:
    """The next request's bytes up to its blank line (and whatever came after it
    in the same reads); ConnectionError when the client went away first."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("client went away")
        buf += chunk
    return buf


def wait_for_hangup(conn: socket.socket) -> None:
    """Block until the client gives up (or the server's stop shuts the socket down)."""
    while conn.recv(4096):
        pass
