"""Fault injection with pytest-httpserver: retries, odd range answers, redirects, auth headers."""

from __future__ import annotations

import base64
import email.utils
import json
import logging
import os
import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from partyfuse.core.errors import (
    Changed,
    Forbidden,
    NotFound,
    ProtocolError,
    Transient,
)
from partyfuse.core.model import Entry
from partyfuse.http import RetryPolicy
from tests.support.fs import threaded_fs
from tests.support.transports import transport

DATA = bytes(range(256)) * 40  # 10240 bytes
MTIME = 1_700_000_000
LAST_MODIFIED = email.utils.formatdate(MTIME, usegmt=True)


def entry(name: str = "f.bin", size: int | None = len(DATA), **kw) -> Entry:
    return Entry(name, False, size, float(MTIME), **kw)


class Counter:
    def __init__(self, respond):
        self.respond = respond
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        return self.respond(request, len(self.requests))


def ranged(request: Request, data: bytes = DATA, **headers) -> Response:
    """A correct server: 206 for a single Range, 200 otherwise."""
    spec = request.headers.get("Range")
    if not spec:
        return Response(data, 200, headers={"Last-Modified": LAST_MODIFIED, **headers})
    first, last = spec.removeprefix("bytes=").split("-")
    a, b = int(first), min(int(last), len(data) - 1)
    if a >= len(data):
        return Response(b"", 416, headers={"Content-Range": f"bytes */{len(data)}"})
    return Response(
        data[a : b + 1],
        206,
        headers={
            "Content-Range": f"bytes {a}-{b}/{len(data)}",
            "Last-Modified": LAST_MODIFIED,
            **headers,
        },
    )


def cpp_listing(*names: str) -> Response:
    files = [{"href": n, "sz": len(DATA), "ts": MTIME} for n in names]
    body = json.dumps({"dirs": [], "files": files, "acct": "*", "perms": ["read"]})
    return Response(body, 200, content_type="application/json")


def test_503_with_retry_after_is_retried_after_the_pause(httpserver: HTTPServer):
    def respond(request, n):
        if n == 1:
            return Response("busy", 503, headers={"Retry-After": "1"})
        return ranged(request)

    h = Counter(respond)
    httpserver.expect_request("/f.bin").respond_with_handler(h)
    t = transport(httpserver.url_for("/"), dialect="nginx")
    t0 = time.monotonic()
    assert t.read_range("f.bin", 0, 100, entry()) == DATA[:100]
    assert len(h.requests) == 2
    assert time.monotonic() - t0 >= 0.9


def test_huge_retry_after_is_capped(httpserver: HTTPServer):
    h = Counter(lambda r, n: Response("busy", 503, headers={"Retry-After": "3600"}))
    httpserver.expect_request("/f.bin").respond_with_handler(h)
    policy = RetryPolicy(retries=2, backoff=0.01, max_retry_after=0.1)
    t = transport(httpserver.url_for("/"), dialect="nginx", retry=policy)
    t0 = time.monotonic()
    with pytest.raises(Transient, match="503"):
        t.read_range("f.bin", 0, 100, entry())
    assert len(h.requests) == 3
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_errors_are_retried(httpserver: HTTPServer, status):
    h = Counter(lambda r, n: Response("", status) if n < 3 else ranged(r))
    httpserver.expect_request("/f.bin").respond_with_handler(h)
    t = transport(httpserver.url_for("/"), dialect="nginx")
    assert t.read_range("f.bin", 5, 50, entry()) == DATA[5:50]
    assert len(h.requests) == 3


@pytest.mark.parametrize(
    ("status", "error"),
    [(404, NotFound), (410, NotFound), (401, Forbidden), (403, Forbidden), (400, ProtocolError),
     (500, Transient)],
)  # fmt: skip
def test_other_errors_are_not_retried(httpserver: HTTPServer, status, error):
    h = Counter(lambda r, n: Response("no", status))
    httpserver.expect_request("/f.bin").respond_with_handler(h)
    t = transport(httpserver.url_for("/"), dialect="nginx")
    with pytest.raises(error) as e:
        t.read_range("f.bin", 0, 10, entry())
    assert len(h.requests) == 1
    assert "\n" not in str(e.value)


def test_connection_refused_is_transient():
    from tests.support.copyparty import free_port

    t = transport(f"http://127.0.0.1:{free_port()}/")
    with pytest.raises(Transient, match="cannot reach"):
        t.list_dir("")


