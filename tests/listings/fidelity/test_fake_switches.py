"""The fakes' misbehaviour switches do what transport tests rely on."""

from __future__ import annotations

import http.client
import socket
from urllib.parse import quote

import pytest

from fakes import render_iis
from fakes.servers import FakeServer
from fakes.tree import Tree, name_bytes, patterned
from tests.support.fake_servers import FakeServerFactory

from ._support import fetch

DATA = patterned(1000, seed=9)


def tree() -> Tree:
    t = Tree()
    t.add_file("f.bin", DATA, mtime=1600000000)
    t.add_dir("d", mtime=1600000000)
    return t


@pytest.fixture(params=["nginx", "apache", "iis"])
def server(request: pytest.FixtureRequest, fake_server: FakeServerFactory) -> FakeServer:
    return fake_server(request.param, tree())


def test_range_is_honoured_by_default(server: FakeServer) -> None:
    reply = fetch(server.url("/f.bin"), headers={"Range": "bytes=10-19"})
    assert reply.status == 206
    assert reply.body == DATA[10:20]
    assert reply.headers["content-range"] == "bytes 10-19/1000"


def test_ignore_range_sends_the_whole_body(server: FakeServer) -> None:
    server.ignore_range = True
    reply = fetch(server.url("/f.bin"), headers={"Range": "bytes=10-19"})
    assert reply.status == 200
    assert reply.body == DATA
    assert "content-range" not in reply.headers


def test_range_past_eof_can_be_refused(server: FakeServer) -> None:
    assert fetch(server.url("/f.bin"), headers={"Range": "bytes=990-2000"}).status == 206
    server.range_past_eof_416 = True
    assert fetch(server.url("/f.bin"), headers={"Range": "bytes=990-2000"}).status == 416
    assert fetch(server.url("/f.bin"), headers={"Range": "bytes=990-999"}).status == 206


def test_head_can_be_refused(server: FakeServer) -> None:
    assert fetch(server.url("/f.bin"), "HEAD").headers["content-length"] == "1000"
    server.refuse_head = True
    assert fetch(server.url("/f.bin"), "HEAD").status == 405
    assert fetch(server.url("/f.bin")).status == 200


def test_fail_next_counts_down(server: FakeServer) -> None:
    server.fail_next(2, status=502)
    assert [fetch(server.url("/f.bin")).status for _ in range(3)] == [502, 502, 200]
    assert [s.status for s in server.seen] == [502, 502, 200]


def test_drop_next_closes_without_an_answer(server: FakeServer) -> None:
    server.drop_next(1)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", "/f.bin")
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
            conn.getresponse()
    finally:
        conn.close()
    assert fetch(server.url("/f.bin")).body == DATA


def test_shift_range_answers_another_range(server: FakeServer) -> None:
    server.shift_range = 3
    reply = fetch(server.url("/f.bin"), headers={"Range": "bytes=10-19"})
    assert reply.status == 206
    assert reply.headers["content-range"] == "bytes 13-22/1000"
    assert reply.body == DATA[13:23]


def test_short_body_keeps_the_promised_length(server: FakeServer) -> None:
    server.short_body = 7
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", "/f.bin")
        resp = conn.getresponse()
        assert resp.getheader("Content-Length") == "1000"
        with pytest.raises(http.client.IncompleteRead) as err:
            resp.read()
        assert err.value.partial == DATA[:993]
    finally:
        conn.close()


def test_auth_is_optional_and_checked(fake_server: FakeServerFactory) -> None:
    server = fake_server("apache", tree(), auth=("u", "p"))
    assert fetch(server.url("/f.bin")).status == 401
    ok = fetch(server.url("/f.bin"), headers={"Authorization": "Basic dTpw"})
    assert ok.status == 200 and ok.body == DATA


def test_missing_paths_are_404_and_the_tree_is_live(server: FakeServer) -> None:
    assert fetch(server.url("/nope")).status == 404
    server.tree.add_file("new.txt", b"fresh")
    assert fetch(server.url("/new.txt")).body == b"fresh"
    assert b"new.txt" in fetch(server.url("/")).body


def test_non_utf8_names_are_served(fake_server: FakeServerFactory) -> None:
    t = Tree()
    name = b"bad\xff.bin".decode("utf-8", "surrogateescape")
    t.add_file(name, b"raw")
    server = fake_server("nginx", t)
    assert fetch(server.url("/" + quote(name_bytes(name)))).body == b"raw"
    assert b'href="bad%FF.bin"' in fetch(server.url("/")).body


def test_fakes_bind_loopback_only(server: FakeServer) -> None:
    assert server.host == "127.0.0.1"
    with socket.create_connection(("127.0.0.1", server.port), timeout=2):
        pass


def test_iis_fake_uses_the_request_host_in_its_title(fake_server: FakeServerFactory) -> None:
    server = fake_server("iis", tree(), flags=render_iis.DEFAULT_FLAGS | render_iis.SHOW_LONGDATE)
    body = fetch(server.url("/")).body
    assert body.startswith(b"<html><head><title>127.0.0.1 - /</title>")
    assert b"Sunday, September 13, 2020" in body
