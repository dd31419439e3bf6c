"""The wire connection (wire.py): bodies read as http.client reads them, requests
written in one piece, and a connection never reused past a broken answer."""

from __future__ import annotations

import http.client

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partyfuse.http.wire import WireConnection
from tests.support.wire_socks import PieceSock, wire_for
from tests.support.wire_socks import stock_answer as _stock

_cuts = st.lists(st.integers(1, 300), max_size=6)
_reads = st.lists(st.one_of(st.none(), st.integers(1, 90)), min_size=1, max_size=8)


@st.composite
def answers(draw: st.DrawFn) -> bytes:
    """An answer with a body framed by length, by chunks or by the connection's
    end; sometimes cut short, sometimes followed by more bytes."""
    body = draw(st.binary(max_size=200))
    framing = draw(st.sampled_from(["length", "chunked", "close"]))
    if framing == "length":
        data = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    elif framing == "chunked":
        sizes = draw(st.lists(st.integers(1, 60), max_size=5))
        out, pos = [], 0
        for size in sizes:
            piece = body[pos : pos + size]
            if not piece:
                break
            ext = draw(st.sampled_from([b"", b";x=1"]))
            out.append(b"%x%s\r\n%s\r\n" % (len(piece), ext, piece))
            pos += len(piece)
        trailer = draw(st.sampled_from([b"", b"X-T: 1\r\n"]))
        out.append(b"0\r\n" + trailer + b"\r\n")
        data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"".join(out)
    else:
        data = b"HTTP/1.0 200 OK\r\n\r\n" + body
    if draw(st.booleans()):
        data = data[: draw(st.integers(data.index(b"\r\n\r\n") + 4, len(data)))]
    return data


def _read_all(r: object, sizes: list[int | None]) -> tuple[bytes, str | None]:
    """Bytes read with ``sizes`` in turn (the last repeated), and the error that ended it."""
    out = b""
    i = 0
    try:
        while True:
            amt = sizes[min(i, len(sizes) - 1)]
            i += 1
            data = r.read(amt)  # type: ignore[attr-defined]
            out += data
            if not data or i > 10_000:
                return out, None
    except http.client.IncompleteRead as e:
        return out + e.partial, "IncompleteRead"


@given(answers(), _reads, _cuts)
def test_bodies_read_as_http_client_reads_them(data: bytes, sizes: list[int | None], cuts) -> None:
    conn = wire_for(PieceSock(data, cuts))
    conn.request("GET", "/x", headers={})
    mine = _read_all(conn.getresponse(), sizes)
    assert mine == _read_all(_stock(data), sizes)


def test_request_is_one_piece_with_host_and_identity() -> None:
    sock = PieceSock(b"HTTP/1.1 204 No Content\r\n\r\n")
    conn = wire_for(sock)
    conn.request("GET", "/a%20b?raw", headers={"Range": "bytes=0-3", "PW": b"p\xc3\xa5"})
    assert sock.sent == (
        b"GET /a%20b?raw HTTP/1.1\r\nHost: h\r\nRange: bytes=0-3\r\nPW: p\xc3\xa5\r\n"
        b"Accept-Encoding: identity\r\n\r\n"
    )
    assert conn.getresponse().status == 204