def test_200_instead_of_206_small_body_is_sliced_and_kept(httpserver: HTTPServer):
    # The transport keeps no file data (its one cache policy, transport.py):
    # the core pads a small read to the whole small file, and its block cache,
    # inside the -cf bound, is what keeps the body for the next read.
    h = Counter(lambda r, n: Response(DATA, 200))
    httpserver.expect_request("/f.bin").respond_with_handler(h)
    httpserver.expect_request("/").respond_with_data(
        b"<html><head><title>Index of /</title></head><body><h1>Index of /</h1><hr><pre>"
        b'<a href="../">../</a>\r\n<a href="f.bin">f.bin</a>  01-Jan-2024 00:00  10240\r\n'
        b"</pre><hr></body></html>\r\n",
        content_type="text/html",
    )
    t = transport(httpserver.url_for("/"), dialect="nginx")
    assert t.read_range("f.bin", 100, 200, entry()) == DATA[100:200]
    assert len(h.requests) == 1
    fs = threaded_fs(t, readahead=False)
    fh = fs.open("/f.bin", os.O_RDONLY)
    assert fs.read("/f.bin", 100, 100, fh) == DATA[100:200]
    assert fs.read("/f.bin", 5240, 5000, fh) == DATA[5000:]
    assert len(h.requests) == 2  # one more download, then the whole small body was kept


def test_200_instead_of_206_large_body_is_streamed_not_kept(httpserver: HTTPServer):
    big = bytes(range(251)) * 20_000  # ~5 MB
    h = Counter(lambda r, n: Response(big, 200))
    httpserver.expect_request("/big").respond_with_handler(h)
    t = transport(httpserver.url_for("/"), dialect="nginx", small_body=65536)
    e = entry("big", len(big))
    assert t.read_range("big", 70_000, 70_100, e) == big[70_000:70_100]
    assert t.read_range("big", len(big) - 10, len(big), e) == big[-10:]
    assert len(h.requests) == 2


def test_200_with_another_length_is_a_change(httpserver: HTTPServer):
    httpserver.expect_request("/f.bin").respond_with_data(DATA + b"more", 200)
    t = transport(httpserver.url_for("/"), dialect="nginx")
    with pytest.raises(Changed):
        t.read_range("f.bin", 0, 10, entry())


@pytest.mark.parametrize(
    "content_range",
    ["bytes 1-10/10240", "bytes 0-9/*x", "bytes 0-20/10240", "items 0-9/10240", None,
     "bytes 0-9/5"],
)  # fmt: skip
def test_206_whose_content_range_does_not_match_is_rejected(httpserver: HTTPServer, content_range):
    headers = {"Content-Range": content_range} if content_range else {}
    httpserver.expect_request("/f.bin").respond_with_data(DATA[:10], 206, headers=headers)
    t = transport(httpserver.url_for("/"), dialect="nginx")
    with pytest.raises((ProtocolError, Changed)):
        t.read_range("f.bin", 0, 10, entry())


def test_206_with_another_total_is_a_change(httpserver: HTTPServer):
    httpserver.expect_request("/f.bin").respond_with_data(
        DATA[:10], 206, headers={"Content-Range": "bytes 0-9/99999"}
    )
    t = transport(httpserver.url_for("/"), dialect="nginx")
    with pytest.raises(Changed):
        t.read_range("f.bin", 0, 10, entry())


def test_short_body_is_retried_then_a_protocol_error(httpserver: HTTPServer):
    # Content-Range promises 100 bytes, the body (with a matching length) has 50.
    h = Counter(
        lambda r, n: Response(DATA[:50], 206, headers={"Content-Range": "bytes 0-99/10240"})
    )
    httpserver.expect_request("/f.bin").respond_with_handler(h)
    t = transport(httpserver.url_for("/"), dialect="nginx")
    with pytest.raises(ProtocolError, match="50 of 100"):
        t.read_range("f.bin", 0, 100, entry())
    assert len(h.requests) == 3  # FAST policy: 2 retries


def test_short_body_once_then_good_succeeds(httpserver: HTTPServer):
    def respond(r, n):
        if n == 1:
            return Response(DATA[:50], 206, headers={"Content-Range": "bytes 0-99/10240"})
        return ranged(r)

    httpserver.expect_request("/f.bin").respond_with_handler(Counter(respond))
    t = transport(httpserver.url_for("/"), dialect="nginx")
    assert t.read_range("f.bin", 0, 100, entry()) == DATA[:100]


def test_range_past_eof_is_an_empty_read(httpserver: HTTPServer):
    httpserver.expect_request("/f.bin").respond_with_handler(ranged)
    t = transport(httpserver.url_for("/"), dialect="nginx")
    # unknown size, so the transport cannot clip: the server's 416 means EOF
    assert t.read_range("f.bin", 20_000, 20_100, entry(size=None)) == b""
    # a known size clips without asking
    assert t.read_range("f.bin", 10_240, 10_300, entry()) == b""


