"""The connection pool (partyfuse/http/pool.py) against servers that misbehave
at the socket level: keep-alive sockets closed under us, bodies cut short,
compressed and unknown encodings, Retry-After dates."""

from __future__ import annotations

import email.utils
import errno
import gzip
import json
import socket
import time
from collections.abc import Callable

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from partyfuse.core.errors import TimedOut, Transient, TransportError
from partyfuse.core.model import Entry
from partyfuse.http import HttpTransport, RetryPolicy
from partyfuse.http.pool import Headers, call_scope, retry_after
from partyfuse.http.retry import fit_call_timeout, kernel_request_timeout
from tests.support.raw_servers import read_head, wait_for_hangup
from tests.support.transports import FAST, transport

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


def read_request(conn: socket.socket) -> tuple[int, int]:
    """The (first, last) of the Range in the next request on ``conn``."""
    head = read_head(conn)
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"range: bytes="):
            first, last = line.split(b"=", 1)[1].split(b"-")
            return int(first), int(last)
    raise AssertionError(f"no Range in {head!r}")


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


# -- a bound on every call ----------------------------------------------------
#
# A SHORT call timeout (DEADLINE) against read timeouts far longer: each test
# fails (takes READ_TIMEOUT or more per attempt) without the overall bound.
# The upper bounds below are loose on purpose: they prove "no hang", not speed.

DEADLINE = 1.5
READ_TIMEOUT = 30.0
SLACK = 3.0


def bounded(url: str, **kw) -> HttpTransport:
    kw.setdefault("read_timeout", READ_TIMEOUT)
    kw.setdefault("call_timeout", DEADLINE)
    return transport(url, dialect="nginx", **kw)


def took(fn: Callable[[], object]) -> tuple[BaseException | None, float]:
    t0 = time.monotonic()
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - returned for the test to check
        return e, time.monotonic() - t0
    return None, time.monotonic() - t0


def never_answers(conn: socket.socket, n: int) -> None:
    read_request(conn)
    wait_for_hangup(conn)


def never_reads(conn: socket.socket, n: int) -> None:
    """Accepts, then neither reads nor answers."""
    wait_for_hangup(conn)


def trickles_the_body(conn: socket.socket, n: int) -> None:
    """The head at once, then a byte every 50 ms: each comes well within the
    read timeout; the whole never does."""
    reply = answer(*read_request(conn))
    head = reply.index(b"\r\n\r\n") + 4
    conn.sendall(reply[:head])
    for i in range(head, len(reply)):
        conn.sendall(reply[i : i + 1])
        time.sleep(0.05)


def trickles_the_head(conn: socket.socket, n: int) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 206 Partial Content\r\nX-Slow: ")
    for _ in range(1000):
        conn.sendall(b"a")
        time.sleep(0.05)


def read_1000(t: HttpTransport) -> object:
    return t.read_range("f.bin", 0, 1000, entry())


def list_root(t: HttpTransport) -> object:
    return t.list_dir("")


@pytest.mark.parametrize(
    ("handle", "call", "retry"),
    [
        pytest.param(never_answers, read_1000, FAST, id="never-answers"),
        pytest.param(never_reads, list_root, FAST, id="accepted-never-read"),
        pytest.param(trickles_the_body, read_1000, FAST, id="trickling-body"),
        pytest.param(trickles_the_head, read_1000, FAST, id="trickling-headers"),
        # the transport's retries of a broken body must not each get a fresh bound
        pytest.param(
            trickles_the_body,
            read_1000,
            RetryPolicy(retries=5, backoff=0.0),
            id="body-retries-share-one-bound",
        ),
    ],
)
def test_a_call_the_server_stalls_fails_within_the_bound(socket_server, handle, call, retry):
    server = socket_server(handle)
    t = bounded(server.url, retry=retry)
    err, secs = took(lambda: call(t))
    assert isinstance(err, TimedOut), err
    assert err.errno == errno.ETIMEDOUT
    assert secs < DEADLINE + SLACK