def test_a_body_goes_with_its_length() -> None:
    sock = PieceSock(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    conn = wire_for(sock)
    conn.request("POST", "/t", body=b"abc", headers={"Accept-Encoding": "gzip"})
    assert sock.sent.endswith(b"Accept-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc")


@pytest.mark.parametrize("target", ["/a b", "/a\r\nX: 1", "/\x00", "/\u00e9"])
def test_a_target_that_is_not_plain_ascii_is_refused(target: str) -> None:
    sock = PieceSock(b"")
    with pytest.raises(http.client.InvalidURL):
        wire_for(sock).request("GET", target, headers={})
    assert sock.sent == b""


@pytest.mark.parametrize("value", ["a\r\nX-Evil: 1", "a\nb", "a\rb", "a\x00b", b"a\r\nb"])
def test_a_header_that_would_end_early_is_refused(value: str | bytes) -> None:
    sock = PieceSock(b"")
    with pytest.raises(ValueError):
        wire_for(sock).request("GET", "/", headers={"PW": value})
    assert sock.sent == b""


class TurnSock(PieceSock):
    """A server's side of one connection: each request sent gets the next of
    ``turns`` (all of it in one piece)."""

    def __init__(self, turns: list[bytes]) -> None:
        super().__init__(b"")
        self._turns = turns

    def sendall(self, data: bytes) -> None:
        super().sendall(data)
        if self._turns:
            self._pieces.append(self._turns.pop(0))


class Sockets:
    """Hands out a new TurnSock per connect; each list of ``conns`` holds the
    answers one connection gives, in turn."""

    def __init__(self, *conns: list[bytes]) -> None:
        self.conns = list(conns)
        self.made: list[TurnSock] = []

    def __call__(self, conn: WireConnection) -> TurnSock:
        sock = TurnSock(self.conns.pop(0))
        self.made.append(sock)
        return sock


OK2 = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def _conn(socks: Sockets) -> WireConnection:
    return WireConnection("h", 80, host_header="h", timeout=1.0, open_socket=socks)


def test_keep_alive_carries_the_next_answer_on_the_same_socket() -> None:
    socks = Sockets([OK2, OK2])
    conn = _conn(socks)
    for _ in range(2):
        conn.request("GET", "/", headers={})
        assert conn.getresponse().read() == b"ok"
    assert len(socks.made) == 1


@pytest.mark.parametrize(
    "first",
    [
        OK2 + b"garbage",  # bytes past the answer's end
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ],
)
def test_a_connection_the_answer_ended_is_not_reused(first: bytes) -> None:
    socks = Sockets([first, OK2], [OK2])
    conn = _conn(socks)
    conn.request("GET", "/", headers={})
    assert conn.getresponse().read() == b"ok"
    assert conn.sock is None and socks.made[0].closed
    conn.request("GET", "/", headers={})
    assert conn.getresponse().read() == b"ok"
    assert len(socks.made) == 2


def test_an_answer_not_read_to_its_end_is_never_taken_for_the_next() -> None:
    socks = Sockets([b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody", OK2], [OK2])
    conn = _conn(socks)
    conn.request("GET", "/", headers={})
    assert conn.getresponse().read(2) == b"bo"
    conn.request("GET", "/", headers={})
    assert conn.getresponse().read() == b"ok"
    assert len(socks.made) == 2 and socks.made[0].closed


def test_a_body_cut_short_closes_the_connection() -> None:
    socks = Sockets([b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nbody", OK2], [OK2])
    conn = _conn(socks)
    conn.request("GET", "/", headers={})
    r = conn.getresponse()
    assert r.read(9) == b"body" and r.isclosed() and r.length == 5
    assert conn.sock is None and socks.made[0].closed
    conn.request("GET", "/", headers={})
    assert conn.getresponse().read() == b"ok"
    assert len(socks.made) == 2


def test_pipelined_requests_go_in_one_piece_and_answers_come_in_order() -> None:
    sock = PieceSock(OK2 + b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nend")
    conn = wire_for(sock)
    conn.request_many("GET", [("/a", {}), ("/b", {"Range": "bytes=0-1"})])
    assert sock.sent == (
        b"GET /a HTTP/1.1\r\nHost: h\r\nAccept-Encoding: identity\r\n\r\n"
        b"GET /b HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\nAccept-Encoding: identity\r\n\r\n"
    )
    assert conn.getresponse().read() == b"ok"
    assert conn.sock is sock  # the next answer's bytes are not taken for garbage
    assert conn.getresponse().read() == b"end"
    assert conn.sock is None  # it said the connection ends
    with pytest.raises(http.client.RemoteDisconnected):
        conn.getresponse()


def test_a_pipelined_answer_not_read_to_its_end_ends_the_rest() -> None:
    sock = PieceSock(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody" + OK2)
    conn = wire_for(sock)
    conn.request_many("GET", [("/a", {}), ("/b", {})])
    assert conn.getresponse().read(1) == b"b"
    with pytest.raises(http.client.RemoteDisconnected):
        conn.getresponse()
    assert sock.closed


@settings(max_examples=40)
@given(
    st.integers(0, 2),
    st.lists(st.integers(1, 200_000), max_size=6),
    st.lists(st.integers(1_000, 150_000), min_size=1, max_size=4),
)
def test_a_big_body_is_read_exactly_and_never_past_its_end(extra: int, cuts, sizes) -> None:
    # bodies of BIG_BODY and more go straight from the socket into the result
    body = bytes(range(256)) * 600  # 150 KiB
    first = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    conn = wire_for(PieceSock(first + OK2 * extra, cuts))
    conn.request_many("GET", [("/", {})] * (1 + extra))
    assert _read_all(conn.getresponse(), sizes) == (body, None)
    for _ in range(extra):
        assert conn.getresponse().read() == b"ok"