def test_416_with_another_size_is_a_change(httpserver: HTTPServer):
    httpserver.expect_request("/f.bin").respond_with_data(
        b"", 416, headers={"Content-Range": "bytes */50"}
    )
    t = transport(httpserver.url_for("/"), dialect="nginx")
    with pytest.raises(Changed):
        t.read_range("f.bin", 100, 200, entry())


def test_copyparty_reads_send_if_range_and_a_mismatch_is_a_change(httpserver: HTTPServer):
    seen: list[str | None] = []

    def respond(r, n):
        seen.append(r.headers.get("If-Range"))
        # the file was replaced: copyparty answers 200 with the new date
        return Response(DATA, 200, headers={"Last-Modified": "Mon, 01 Jan 2035 00:00:00 GMT"})

    httpserver.expect_request("/", query_string="ls&dots").respond_with_response(
        cpp_listing("f.bin")
    )
    httpserver.expect_request("/f.bin", query_string="raw").respond_with_handler(Counter(respond))
    t = transport(httpserver.url_for("/"))
    (e,) = t.list_dir("")
    with pytest.raises(Changed):
        t.read_range("f.bin", 0, 10, e)
    assert seen == [LAST_MODIFIED]


def test_strong_etag_learnt_from_a_response_guards_later_ranges(httpserver: HTTPServer):
    seen: list[str | None] = []

    def respond(r, n):
        seen.append(r.headers.get("If-Range"))
        if n == 1:
            return ranged(r, ETag='"v1"')
        return Response(DATA, 200, headers={"ETag": '"v2"'})  # If-Range failed

    httpserver.expect_request("/f.bin").respond_with_handler(Counter(respond))
    t = transport(httpserver.url_for("/"), dialect="nginx")
    assert t.read_range("f.bin", 0, 10, entry()) == DATA[:10]
    with pytest.raises(Changed):
        t.read_range("f.bin", 10, 20, entry())
    assert seen == [None, '"v1"']


def test_probe_size_uses_head_length(httpserver: HTTPServer):
    # werkzeug answers HEAD with the headers of the GET it would send
    httpserver.expect_request("/f.bin", method="HEAD").respond_with_data(b"x" * 12345)
    t = transport(httpserver.url_for("/"), dialect="nginx")
    assert t.probe_size("f.bin", entry(size=None)) == 12345


def test_probe_size_falls_back_to_a_ranged_get_when_head_is_refused(httpserver: HTTPServer):
    httpserver.expect_request("/f.bin", method="HEAD").respond_with_data(b"", 405)
    httpserver.expect_request("/f.bin", method="GET").respond_with_handler(ranged)
    t = transport(httpserver.url_for("/"), dialect="nginx")
    assert t.probe_size("f.bin", entry(size=None)) == len(DATA)


def test_probe_size_of_an_empty_file(httpserver: HTTPServer):
    httpserver.expect_request("/e", method="HEAD").respond_with_data(b"", 405)
    httpserver.expect_request("/e", method="GET").respond_with_data(
        b"", 416, headers={"Content-Range": "bytes */0"}
    )
    t = transport(httpserver.url_for("/"), dialect="nginx")
    assert t.probe_size("e", entry("e", None)) == 0


def test_probe_size_of_a_missing_file_is_not_found(httpserver: HTTPServer):
    httpserver.expect_request("/gone", method="HEAD").respond_with_data(b"", 404)
    t = transport(httpserver.url_for("/"), dialect="nginx")
    with pytest.raises(NotFound):
        t.probe_size("gone", entry("gone", None))


def _auth_of(r: Request) -> tuple[str | None, str | None]:
    return r.headers.get("PW"), r.headers.get("Authorization")


def test_password_goes_as_pw_and_basic_to_copyparty(httpserver: HTTPServer):
    seen = []
    httpserver.expect_request("/").respond_with_handler(
        lambda r: seen.append(_auth_of(r)) or cpp_listing("f.bin")
    )
    transport(httpserver.url_for("/"), password="ed:hunter2").list_dir("")
    basic = "Basic " + base64.b64encode(b"ed:hunter2").decode()
    assert seen == [("ed:hunter2", basic)]


