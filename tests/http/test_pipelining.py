"""Several small files in one go from servers other than copyparty: their
whole-file GETs sent together on one connection (HTTP/1.1 pipelining), each
answer judged as a read of the whole file is (HttpTransport.read_files)."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from fakes.tree import Tree, patterned
from partyfuse.core.errors import ProtocolError, TransportError
from partyfuse.core.model import Entry
from partyfuse.http import RetryPolicy
from tests.support.raw_servers import read_head
from tests.support.transports import transport

FILES = {f"f{i}.bin": patterned(100 + 37 * i, seed=i) for i in range(6)}
MTIME = 1_700_000_000.0
NO_RETRIES = RetryPolicy(retries=0, backoff=0.0)


def entries(files: dict[str, bytes] = FILES) -> list[Entry]:
    return [Entry(name, False, len(data), MTIME) for name, data in files.items()]


def answer(name: str, *, close: bool = False, cut: int = 0, total: int | None = None) -> bytes:
    data = FILES[name]
    size = len(data) if total is None else total
    head = (
        "HTTP/1.1 206 Partial Content\r\n"
        f"Content-Range: bytes 0-{len(data) - 1}/{size}\r\n"
        f"Content-Length: {len(data)}\r\n" + ("Connection: close\r\n" if close else "") + "\r\n"
    )
    return head.encode() + data[: len(data) - cut]


def requests_in(conn: socket.socket, want: int) -> list[str]:
    """The targets of the next ``want`` requests, read before anything is answered."""
    buf = b""
    while buf.count(b"\r\n\r\n") < want:
        buf += read_head(conn)
    heads = buf.split(b"\r\n\r\n")[:want]
    return [h.split(b" ")[1].decode().lstrip("/") for h in heads]


def nginx(url: str, **kw: object):
    return transport(url, dialect="nginx", retry=NO_RETRIES, read_timeout=3.0, **kw)


def test_all_requests_go_out_before_any_answer_and_each_comes_exact(socket_server):
    # The server reads every request before it answers one: a client sending
    # them one at a time would wait for an answer that never comes.
    seen: list[list[str]] = []

    def handle(conn: socket.socket, n: int) -> None:
        names = requests_in(conn, len(FILES))
        seen.append(names)
        conn.sendall(b"".join(answer(name) for name in names))
        read_head(conn)

    server = socket_server(handle)
    t = nginx(server.url)
    assert t.batch_files
    got = dict((e.name, data) for e, data in t.read_files("", entries()))
    assert got == FILES
    assert seen == [list(FILES)] and server.connections == 1


def test_a_server_that_closes_part_way_gets_the_rest_asked_again(socket_server):
    # nginx ends a connection after keepalive_requests answers, saying so.
    def handle(conn: socket.socket, n: int) -> None:
        names = requests_in(conn, len(FILES) if n == 1 else len(FILES) - 2)
        if n == 1:
            conn.sendall(answer(names[0]) + answer(names[1], close=True))
        else:
            conn.sendall(b"".join(answer(name) for name in names))
            read_head(conn)

    server = socket_server(handle)
    t = nginx(server.url)
    got = dict((e.name, data) for e, data in t.read_files("", entries()))
    assert got == FILES and server.connections == 2


def test_a_wrong_answer_leaves_out_its_file_and_the_rest_still_come(socket_server):
    def handle(conn: socket.socket, n: int) -> None:
        names = requests_in(conn, len(FILES))
        out = []
        for name in names:
            if name == "f1.bin":
                out.append(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found")
            elif name == "f2.bin":
                out.append(answer(name, total=len(FILES[name]) + 1))  # the file changed
            else:
                out.append(answer(name))
        conn.sendall(b"".join(out))
        read_head(conn)

    server = socket_server(handle)
    t = nginx(server.url)
    got = dict((e.name, data) for e, data in t.read_files("", entries()))
    assert got == {k: v for k, v in FILES.items() if k not in ("f1.bin", "f2.bin")}
    assert server.connections == 1


def test_a_body_cut_short_ends_the_batch_after_the_files_before_it(socket_server):
    def handle(conn: socket.socket, n: int) -> None:
        names = requests_in(conn, len(FILES))
        conn.sendall(answer(names[0]) + answer(names[1], cut=10))

    server = socket_server(handle)
    t = nginx(server.url)
    got = []
    with pytest.raises(TransportError):
        for e, data in t.read_files("", entries()):
            got.append((e.name, data))
    assert got == [("f0.bin", FILES["f0.bin"])]


def test_a_server_that_answers_once_per_connection_is_sent_no_more_pipelines(socket_server):
    def handle(conn: socket.socket, n: int) -> None:
        names = requests_in(conn, 1)
        conn.sendall(answer(names[0]))  # and hangs up without saying so

    server = socket_server(handle)
    t = nginx(server.url)
    for _ in range(2):
        got = []
        with pytest.raises(TransportError):
            for e, _ in t.read_files("", entries()):
                got.append(e.name)
        assert got == ["f0.bin"]
    assert not t.batch_files
    with pytest.raises(ProtocolError):
        t.read_files("", entries())


@pytest.mark.parametrize(("kind", "variant"), [("nginx", "html"), ("apache", "table"),
                                                ("lighttpd", "dirlisting")])  # fmt: skip
def test_real_servers_answer_pipelines_exactly(real_server, kind, variant):
    tree = Tree()
    tree.add_dir("d")
    files = {f"n {i}.bin": patterned(3000 + 999 * i, seed=i) for i in range(40)}
    for name, data in files.items():
        tree.add_file(f"d/{name}", data)
    server = real_server(kind, tree, variant=variant)
    t = transport(server.url("/"))
    listed = [  # sizes the listing rounded are asked of the server first, as the core does
        e if e.size is not None else replace(e, size=t.probe_size(f"d/{e.name}", e))
        for e in t.list_dir("d")
    ]
    assert t.batch_files, t.dialect
    got = dict((e.name, data) for e, data in t.read_files("d", listed))
    assert got == files


def test_python_http_server_gets_no_pipelines(real_server):
    tree = Tree()
    tree.add_file("a.bin", b"a")
    server = real_server("python", tree, variant="http.server")
    t = transport(server.url("/"))
    t.list_dir("")
    assert t.dialect == "python" and not t.batch_files
