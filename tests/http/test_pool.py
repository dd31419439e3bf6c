"""The connection pool (partyfuse/http/pool.py) against servers that misbehave
at the socket level: keep-alive sockets closed under us, bodies cut short,
compressed and unknown encodings, Retry-After dates."""

from __future__ import annotations

import email.utils
import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from partyfuse.core.errors import TransportError
from partyfuse.core.model import Entry
from partyfuse.http import RetryPolicy
from partyfuse.http.pool import Headers, retry_after

from .helpers import transport

DATA = bytes(range(256)) * 40
NO_RETRIES = RetryPolicy(retries=0, backoff=0.0)


def entry(size: int = len(DATA)) -> Entry:
    return Entry("f.bin", False, size, 1_700_000_000.0)


def answer(first: int, last: int, *, body: bytes | None = None) -> bytes:
    """A keep-alive 206 for bytes first..last of DATA (``body`` may cut it short)."""
    payload = DATA[first : last + 1] if body is None else body
    head = (
        "HTTP/1.1 206 Partial Content\r\n"
        f"Content-Range: bytes {first}-{last}/{len(DATA)}\r\n"
        f"Content-Length: {last - first + 1}\r\n"
        "\r\n"
    )
    return head.encode() + payload


class SocketServer:
    """One thread accepting connections on 127.0.0.1; ``handle(conn, n)`` serves
    connection number n (from 1).  Stopped by the fixture."""

    def __init__(self, handle: Callable[[socket.socket, int], None]) -> None:
        self.handle = handle
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.closed = threading.Event()
        self._current: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self._current = conn
            with conn:
                try:
                    self.handle(conn, self.connections)
                except OSError:
                    pass
            self.closed.set()

    def stop(self) -> None:
        # shutdown() wakes a thread blocked in accept() or recv(); close() does not
        for s in (self.sock, self._current):
            if s is not None:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.sock.close()
        self._thread.join(5)
        assert not self._thread.is_alive()


@pytest.fixture
def socket_server() -> Iterator[Callable[[Callable[[socket.socket, int], None]], SocketServer]]:
    servers: list[SocketServer] = []

    def start(handle: Callable[[socket.socket, int], None]) -> SocketServer:
        s = SocketServer(handle)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


