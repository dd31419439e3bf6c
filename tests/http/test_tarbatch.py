"""Batched small-file downloads (copyparty's tar of chosen files) -- never wrong bytes.

Against a real copyparty (anonymous and with a password), and the archive
reader alone on hand-built tar streams: a member is yielded only when it is
exactly a version that was asked for; a cut archive yields what was complete
before the cut and then raises.
"""

from __future__ import annotations

import io
import os
import random
import re
import socket
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.tree import Tree
from partyfuse.core.errors import ProtocolError, TransportError
from partyfuse.core.model import Entry
from partyfuse.core.transport import supports_batches
from partyfuse.http import tarbatch
from tests.support.copyparty import PASSWORD, CopypartyServer
from tests.support.raw_servers import read_head
from tests.support.transports import transport

AWKWARD = [
    "with space.txt",
    "ünïcödé-ñame.txt",
    "日本語",
    "per%cent%20x",
    "hash#tag",
    "amp&ersand=x",
    "plus+sign",
    "semi;colon,comma",
    "a" * 200 + ".long",
]


@pytest.fixture(scope="module")
def batch_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tarbatch") / "tree"


@pytest.fixture(scope="module")
def batch_tree(batch_root: Path) -> dict[str, bytes]:
    """Folder "small" with 50 small files and awkward names, plus a subfolder."""
    root = batch_root
    (root / "small" / "sub").mkdir(parents=True)
    rng = random.Random(9)
    files: dict[str, bytes] = {}
    for i in range(50):
        files[f"f{i:02d}.bin"] = rng.randbytes(rng.randrange(0, 8192))
    for name in AWKWARD:
        files[name] = rng.randbytes(100)
    for name, data in files.items():
        (root / "small" / name).write_bytes(data)
    (root / "small" / "sub" / "inner.bin").write_bytes(b"inner")
    return {f"small/{k}": v for k, v in files.items()}


@pytest.fixture(scope="module")
def cpp_batch(copyparty_factory, batch_root, batch_tree) -> CopypartyServer:
    return copyparty_factory(batch_root)


@pytest.fixture(scope="module")
def cpp_batch_pw(copyparty_factory, batch_root, batch_tree) -> CopypartyServer:
    return copyparty_factory(batch_root, password=True)


def _files(entries: list[Entry]) -> list[Entry]:
    return [e for e in entries if not e.is_dir]


@pytest.mark.parametrize("auth", ["anonymous", "password"])
def test_every_small_file_of_a_folder_comes_exact_in_one_request(
    auth, cpp_batch, cpp_batch_pw, batch_tree
):
    if auth == "anonymous":
        t = transport(cpp_batch.url)
    else:
        t = transport(cpp_batch_pw.url, password=PASSWORD)
    assert not t.batch_files  # not before a listing showed copyparty
    entries = _files(t.list_dir("small"))
    assert len(entries) == 50 + len(AWKWARD)
    assert t.batch_files and supports_batches(t)
    before = t.requests
    got = dict((e.name, data) for e, data in t.read_files("small", entries))
    assert t.requests == before + 1
    assert got == {e.name: batch_tree[f"small/{e.name}"] for e in entries}


def test_only_the_asked_files_come_and_the_connection_is_usable_after(cpp_batch, batch_tree):
    t = transport(cpp_batch.url)
    entries = _files(t.list_dir("small"))
    some = [e for e in entries if e.name in ("f03.bin", "hash#tag", "per%cent%20x")]
    got = {e.name: data for e, data in t.read_files("small", some)}
    assert got == {e.name: batch_tree[f"small/{e.name}"] for e in some}
    # copyparty closes the connection after an archive: the next read must not care
    e = entries[0]
    assert t.read_range(f"small/{e.name}", 0, e.size or 0, e) == batch_tree[f"small/{e.name}"]


def test_a_name_not_in_the_folder_and_a_folder_are_not_yielded(cpp_batch, batch_tree):
    t = transport(cpp_batch.url)
    entries = _files(t.list_dir("small"))
    ghost = Entry("no-such-file.bin", False, 5, entries[0].mtime)
    sub = next(e for e in t.list_dir("small") if e.is_dir)
    # a name that is really a folder, asked as a file: its members are paths, skipped
    as_file = Entry("sub", False, 5, sub.mtime)
    got = list(t.read_files("small", [ghost, as_file, entries[1]]))
    assert [(e.name, d) for e, d in got] == [
        (entries[1].name, batch_tree[f"small/{entries[1].name}"])
    ]


