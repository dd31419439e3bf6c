"""Property: whatever a (mis)behaving server answers, a read is exact or an error."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from partyfuse.core.errors import TransportError
from partyfuse.core.model import Entry
from tests.support.transports import transport

DATA = bytes((i * 7 + 3) % 251 for i in range(50_000))

MODES = ["honest", "full", "shift", "short", "long", "total", "garbage", "416", "other-file",
         "multipart", "200-short"]  # fmt: skip


def respond(mode: str, request: Request) -> Response:
    spec = request.headers.get("Range", "bytes=0-")
    a_s, b_s = spec.removeprefix("bytes=").split("-")
    a, b = int(a_s), min(int(b_s or len(DATA) - 1), len(DATA) - 1)
    cr = f"bytes {a}-{b}/{len(DATA)}"
    body = DATA[a : b + 1]
    if mode == "honest":
        return Response(body, 206, headers={"Content-Range": cr})
    if mode == "full":
        return Response(DATA, 200)
    if mode == "shift":  # honest about it, but not the range asked for
        c, d = a + 1, min(b + 1, len(DATA) - 1)
        shifted = f"bytes {c}-{d}/{len(DATA)}"
        return Response(DATA[c : d + 1], 206, headers={"Content-Range": shifted})
    if mode == "short":
        return Response(body[:-1], 206, headers={"Content-Range": cr})
    if mode == "long":
        return Response(DATA[a : b + 2], 206, headers={"Content-Range": f"bytes {a}-{b + 1}/*"})
    if mode == "total":
        return Response(body, 206, headers={"Content-Range": f"bytes {a}-{b}/{len(DATA) + 1}"})
    if mode == "garbage":
        return Response(body, 206, headers={"Content-Range": "bytes lots"})
    if mode == "416":
        return Response(b"", 416, headers={"Content-Range": "bytes */10"})
    if mode == "other-file":
        other = bytes(reversed(DATA))
        return Response(other[a : b + 1], 206, headers={"Content-Range": cr})
    if mode == "multipart":
        return Response(body, 206, content_type="multipart/byteranges; boundary=x", headers={})
    return Response(DATA[: len(DATA) // 2], 200)  # "200-short": a cut full body


@pytest.fixture(scope="module")
def server():
    s = HTTPServer(host="127.0.0.1", port=0)
    s.start()
    yield s
    s.clear()
    s.stop()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    mode=st.sampled_from(MODES),
    start=st.integers(0, len(DATA) - 1),
    length=st.integers(1, 20_000),
    small=st.booleans(),
    piece=st.sampled_from([0, 1, 1000, 4096]),
)
def test_a_read_is_exact_or_an_error(server, mode, start, length, small, piece):
    """``piece``: read with ``read_blocks`` in pieces of that size (0: ``read_range``)."""
    server.clear()
    server.expect_request("/f").respond_with_handler(lambda r: respond(mode, r))
    t = transport(server.url_for("/"), dialect="nginx", small_body=100_000 if small else 1000)
    end = min(start + length, len(DATA))
    entry = Entry("f", False, len(DATA), 0.0)
    try:
        if piece:
            pieces = t.read_blocks("f", start, end, entry, piece)
            # each its own bytes, of the size asked, but the last
            assert all(len(p) == piece for p in pieces[:-1]) and 0 < len(pieces[-1]) <= piece
            got = b"".join(pieces)
        else:
            got = t.read_range("f", start, end, entry)
    except TransportError:
        assert mode not in ("honest", "full")  # good answers must be accepted
        return
    finally:
        t.close()
    if mode == "other-file":
        # same size, other bytes: only a validator (If-Range) could tell, and
        # this server sends none -- nothing to check
        return
    assert got == DATA[start:end]
