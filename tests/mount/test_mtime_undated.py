"""Listings without times (python's http.server, Apache's plain list): the file's own date shows.

Those listings give neither size nor time, so the core asks the server about
each file it is asked about (a HEAD) anyway; that answer's Last-Modified is
the date shown, never 1970.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from fakes import render_iis
from fakes.clock import FakeClock
from fakes.memory import MemoryTransport
from fakes.tree import Tree, patterned
from partyfuse.core.remotefs import RemoteFS
from partyfuse.http import HttpTransport, RetryPolicy
from tests.support.fake_servers import FakeServerFactory
from tests.support.fs import make_fs
from tests.support.mounts import Mounter
from tests.support.real_servers import RealServerFactory

DATES = {"a.txt": 1_500_000_000, "sub/b.bin": 1_600_000_123, "empty": 1_650_000_000}
UNDATED = [("python", "http.server"), ("apache", "ul")]


def dated_tree() -> Tree:
    tree = Tree()
    tree.add_dir("sub", mtime=1_400_000_000)
    for i, (path, mtime) in enumerate(DATES.items()):
        tree.add_file(path, b"" if path == "empty" else patterned(5000 + i, seed=i), mtime=mtime)
    return tree


def fs_over(url: str) -> tuple[RemoteFS, HttpTransport]:
    t = HttpTransport(url, retry=RetryPolicy(retries=1, backoff=0.01), read_timeout=5.0)
    fs = make_fs(t, clock=time.monotonic, lock_factory=threading.Lock)
    return fs, t


def test_the_memory_fake_and_the_core_show_the_probed_date() -> None:
    t = MemoryTransport(
        {"d/f": b"abc"}, mtimes={"d/f": 1_234_567_890.0}, undated=True, unknown_sizes=True
    )
    clock = FakeClock()
    fs = make_fs(t, clock=clock)
    assert t.list_dir("d")[0].mtime == 0.0
    attrs = fs.getattr("/d/f")
    assert (attrs.size, attrs.mtime) == (3, 1_234_567_890.0)
    fh = fs.open("/d/f", os.O_RDONLY)
    assert fs.read("/d/f", 10, 0, fh) == b"abc"
    # a fresh listing, still undated, does not contradict the probed date: blocks stay
    clock.advance(60.0)
    assert fs.getattr("/d/f").mtime == 1_234_567_890.0
    assert fs.version_cached("/d/f") is not None
    assert fs.read("/d/f", 10, 0, fh) == b"abc"
    assert len(t.requests("range")) == 1


@pytest.mark.parametrize(("kind", "variant"), UNDATED)
def test_core_shows_last_modified_for_undated_listings(
    real_server: RealServerFactory,  # noqa: F811
    kind: str,
    variant: str,
) -> None:
    server = real_server(kind, dated_tree(), variant=variant)
    fs, t = fs_over(server.url("/"))
    try:
        assert all(e.mtime == 0.0 for e in t.list_dir("") if not e.is_dir), "listing is undated"
        for path, mtime in DATES.items():
            attrs = fs.getattr("/" + path)
            assert attrs.mtime == mtime, (path, attrs.mtime)
        # after the listing is fetched again, the date (and the cached bytes) stay
        fh = fs.open("/a.txt", os.O_RDONLY)
        assert fs.read("/a.txt", 100, 0, fh) == patterned(5000, seed=0)[:100]
        fs.drop_caches()
        assert fs.getattr("/a.txt").mtime == DATES["a.txt"]
        assert fs.read("/a.txt", 100, 100, fh) == patterned(5000, seed=0)[100:200]
    finally:
        t.close()


@pytest.mark.parametrize(("kind", "variant"), UNDATED)
def test_ls_through_a_mount_shows_the_servers_dates(
    real_server: RealServerFactory,  # noqa: F811
    mounter: Mounter,
    kind: str,
    variant: str,
) -> None:
    server = real_server(kind, dated_tree(), variant=variant)
    m = mounter(server.url("/"), "-q")
    for path, mtime in DATES.items():
        st = os.stat(m.path / path)
        assert st.st_mtime == mtime, (path, st.st_mtime)
    assert sorted(os.listdir(m.path / "sub")) == ["b.bin"]


def test_a_read_dates_a_file_whose_listing_shows_a_size_but_no_time(
    fake_server: FakeServerFactory,  # noqa: F811
) -> None:
    # IIS without the date columns: exact sizes, so nothing is probed -- but a
    # read is made anyway, and its Last-Modified dates the file from then on
    tree = Tree()
    data = patterned(70_000, seed=4)
    tree.add_file("f.bin", data, mtime=1_555_555_555)
    server = fake_server("iis", tree, flags=render_iis.SHOW_SIZE | render_iis.SHOW_EXTENSION)
    t = HttpTransport(server.url("/"), retry=RetryPolicy(retries=1, backoff=0.01))
    clock = FakeClock()
    fs = make_fs(t, clock=clock, dir_ttl=1.0)
    try:
        assert fs.getattr("/f.bin").mtime == 0.0  # the listing's word; no HEAD made for it
        assert not [s for s in server.seen if s.method == "HEAD"]
        fh = fs.open("/f.bin", os.O_RDONLY)
        assert fs.read("/f.bin", 1000, 0, fh) == data[:1000]
        clock.advance(5.0)
        assert fs.getattr("/f.bin").mtime == 1_555_555_555
        # learning the date is no change of the file: the open handle reads on
        assert fs.read("/f.bin", 1000, 1000, fh) == data[1000:2000]
    finally:
        t.close()