def test_the_root_folder_batches_too(cpp_batch, batch_tree):
    t = transport(cpp_batch.url + "small/")
    entries = _files(t.list_dir(""))[:5]
    got = {e.name: d for e, d in t.read_files("", entries)}
    assert got == {e.name: batch_tree[f"small/{e.name}"] for e in entries}


def test_a_file_changed_after_the_listing_is_not_yielded(scratch_server):
    server, tree = scratch_server()
    for name in ("same", "resized", "retimed", "rewritten"):
        tree.write(name, b"x" * 1000)
    t = transport(server.url)
    entries = {e.name: e for e in t.list_dir("")}
    tree.write("resized", b"y" * 1001)
    st = os.stat(tree.root / "retimed")
    os.utime(tree.root / "retimed", (st.st_atime, st.st_mtime - 100))
    # same size, new content and a later whole second
    tree.write("rewritten", b"z" * 1000)
    os.utime(tree.root / "rewritten", (st.st_atime, st.st_mtime + 5))
    got = {e.name: d for e, d in t.read_files("", list(entries.values()))}
    assert got == {"same": b"x" * 1000}


def test_a_server_that_refuses_archives_stops_being_asked(scratch_server):
    server, tree = scratch_server(extra_args=["--no-zip"])
    tree.write("a", b"a" * 10)
    t = transport(server.url)
    entries = t.list_dir("")
    assert t.batch_files
    with pytest.raises(TransportError):
        list(t.read_files("", entries))
    assert not t.batch_files and not supports_batches(t)
    e = entries[0]
    assert t.read_range("a", 0, 10, e) == b"a" * 10


def cut_archive(answer: bytes):  # type: ignore[no-untyped-def]
    """A handler: read one POST, answer ``answer`` (a 200 and part of an archive),
    then hang up (a server dying mid-archive)."""

    def handle(conn: socket.socket, n: int) -> None:
        head, _, rest = read_head(conn).partition(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
        while len(rest) < length:
            rest += conn.recv(65536)
        conn.sendall(answer)

    return handle


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\n",
    ],
    ids=["until-close", "content-length"],
)
def test_a_body_cut_midway_yields_the_complete_files_then_raises(socket_server, head):
    files = [("a", b"a" * 600), ("b", b"b" * 700)]
    server = socket_server(cut_archive(head + _tar(files)[: 2048 + 300]))  # "b" cut in its data
    t = transport(server.url, dialect="cpp")
    got = []
    with pytest.raises(TransportError):
        for e, data in t.read_files("", [_entry(n, d) for n, d in files]):
            got.append((e.name, data))
    assert got == files[:1]
    assert server.connections == 1


def test_a_server_without_tar_or_pipelines_declares_no_batches_and_refuses(fake_server):
    # not copyparty, and not a server known to answer pipelined requests
    # (test_pipelining.py has the ones that do)
    tree = Tree()
    tree.add_file("a.txt", b"hello")
    server = fake_server("nginx", tree)
    t = transport(server.url(), dialect="generic")
    entries = t.list_dir("")
    assert [e.name for e in entries] == ["a.txt"]
    assert not t.batch_files and not supports_batches(t)
    before = t.requests
    with pytest.raises(ProtocolError):
        t.read_files("", entries)
    assert t.requests == before


def test_unaskable_entries_are_left_out_without_a_request(cpp_batch):
    t = transport(cpp_batch.url)
    t.list_dir("small")
    before = t.requests
    odd = [
        Entry("x", True, None, 1.0),
        Entry("unknown-size", False, None, 1.0),
        Entry("a/b", False, 1, 1.0),
        Entry("..", False, 1, 1.0),
        Entry("new\nline", False, 1, 1.0),
        Entry("caf\udce9", False, 1, 1.0),
    ]
    assert list(t.read_files("small", odd)) == []
    assert t.requests == before


# -- the archive reader alone --------------------------------------------------