def test_password_goes_only_as_basic_to_other_servers(httpserver: HTTPServer):
    seen = []
    httpserver.expect_request("/f.bin").respond_with_handler(
        lambda r: seen.append(_auth_of(r)) or ranged(r)
    )
    transport(httpserver.url_for("/"), password="hunter2", dialect="nginx").read_range(
        "f.bin", 0, 5, entry()
    )
    assert seen == [(None, "Basic " + base64.b64encode(b":hunter2").decode())]


def test_redirect_to_another_origin_is_refused_and_leaks_nothing(httpserver: HTTPServer):
    other = HTTPServer(host="127.0.0.1", port=0)
    other.start()
    try:
        other.expect_request("/x").respond_with_data(b"leak")
        httpserver.expect_request("/f.bin").respond_with_data(
            b"", 302, headers={"Location": other.url_for("/x")}
        )
        t = transport(httpserver.url_for("/"), password="hunter2", dialect="nginx")
        with pytest.raises(ProtocolError, match="another site"):
            t.read_range("f.bin", 0, 5, entry())
        assert other.log == []
    finally:
        other.clear()
        other.stop()


def test_same_origin_redirect_is_followed_with_the_password(httpserver: HTTPServer):
    seen = []
    httpserver.expect_request("/old/f.bin").respond_with_data(
        b"", 301, headers={"Location": "/new/f.bin"}
    )
    httpserver.expect_request("/new/f.bin").respond_with_handler(
        lambda r: seen.append(_auth_of(r)) or ranged(r)
    )
    t = transport(httpserver.url_for("/old/"), password="pw", dialect="nginx")
    assert t.read_range("f.bin", 0, 5, entry()) == DATA[:5]
    assert seen and seen[0][1] is not None


def test_password_never_reaches_the_logs(httpserver: HTTPServer, caplog):
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request("/").respond_with_data(b"nope", 403)
    t = transport(httpserver.url_for("/"), password="s3cr3t-pw")
    with pytest.raises(Forbidden):
        t.check()
    assert caplog.records
    assert "s3cr3t-pw" not in caplog.text
    assert "s3cr3t-pw" not in repr(t.__dict__)


def test_a_server_that_never_answers_times_out_as_transient():
    import socket

    # the kernel completes the handshake for a listening socket nobody accepts on
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        policy = RetryPolicy(retries=1, backoff=0.01)
        t = transport(f"http://127.0.0.1:{port}/", read_timeout=0.3, retry=policy)
        t0 = time.monotonic()
        with pytest.raises(Transient, match="timed out") as e:
            t.list_dir("")
        assert time.monotonic() - t0 < 5
        assert "\n" not in str(e.value)


def test_file_key_is_requoted_in_the_download_url(httpserver: HTTPServer):
    seen = []
    files = [{"href": "f.bin?k=a%26b%23c", "sz": len(DATA), "ts": MTIME}]
    body = json.dumps({"dirs": [], "files": files})
    httpserver.expect_request("/", query_string="ls&dots").respond_with_data(
        body, content_type="application/json"
    )
    httpserver.expect_request("/f.bin").respond_with_handler(
        lambda r: seen.append(r.query_string) or ranged(r)
    )
    t = transport(httpserver.url_for("/"))
    (e,) = t.list_dir("")
    assert e.key == "a&b#c"
    assert t.read_range("f.bin", 0, 5, e) == DATA[:5]
    assert seen == [b"k=a%26b%23c&raw"]


def test_ipv6_literal_base_url_end_to_end():
    seen = []
    server = HTTPServer(host="::1", port=0)
    server.start()
    try:
        server.expect_request("/pre fix/f.bin").respond_with_handler(
            lambda r: seen.append(r.headers.get("Host")) or ranged(r)
        )
        t = transport(f"http://[::1]:{server.port}/pre%20fix/", dialect="nginx")
        assert t.read_range("f.bin", 3, 9, entry()) == DATA[3:9]
        assert seen == [f"[::1]:{server.port}"]
    finally:
        server.clear()
        server.stop()


def test_200_for_a_large_file_is_not_downloaded_whole(httpserver: HTTPServer):
    size = 64 << 20
    produced = [0]
    block = bytes(range(256)) * 256  # 64 KiB

    def respond(request):
        def body():
            while produced[0] < size:
                produced[0] += len(block)
                yield block

        return Response(body(), 200, headers={"Content-Length": str(size)})

    httpserver.expect_request("/huge").respond_with_handler(respond)
    t = transport(httpserver.url_for("/"), dialect="nginx")
    e = entry("huge", size)
    assert t.read_range("huge", 70_000, 70_100, e) == (block * 2)[70_000 - 65536 : 70_100 - 65536]
    t.close()
    # the server may have filled socket buffers, but never the whole 64 MiB
    assert produced[0] < size // 4
