"""The answer reader (wire.py) against http.client's own, on the same bytes.

For every well-formed head the wire's response must end up where the stock
one does (status, reason, version, fields in order, chunked, length,
keep-alive), however the bytes are split between recv calls; where they
differ on purpose (a head cut short) the test says so.
"""

from __future__ import annotations

import http.client
import io
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partyfuse.http.head import MAX_LINES, Fields, HeadCut, plain_fields, read_fields
from tests.support.wire_socks import stock_answer as _stock
from tests.support.wire_socks import wire_answer as _wire


def _state(r: Any) -> tuple[object, ...]:
    return (
        r.status,
        r.reason,
        r.version,
        list(r.headers.items()),
        r.chunked,
        r.length,
        r.will_close,
        r.headers.get("content-type"),
        r.headers.get("x-missing", "dflt"),
    )


_token = st.text(
    alphabet=st.sampled_from(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_!#$%&'*+.^`|~"
    ),
    min_size=1,
    max_size=12,
)
_value = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=20,
)
_known = st.sampled_from(
    [
        "Content-Length",
        "content-length",
        "Transfer-Encoding",
        "Connection",
        "Keep-Alive",
        "Content-Type",
    ]
)
_known_value = st.sampled_from(
    ["12", "0", "-3", "x", "chunked", "Chunked", "close", "keep-alive", " 7 ", ""]
)


@st.composite
def heads(draw: st.DrawFn) -> bytes:
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/1.2"]))
    status = draw(st.sampled_from([200, 204, 206, 304, 404, 416, 500, 503]))
    eol = draw(st.sampled_from(["\r\n", "\n"]))
    lines = [f"{version} {status} {draw(st.sampled_from(['OK', 'Partial Content', '', 'x y']))}"]
    for _ in range(draw(st.integers(0, 8))):
        name = draw(st.one_of(_token, _known))
        value = draw(st.one_of(_value, _known_value))
        lines.append(f"{name}:{draw(st.sampled_from(['', ' ', '  ', chr(9)]))}{value}")
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(st.sampled_from([" ", "\t"])) + draw(_value))
    return ("".join(line + eol for line in lines) + eol).encode("iso-8859-1") + b"body"


_cuts = st.lists(st.integers(1, 400), max_size=6)


@given(heads(), st.sampled_from(["GET", "HEAD"]), _cuts)
def test_same_as_http_client(data: bytes, method: str, cuts: list[int]) -> None:
    assert _state(_wire(data, method, cuts)) == _state(_stock(data, method))


def test_body_follows_the_head() -> None:
    r = _wire(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbodyrest")
    assert r.read() == b"body"


@pytest.mark.parametrize("interim", [b"100 Continue", b"103 Early Hints"])
def test_an_interim_answer_is_skipped(interim: bytes) -> None:
    data = (
        b"HTTP/1.1 " + interim + b"\r\nX-A: 1\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    )
    r = _wire(data)
    assert (r.status, r.headers.items(), r.read()) == (200, [("Content-Length", "2")], b"ok")


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 200 OK\r\nContent-Type: appl",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",
        b"HTTP/1.1 404",
        b"HTTP/1.1 100 Continue\r\nX: 1",
    ],
)
def test_a_head_cut_short_is_an_error(data: bytes) -> None:
    with pytest.raises(HeadCut):
        _wire(data)


def test_limits_are_http_clients() -> None:
    ok = b"HTTP/1.1 200 OK\r\n" + b"X: 1\r\n" * (MAX_LINES - 1) + b"\r\n"
    assert len(_wire(ok).headers) == MAX_LINES - 1
    too_many = b"HTTP/1.1 200 OK\r\n" + b"X: 1\r\n" * MAX_LINES + b"\r\n"
    for begin in (_wire, _stock):
        with pytest.raises(http.client.HTTPException, match="more than"):
            begin(too_many)
    for long in (
        b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000 + b"\r\n\r\n",
        b"HTTP/1.1 200 " + b"a" * 70000 + b"\r\n\r\n",
    ):
        for begin in (_wire, _stock):
            with pytest.raises(http.client.LineTooLong):
                begin(long)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"HTTP/2.0 200 OK\r\n\r\n", http.client.UnknownProtocol),
        (b"", http.client.RemoteDisconnected),
        (b"hello\r\n\r\n", http.client.BadStatusLine),
        (b"HTTP/1.1 2x0 OK\r\n\r\n", http.client.BadStatusLine),
        (b"HTTP/1.1 99 OK\r\n\r\n", http.client.BadStatusLine),
        (b"HTTP/1.1\r\n\r\n", http.client.BadStatusLine),
    ],
)
def test_bad_status_lines_fail_as_in_http_client(data: bytes, error: type[Exception]) -> None:
    for begin in (_wire, _stock):
        with pytest.raises(error):
            begin(data)


def test_a_line_without_colon_is_dropped_not_the_rest() -> None:
    fields = read_fields(io.BufferedReader(io.BytesIO(b"X-A: 1\r\ngarbage\r\nX-B: 2\r\n\r\n")))
    assert fields == [("X-A", "1"), ("X-B", "2")]


def test_fields_lookup() -> None:
    f = Fields([("Set-Cookie", "a"), ("set-cookie", "b"), ("ETag", '"x"')])
    assert f.get("SET-COOKIE") == "a" and f.get_all("set-cookie") == ["a", "b"]
    assert f.get("nope") is None and f.get("nope", "d") == "d" and f.get_all("nope") is None
    assert "etag" in f and "nope" not in f and list(f) == ["Set-Cookie", "set-cookie", "ETag"]


_line = st.one_of(
    st.sampled_from(["A: 1", "b:2 ", " folded", "\tfolded", "", "no colon", "C:", ":"]),
    st.text(alphabet=st.sampled_from("aZ0-: \t\r\n\x00\xe9;="), max_size=12),
)


@given(st.lists(_line, max_size=8))
def test_the_plain_block_path_reads_what_read_fields_reads(lines: list[str]) -> None:
    block = "\r\n".join(lines).encode("iso-8859-1")
    fast = plain_fields(block)
    if fast is not None:
        assert fast == read_fields(io.BufferedReader(io.BytesIO(block + b"\r\n\r\n")))


def test_the_plain_block_path_takes_ordinary_heads() -> None:
    block = b'Content-Length: 4\r\nETag:  "x" \r\nX-Empty:\r\ngarbage\r\nA: b: c'
    assert plain_fields(block) == [
        ("Content-Length", "4"),
        ("ETag", '"x" '),
        ("X-Empty", ""),
        ("A", "b: c"),
    ]
