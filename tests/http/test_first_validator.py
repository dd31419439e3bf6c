"""Reads of one file sent before any answer told its validator cannot mix versions.

nginx, Apache and the others list no ETag: the first ranged answer for a file
is what tells its ETag, which later reads send as ``If-Range``.  Read-ahead
asks for several windows at once; had they all gone out before that first
answer, each without ``If-Range``, a file replaced between two of them would
give one handle old bytes for one window and new ones for the next (seen
through a real mount of nginx under load: tests/mount/test_changing.py).
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable

from partyfuse.core.errors import Changed
from partyfuse.core.model import Entry
from partyfuse.http import HttpTransport
from tests.support.raw_servers import Handler, SocketServer, read_head

SIZE = 8192
VERSIONS = {"old": b"o" * SIZE, "new": b"n" * SIZE}


def _answer(conn: socket.socket, status: str, etag: str, body: bytes, extra: str = "") -> None:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nETag: {etag}\r\n"
        f"Last-Modified: Wed, 02 Dec 2026 12:00:00 GMT\r\n{extra}Connection: close\r\n\r\n"
    )
    conn.sendall(head.encode() + body)


def test_reads_before_the_first_answer_cannot_mix_two_versions(
    socket_server: Callable[[Handler], SocketServer],
) -> None:
    state = {"version": "old", "requests": 0}
    lock = threading.Lock()
    second_came = threading.Event()

    def handle(conn: socket.socket, n: int) -> None:
        head = read_head(conn).decode("latin-1")
        asked = re.search(r"Range: bytes=(\d+)-(\d+)", head)
        assert asked is not None
        first, last = int(asked.group(1)), int(asked.group(2))
        if_range = re.search(r"If-Range: (\S+)", head)
        with lock:
            state["requests"] += 1
            mine = state["requests"]
            if mine == 2:
                state["version"] = "new"  # the file is replaced as the second read comes in
        if mine == 1:
            second_came.wait(1.0)  # the first answer is slow: a second read may go out meanwhile
            version = "old"
        else:
            second_came.set()
            version = state["version"]
        etag = f'"{version}"'
        body = VERSIONS[version]
        if if_range is not None and if_range.group(1) != etag:
            _answer(conn, "200 OK", etag, body)  # If-Range failed: the whole new file
            return
        part = body[first : last + 1]
        cr = f"Content-Range: bytes {first}-{last}/{SIZE}\r\n"
        _answer(conn, "206 Partial Content", etag, part, cr)

    server = socket_server(handle)
    transport = HttpTransport(server.url, dialect="nginx")
    entry = Entry("f.bin", False, SIZE, 1_600_000_000.0)
    got: dict[int, bytes | BaseException] = {}

    def read(start: int) -> None:
        try:
            got[start] = transport.read_range("f.bin", start, start + 4096, entry)
        except Changed as e:
            got[start] = e

    threads = [threading.Thread(target=read, args=(start,)) for start in (0, 4096)]
    try:
        for th in threads:
            th.start()
        for th in threads:
            th.join(10)
    finally:
        transport.close()
    datas = [v for v in got.values() if isinstance(v, bytes)]
    assert len(got) == 2, got
    # each read is the old version, or fails as changed; never one old and one new
    seen = {k: v[:1] if isinstance(v, bytes) else v for k, v in got.items()}
    assert {d[:1] for d in datas} <= {b"o"}, seen