def read_request(conn: socket.socket) -> tuple[int, int]:
    """The (first, last) of the Range in the next request on ``conn``."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("client went away")
        buf += chunk
    for line in buf.split(b"\r\n"):
        if line.lower().startswith(b"range: bytes="):
            first, last = line.split(b"=", 1)[1].split(b"-")
            return int(first), int(last)
    raise AssertionError(f"no Range in {buf!r}")


def test_a_keep_alive_socket_the_server_closed_is_not_reused(socket_server):
    # One answer per connection, then the server hangs up without saying
    # "Connection: close".  With no retries left, sending the next request on
    # that dead socket would fail: the pool must notice it and reconnect.
    def handle(conn: socket.socket, n: int) -> None:
        conn.sendall(answer(*read_request(conn)))

    server = socket_server(handle)
    t = transport(server.url, dialect="nginx", retry=NO_RETRIES)
    assert t.read_range("f.bin", 0, 100, entry()) == DATA[:100]
    assert server.closed.wait(5)
    assert t.read_range("f.bin", 100, 300, entry()) == DATA[100:300]
    assert server.connections == 2


def test_a_keep_alive_socket_closed_as_we_send_is_retried_on_a_new_one_at_once(socket_server):
    # The server's idle timeout races the next request: it reads the request
    # and hangs up without an answer.  That costs neither a retry nor a pause.
    def handle(conn: socket.socket, n: int) -> None:
        conn.sendall(answer(*read_request(conn)))
        if n == 1:
            read_request(conn)  # and close without answering

    server = socket_server(handle)
    slept: list[float] = []
    t = transport(server.url, dialect="nginx", retry=NO_RETRIES, sleep=slept.append)
    assert t.read_range("f.bin", 0, 100, entry()) == DATA[:100]
    assert t.read_range("f.bin", 100, 300, entry()) == DATA[100:300]
    assert server.connections == 2 and slept == []


def test_a_new_connection_that_hangs_up_is_an_error_without_retries(socket_server):
    def handle(conn: socket.socket, n: int) -> None:
        read_request(conn)  # and close without answering

    server = socket_server(handle)
    t = transport(server.url, dialect="nginx", retry=NO_RETRIES)
    with pytest.raises(TransportError, match="cannot reach"):
        t.read_range("f.bin", 0, 100, entry())
    assert server.connections == 1


def test_a_body_cut_short_is_retried_and_never_returned(socket_server):
    def handle(conn: socket.socket, n: int) -> None:
        first, last = read_request(conn)
        if n == 1:  # promises 1000 bytes, sends 10, hangs up
            conn.sendall(answer(first, last, body=DATA[first : first + 10]))
            return
        conn.sendall(answer(first, last))

    server = socket_server(handle)
    t = transport(server.url, dialect="nginx")
    assert t.read_range("f.bin", 0, 1000, entry()) == DATA[:1000]
    assert server.connections == 2


def test_a_body_always_cut_short_is_an_error(socket_server):
    def handle(conn: socket.socket, n: int) -> None:
        first, last = read_request(conn)
        conn.sendall(answer(first, last, body=DATA[first : first + 10]))

    server = socket_server(handle)
    t = transport(server.url, dialect="nginx")
    with pytest.raises(TransportError) as e:
        t.read_range("f.bin", 0, 1000, entry())
    assert "\n" not in str(e.value)
    assert server.connections == 3  # FAST policy: 2 retries


def test_a_gzip_listing_is_decoded(httpserver: HTTPServer):
    # nginx with "gzip on" compresses autoindex pages when asked to.
    body = json.dumps([{"name": "f.bin", "type": "file", "size": len(DATA),
                       "mtime": "Tue, 14 Nov 2023 22:13:20 GMT"}]).encode()  # fmt: skip
    seen = []

    def respond(request):
        seen.append(request.headers.get("Accept-Encoding", ""))
        return Response(
            gzip.compress(body),
            200,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )

    httpserver.expect_request("/").respond_with_handler(respond)
    t = transport(httpserver.url_for("/"), dialect="nginx")
    (e,) = t.list_dir("")
    assert (e.name, e.size) == ("f.bin", len(DATA))
    assert "gzip" in seen[0]


def test_file_bytes_in_an_unknown_encoding_are_an_error_not_content(httpserver: HTTPServer):
    def respond(request):
        return Response(
            b"\x00compressed?",
            206,
            headers={"Content-Encoding": "br", "Content-Range": f"bytes 0-11/{len(DATA)}"},
        )

    httpserver.expect_request("/f.bin").respond_with_handler(respond)
    t = transport(httpserver.url_for("/"), dialect="nginx")
    with pytest.raises(TransportError, match="Content-Encoding"):
        t.read_range("f.bin", 0, 12, entry())


def test_retry_after_takes_seconds_or_a_date_and_is_capped():
    assert retry_after("5", cap=10) == 5
    assert retry_after("3600", cap=10) == 10
    assert retry_after(None, cap=10) is None
    assert retry_after("soon", cap=10) is None
    later = email.utils.formatdate(time.time() + 4, usegmt=True)
    assert 2 <= (retry_after(later, cap=10) or 0) <= 4
    earlier = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert retry_after(earlier, cap=10) == 0


def test_response_headers_are_case_insensitive_and_keep_the_first_of_repeats():
    h = Headers([("Content-Range", "bytes 0-1/2"), ("ETag", '"a"'), ("etag", '"b"')])
    assert h.get("content-range") == h.get("CONTENT-RANGE") == "bytes 0-1/2"
    assert h.get("ETag") == '"a"'
    assert "content-range" in h and "Content-Encoding" not in h
    assert h.get("Content-Length") is None and h.get("Content-Length", "") == ""