MTIME = 1_700_000_000


def _tar(members: list[tuple[str, bytes]], *, fmt: int = tarfile.GNU_FORMAT, **kw) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w|", format=fmt) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = kw.get("mtime", MTIME + 0.7)
            tf.addfile(info, io.BytesIO(data))
        for name, target in kw.get("links", []):
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    return buf.getvalue()


def _entry(name: str, data: bytes, mtime: float = MTIME) -> Entry:
    return Entry(name, False, len(data), mtime)


def _read(raw: bytes, wanted: list[Entry], step: int = 1000) -> Iterator[tuple[Entry, bytes]]:
    f = io.BytesIO(raw)
    return tarbatch.members(lambda n: f.read(min(n, step)), {e.name: e for e in wanted})


def test_reader_yields_exact_members_including_long_and_pax_names():
    files = [("a", b"1" * 700), ("L" * 250, b"long"), ("ü 🎉", b""), ("b", os.urandom(5000))]
    for fmt in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        got = list(_read(_tar(files, fmt=fmt), [_entry(n, d) for n, d in files]))
        assert [(e.name, d) for e, d in got] == files


def test_reader_skips_other_versions_paths_links_and_duplicates():
    raw = _tar(
        [
            ("a", b"new!"),  # size differs from the listing
            ("b", b"same"),  # mtime differs (below)
            ("dir/c", b"cccc"),  # a path: never asked for
            ("../d", b"dddd"),
            ("e", b"eeee"),
            ("e", b"EEEE"),  # a second member of that name
        ],
        links=[("f", "/etc/passwd")],
    )
    wanted = [
        _entry("a", b"old"),
        _entry("b", b"same", mtime=MTIME + 1),
        _entry("dir/c", b"cccc"),
        _entry("../d", b"dddd"),
        _entry("e", b"eeee"),
        Entry("f", False, 0, MTIME),
    ]
    assert [(e.name, d) for e, d in _read(raw, wanted)] == [("e", b"eeee")]


def test_reader_never_holds_an_oversize_member():
    big = b"B" * 300_000
    raw = _tar([("big", big), ("ok", b"fine")])
    reads: list[int] = []
    f = io.BytesIO(raw)

    def read(n: int) -> bytes:
        reads.append(n)
        return f.read(n)

    wanted = {"big": _entry("big", b"B" * 10), "ok": _entry("ok", b"fine")}
    assert [(e.name, d) for e, d in tarbatch.members(read, wanted)] == [("ok", b"fine")]
    assert max(reads) <= tarbatch.STEP


@pytest.mark.parametrize("cut", [0, 100, 512, 512 + 300, 1024 + 512, 2048, 2560])
def test_a_cut_archive_yields_what_was_complete_then_raises(cut):
    files = [("a", b"a" * 600), ("b", b"b" * 10)]
    raw = _tar(files)
    # "a": header 0..512, data 512..1112 (+pad to 1536); "b": header 1536, data 2048..2058
    got: list[str] = []
    with pytest.raises(ProtocolError):
        for e, data in _read(raw[:cut], [_entry(n, d) for n, d in files]):
            assert data == dict(files)[e.name]
            got.append(e.name)
    assert got == (["a"] if cut >= 1536 else []) + (["b"] if cut >= 2560 else [])


def test_an_archive_cut_right_after_a_member_is_still_cut():
    raw = _tar([("a", b"a" * 512)])
    got = []
    with pytest.raises(ProtocolError):
        for e, _data in _read(raw[:1024], [_entry("a", b"a" * 512)]):
            got.append(e.name)
    assert got == ["a"]


def test_garbage_is_a_protocol_error_not_data():
    with pytest.raises(ProtocolError):
        list(_read(b"<html>not a tar</html>" + bytes(1000), [_entry("a", b"x")]))


def test_form_body_names_each_file_once_per_line():
    body, ctype = tarbatch.form_body(["a b", "x%y", "ü#&"])
    boundary = ctype.split("boundary=")[1]
    assert body.startswith(f"--{boundary}\r\n".encode())
    assert b"a%20b\nx%25y\n%C3%BC%23%26\r\n" in body
    assert b'name="act"\r\n\r\nzip\r\n' in body