def always(reply: bytes) -> Callable[[socket.socket, int], None]:
    """A handler that answers every request on a connection with ``reply``."""

    def handle(conn: socket.socket, n: int) -> None:
        while True:
            read_request(conn)
            conn.sendall(reply)

    return handle


def test_retry_after_longer_than_the_bound_is_not_waited_for(socket_server):
    server = socket_server(
        always(b"HTTP/1.1 503 Busy\r\nRetry-After: 8\r\nContent-Length: 4\r\n\r\nbusy")
    )
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        time.sleep(s)

    policy = RetryPolicy(retries=5, backoff=0.01, max_retry_after=10.0)
    t = bounded(server.url, retry=policy, sleep=sleep)
    err, secs = took(lambda: t.read_range("f.bin", 0, 10, entry()))
    assert isinstance(err, TransportError) and "503" in str(err), err
    assert secs < DEADLINE + SLACK
    assert sum(slept) <= DEADLINE


@pytest.mark.parametrize("status", [429, 503])
def test_a_short_retry_after_is_waited_for_then_the_answer_comes(socket_server, status):
    def handle(conn: socket.socket, n: int) -> None:
        first, last = read_request(conn)
        conn.sendall(
            f"HTTP/1.1 {status} Busy\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n".encode()
        )
        conn.sendall(answer(*read_request(conn)))

    server = socket_server(handle)
    slept: list[float] = []
    t = bounded(server.url, call_timeout=10.0, sleep=slept.append)
    assert t.read_range("f.bin", 0, 100, entry()) == DATA[:100]
    assert slept == [1.0]


def test_calls_inside_one_scope_share_its_bound(socket_server):
    # a FUSE operation that makes several calls (a lookup, then a read) is
    # bounded as a whole when it runs inside call_scope()
    def handle(conn: socket.socket, n: int) -> None:
        while True:
            first, last = read_request(conn)
            time.sleep(0.6)
            conn.sendall(answer(first, last))

    server = socket_server(handle)
    t = bounded(server.url, call_timeout=1.0)
    assert t.read_range("f.bin", 0, 10, entry()) == DATA[:10]  # alone: within the bound
    with call_scope():
        assert t.read_range("f.bin", 0, 10, entry()) == DATA[:10]
        err, _ = took(lambda: t.read_range("f.bin", 10, 20, entry()))
    assert isinstance(err, TimedOut), err
    assert t.read_range("f.bin", 20, 30, entry()) == DATA[20:30]  # a new call, a new bound


def test_the_bound_is_kept_below_the_kernels_fuse_request_timeout(tmp_path):
    d = tmp_path / "fuse"
    d.mkdir()
    (d / "default_request_timeout").write_text("0\n")
    (d / "max_request_timeout").write_text("0\n")
    assert kernel_request_timeout(d) is None
    assert fit_call_timeout(60.0, d) == 60.0
    (d / "default_request_timeout").write_text("40\n")
    assert kernel_request_timeout(d) == 40
    assert fit_call_timeout(60.0, d) < 40
    assert fit_call_timeout(5.0, d) == 5.0
    (d / "max_request_timeout").write_text("20\n")
    assert kernel_request_timeout(d) == 20
    assert fit_call_timeout(60.0, d) < 20
    assert fit_call_timeout(60.0, tmp_path / "missing") == 60.0


def test_a_server_busy_past_the_retries_is_a_one_line_transient_error(socket_server):
    server = socket_server(always(b"HTTP/1.1 429 Slow down\r\nContent-Length: 0\r\n\r\n"))
    t = bounded(server.url, retry=RetryPolicy(retries=2, backoff=0.01))
    with pytest.raises(Transient, match=r"busy \(HTTP 429") as e:
        t.read_range("f.bin", 0, 10, entry())
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("seconds", [0, -1.0, float("nan")])
def test_a_call_timeout_that_is_not_positive_is_refused(seconds):
    with pytest.raises(ValueError, match="call timeout"):
        HttpTransport("http://127.0.0.1:9/", call_timeout=seconds)
