"""One read waiting on a slow link must not stall the rest of the mount.

A real mount on a fake nginx whose download of one file stalls until the
test lets it go: while a reader waits inside that read, ``os.listdir`` and
``os.stat`` of other paths must answer.  The stall is released only after
they answered (or by a fallback timer), so "answered while the download was
still held" is the evidence, not a wall-time number: a FUSE loop that serves
one call at a time (``--st``) answers only after the timer let the read go on.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug import Request, Response

from fakes.servers import FakeNginx
from fakes.tree import Node, Tree
from tests.support.mounts import Mounter

#: How long the stalled download waits at most when nobody releases it.
FALLBACK = 20.0
SLOW = b"".join(i.to_bytes(4, "big") for i in range(1 << 20))  # 4 MiB, every offset distinct


class StallingNginx(FakeNginx):
    """Holds every GET of ``slow.bin`` until ``release`` is set."""

    def __init__(self, tree: Tree) -> None:
        super().__init__(tree)
        self.arrived = threading.Event()
        self.release = threading.Event()

    def _file(self, request: Request, name: str, node: Node) -> Response:
        if name == "slow.bin" and request.method == "GET":
            self.arrived.set()
            self.release.wait(FALLBACK)
        return super()._file(request, name, node)


@pytest.fixture
def server() -> Iterator[StallingNginx]:
    tree = Tree()
    tree.add_file("slow.bin", SLOW)
    tree.add_file("other/a.txt", b"hello\n")
    tree.add_file("other/b.txt", b"world\n")
    srv = StallingNginx(tree)
    srv.start()
    try:
        yield srv
    finally:
        srv.release.set()
        srv.stop()


def _ls_while_a_read_stalls(mnt: Path, srv: StallingNginx) -> bool:
    """Start a read of slow.bin, wait until its download stalls, then list and
    stat elsewhere; whether those answered while the download was still held
    (the test releases it only after they answered, or on the fallback timer)."""
    got: list[bytes] = []

    def reader() -> None:
        with open(mnt / "slow.bin", "rb") as f:
            got.append(f.read())

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    assert srv.arrived.wait(FALLBACK), "the read never reached the server"
    answered: list[bool] = []

    def others() -> None:
        names = sorted(os.listdir(mnt / "other"))
        size = os.stat(mnt / "other" / "a.txt").st_size
        assert (names, size) == (["a.txt", "b.txt"], 6)
        answered.append(not srv.release.is_set())
        srv.release.set()  # now the stalled download may go on

    other = threading.Thread(target=others, daemon=True)
    other.start()
    other.join(FALLBACK + 10)
    th.join(FALLBACK + 10)
    assert not th.is_alive() and not other.is_alive()
    assert got == [SLOW]  # the stalled read still returns the server's exact bytes
    return answered == [True]


@pytest.mark.parametrize("binding", ["mfusepy", "fusepy"])
def test_ls_answers_while_a_read_waits_on_a_stalled_download(
    mounter: Mounter, server: StallingNginx, binding: str
) -> None:
    m = mounter(server.url(), env={"PARTYFUSE_FUSE": binding})
    assert _ls_while_a_read_stalls(m.path, server)


def test_a_single_threaded_loop_is_what_the_test_catches(
    mounter: Mounter, server: StallingNginx
) -> None:
    # the test's power: with --st every call waits for the stalled read, so
    # only the fallback timer lets anything go on
    m = mounter(server.url(), "--st")
    timer = threading.Timer(3.0, server.release.set)
    timer.start()
    try:
        assert not _ls_while_a_read_stalls(m.path, server)
    finally:
        timer.cancel()


def test_a_stream_reaches_the_daemon_in_1mib_reads_where_the_mount_allows(
    mounter: Mounter, server: StallingNginx
) -> None:
    # libfuse3 allows 1 MiB reads; the kernel sends them once the mount's
    # read-ahead window is 1 MiB, which partyfuse sets where it may (root)
    server.release.set()
    m = mounter(server.url(), "-d", env={"PARTYFUSE_FUSE": "mfusepy"})
    with open(m.path / "slow.bin", "rb", buffering=0) as f:
        assert f.read(len(SLOW)) == SLOW
    dev = os.stat(m.path).st_dev
    bdi = f"/sys/class/bdi/{os.major(dev)}:{os.minor(dev)}/read_ahead_kb"
    sizes = {int(x) for x in re.findall(r"read /slow\.bin \[\d+\+(\d+)\]", m.stderr)}
    if os.access(bdi, os.W_OK):
        said = [line for line in m.stderr.splitlines() if "read-ahead" in line]
        assert any(f"read-ahead raised to 1024 KiB ({bdi})" in line for line in said), (bdi, said)
        assert open(bdi).read().strip() == "1024", (bdi, said)
        assert max(sizes) == 1 << 20, sizes
    else:  # not root: said once in the debug log, reads stay at the kernel's default
        assert "read-ahead left alone" in m.stderr
        assert max(sizes) <= 128 << 10
