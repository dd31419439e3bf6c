"""The head reader against http.client's own, on the same bytes.

For every well-formed head the fast response must end up where the stock one
does (status, reason, version, fields in order, chunked, length, keep-alive);
where they differ on purpose (a head cut short) the test says so.
"""

from __future__ import annotations

import http.client
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partyfuse.http.head import MAX_LINES, FastHeadResponse, Fields, HeadCut, read_fields


class _Sock:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self._data))


def _begin(
    cls: type[http.client.HTTPResponse], data: bytes, method: str = "GET"
) -> http.client.HTTPResponse:
    r = cls(_Sock(data), method=method)  # type: ignore[arg-type]
    r.begin()
    return r


def _state(r: http.client.HTTPResponse) -> tuple[object, ...]:
    return (
        r.status,
        r.reason,
        r.version,
        list(r.headers.items()),
        r.chunked,  # type: ignore[attr-defined]
        r.length,
        r.will_close,
        r.getheader("content-type"),
        r.getheader("x-missing", "dflt"),
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


@given(heads(), st.sampled_from(["GET", "HEAD"]))
def test_same_as_http_client(data: bytes, method: str) -> None:
    assert _state(_begin(FastHeadResponse, data, method)) == _state(
        _begin(http.client.HTTPResponse, data, method)
    )


def test_body_follows_the_head() -> None:
    r = _begin(FastHeadResponse, b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbodyrest")
    assert r.read() == b"body"


def test_a_100_answer_is_skipped() -> None:
    data = b"HTTP/1.1 100 Continue\r\nX-A: 1\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    r = _begin(FastHeadResponse, data)
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
        _begin(FastHeadResponse, data)


def test_limits_are_http_clients() -> None:
    ok = b"HTTP/1.1 200 OK\r\n" + b"X: 1\r\n" * (MAX_LINES - 1) + b"\r\n"
    assert len(_begin(FastHeadResponse, ok).headers) == MAX_LINES - 1
    too_many = b"HTTP/1.1 200 OK\r\n" + b"X: 1\r\n" * MAX_LINES + b"\r\n"
    for cls in (FastHeadResponse, http.client.HTTPResponse):
        with pytest.raises(http.client.HTTPException, match="more than"):
            _begin(cls, too_many)
    long = b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000 + b"\r\n\r\n"
    with pytest.raises(http.client.LineTooLong):
        _begin(FastHeadResponse, long)


def test_unknown_protocol() -> None:
    with pytest.raises(http.client.UnknownProtocol):
        _begin(FastHeadResponse, b"HTTP/2.0 200 OK\r\n\r\n")


def test_a_line_without_colon_is_dropped_not_the_rest() -> None:
    fields = read_fields(io.BufferedReader(io.BytesIO(b"X-A: 1\r\ngarbage\r\nX-B: 2\r\n\r\n")))
    assert fields == [("X-A", "1"), ("X-B", "2")]


def test_fields_lookup() -> None:
    f = Fields([("Set-Cookie", "a"), ("set-cookie", "b"), ("ETag", '"x"')])
    assert f.get("SET-COOKIE") == "a" and f.get_all("set-cookie") == ["a", "b"]
    assert f.get("nope") is None and f.get("nope", "d") == "d" and f.get_all("nope") is None
    assert "etag" in f and "nope" not in f and list(f) == ["Set-Cookie", "set-cookie", "ETag"]
