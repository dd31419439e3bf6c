"""An answer whose head the connection cuts short is a broken exchange, never an answer.

http.client ends a response's head at the end of the connection as it does at
the blank line, so a head cut mid-way (the fault proxy's "server goes away"
shutting a trickled answer down, a server dying) came back as a complete
answer made of the lines that arrived.  A listing whose ``Content-Type`` was
cut to ``appl`` looked like a file ("not a directory"): ENOENT for a file that
exists (the chaos soak's ENOENT, issue 10).  A cut status line read as its
status (a 404 cut after its digits: ENOENT too), a 206 cut before its
``Content-Range`` as a protocol error.  Each must be retried like any broken
connection, and surface as EIO when it keeps happening.
"""

from __future__ import annotations

import errno
import json
import socket

import pytest

from partyfuse.core.errors import FsError, NotFound, TransportError
from partyfuse.core.model import Entry
from partyfuse.http import RetryPolicy
from tests.support.fs import threaded_fs
from tests.support.raw_servers import read_head
from tests.support.transports import transport

DATA = bytes(range(256)) * 40
LISTING = (
    json.dumps(
        {"dirs": [], "files": [{"href": "f.dat", "sz": len(DATA), "ts": 1_700_000_000}]}
    ).encode()
    + b"\n"
)
#: What copyparty sends before a listing (send_headers' order).
LISTING_HEAD = (
    "HTTP/1.1 200 OK\r\n"
    f"Content-Length: {len(LISTING)}\r\n"
    "Connection: Keep-Alive\r\n"
    "Date: Wed, 02 Dec 2026 08:14:32 GMT\r\n"
    "Vary: Origin, PW, Cookie\r\n"
    "Cache-Control: no-store, max-age=0\r\n"
    "Content-Type: application/json\r\n"
    "\r\n"
).encode()
#: Where a cut keeps the status line's three digits (a shorter cut is a bad status line).
FIRST_CUT = len(b"HTTP/1.1 200")
NO_PAUSE = RetryPolicy(retries=2, backoff=0.0)


def cut_then_answer(cut_head: bytes, full: bytes, *, cuts: int = 1):  # type: ignore[no-untyped-def]
    """A handler: the first ``cuts`` connections get ``cut_head`` and an end of
    connection (a FIN, as a shut-down proxy sends), the next ones ``full``."""

    def handle(conn: socket.socket, n: int) -> None:
        read_head(conn)
        if n <= cuts:
            conn.sendall(cut_head)
            conn.shutdown(socket.SHUT_WR)
            return
        conn.sendall(full)
        read_head(conn)  # keep-alive: wait for the client to hang up

    return handle


def test_a_listing_cut_inside_its_content_type_is_retried_not_a_missing_folder(socket_server):
    # the soak's case: "Content-Type: appl" and the end of the connection
    cut = LISTING_HEAD[: LISTING_HEAD.index(b"application/json") + 4]
    server = socket_server(cut_then_answer(cut, LISTING_HEAD + LISTING))
    t = transport(server.url, dialect="cpp", retry=NO_PAUSE)
    assert [e.name for e in t.list_dir("d")] == ["f.dat"]
    assert server.connections == 2


@pytest.mark.parametrize("at", range(FIRST_CUT, len(LISTING_HEAD)))
def test_a_listing_head_cut_anywhere_is_retried(socket_server, at):
    server = socket_server(cut_then_answer(LISTING_HEAD[:at], LISTING_HEAD + LISTING))
    t = transport(server.url, dialect="cpp", retry=NO_PAUSE)
    assert [e.name for e in t.list_dir("d")] == ["f.dat"]


def test_a_listing_head_always_cut_is_eio_never_enoent(socket_server):
    cut = LISTING_HEAD[: LISTING_HEAD.index(b"application/json") + 4]
    server = socket_server(cut_then_answer(cut, b"", cuts=99))
    t = transport(server.url, dialect="cpp", retry=NO_PAUSE)
    with pytest.raises(TransportError) as e:
        t.list_dir("d")
    assert not isinstance(e.value, NotFound)
    assert e.value.errno == errno.EIO
    assert "\n" not in str(e.value)
    assert server.connections == 3  # the first try and two retries


def test_a_404_whose_status_line_is_cut_is_not_taken_for_a_404(socket_server):
    # a status line the connection ended inside is not an answer: only the
    # digits arrived, nothing says the server finished saying it
    server = socket_server(cut_then_answer(b"HTTP/1.1 404 Not", b"", cuts=99))
    t = transport(server.url, dialect="cpp", retry=NO_PAUSE)
    with pytest.raises(TransportError) as e:
        t.list_dir("d")
    assert e.value.errno == errno.EIO


def test_a_range_answer_cut_before_its_content_range_is_retried(socket_server):
    head = (
        "HTTP/1.1 206 Partial Content\r\n"
        "Content-Length: 100\r\n"
        "Connection: Keep-Alive\r\n"
        f"Content-Range: bytes 0-99/{len(DATA)}\r\n"
        "\r\n"
    ).encode()
    cut = head[: head.index(b"Content-Range")]
    server = socket_server(cut_then_answer(cut, head + DATA[:100]))
    t = transport(server.url, dialect="nginx", retry=NO_PAUSE)
    entry = Entry("f.dat", False, len(DATA), 1_700_000_000.0)
    assert t.read_range("f.dat", 0, 100, entry) == DATA[:100]
    assert server.connections == 2


def test_a_file_whose_folder_listing_keeps_being_cut_is_eio_for_the_filesystem(socket_server):
    # what the kernel saw: getattr (and so open) of an existing file said ENOENT
    cut = LISTING_HEAD[: LISTING_HEAD.index(b"application/json") + 4]
    server = socket_server(cut_then_answer(cut, LISTING_HEAD + LISTING, cuts=3))
    fs = threaded_fs(transport(server.url, dialect="cpp", retry=NO_PAUSE), readahead=False)
    with pytest.raises(FsError) as e:
        fs.getattr("/d/f.dat")
    assert e.value.errno == errno.EIO
    assert fs.getattr("/d/f.dat").size == len(DATA)  # the fourth connection answers
