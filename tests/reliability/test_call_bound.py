"""The bound on every call, above the pool (tests/http/test_pool.py has the
socket-level cases): a FUSE operation's calls share one deadline, and
read-ahead in the background obeys it too, so a dead server never pins a
worker."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from fakes.faultproxy import FaultProxy, Script
from fakes.servers import FakeServer
from fakes.tree import Tree
from partyfuse.core.errors import FsError
from partyfuse.fuse_adapter import Adapter
from partyfuse.http import HttpTransport, RetryPolicy
from partyfuse.http.retry import scope_start
from tests.support.fake_servers import FakeServerFactory
from tests.support.fs import make_fs
from tests.support.mounts import TEST_ENV, teardown

from .chaos import mount_command

DATA = bytes(range(256)) * (16 << 10)  # 4 MiB
BOUND = 1.5
SLACK = 3.0


@pytest.fixture
def stalling(fake_server: FakeServerFactory) -> FakeServer:
    """A copyparty-like fake serving f.bin; ``stall`` set, it answers nothing more."""
    tree = Tree()
    tree.add_file("f.bin", DATA, mtime=1_700_000_000)
    return fake_server("cpp", tree)


def test_read_ahead_in_the_background_gives_up_at_the_bound(stalling: FakeServer) -> None:
    t = HttpTransport(
        stalling.url("/"),
        read_timeout=30.0,
        call_timeout=BOUND,
        retry=RetryPolicy(retries=2, backoff=0.01),
    )
    jobs: list[tuple[threading.Thread, float]] = []

    def spawn(fn) -> None:  # type: ignore[no-untyped-def]
        th = threading.Thread(target=fn, daemon=True)
        jobs.append((th, time.monotonic()))
        th.start()

    fs = make_fs(t, clock=time.monotonic, lock_factory=threading.Lock, spawn=spawn, file_blocks=8)
    try:
        fh = fs.open("/f.bin", 0)
        pos, step = 0, 128 << 10
        while not jobs and pos < len(DATA):  # read on until a read-ahead is started
            assert fs.read("/f.bin", step, pos, fh) == DATA[pos : pos + step]
            pos += step
        assert jobs, "no read-ahead started"
        stalling.stall = True
        fs.drop_caches()
        t0 = time.monotonic()
        with pytest.raises(FsError):
            while pos < len(DATA):  # the next fetch meets the stall
                assert fs.read("/f.bin", step, pos, fh) == DATA[pos : pos + step]
                pos += step
        assert time.monotonic() - t0 < BOUND + SLACK
        for th, started in jobs:
            th.join(max(0.0, started + BOUND + SLACK - time.monotonic()))
            assert not th.is_alive(), "a read-ahead job outlived the bound"
        assert stalling.stalled >= 1
    finally:
        t.close()


class _RecordingFS:
    def __init__(self) -> None:
        self.seen: list[float | None] = []

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        self.seen.append(scope_start())
        return b"x" * size

    def getattr(self, path: str) -> object:
        self.seen.append(scope_start())
        raise FsError(2, "no")


def test_each_fuse_operation_runs_in_one_call_scope() -> None:
    fs = _RecordingFS()
    adapter = Adapter(fs, fuse_error=OSError)  # type: ignore[arg-type]
    assert adapter.read("/f", 10, 0, 1) == b"x" * 10
    with pytest.raises(OSError):
        adapter.getattr("/g")
    assert len(fs.seen) == 2 and all(s is not None for s in fs.seen)
    assert fs.seen[0] != fs.seen[1]  # a new operation, a new deadline
    assert scope_start() is None  # and none left behind


def test_mounting_a_server_that_never_answers_fails_within_the_bound(tmp_path: Path) -> None:
    # the "connections accepted, nothing sent back": the mount-time
    # listing must end with a one-line error, not hang
    upstream = socket.create_server(("127.0.0.1", 0))  # never used: every request stalls
    proxy = FaultProxy(upstream.getsockname(), Script(["stall"] * 20), stall=60.0).start()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        t0 = time.monotonic()
        r = subprocess.run(
            mount_command(proxy.url, mnt, BOUND),
            capture_output=True, text=True, timeout=60, env={**os.environ, **TEST_ENV},
        )  # fmt: skip
        secs = time.monotonic() - t0
    finally:
        proxy.stop()
        upstream.close()
        teardown(mnt, None)
    assert r.returncode != 0
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "timed out" in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert secs < BOUND + 10  # the interpreter's start-up and imports, and the bound
    assert proxy.counts()["stall"] >= 1
