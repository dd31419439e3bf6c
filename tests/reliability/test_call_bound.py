"""The bound on every call, above the pool (tests/http/test_pool.py has the
socket-level cases): a FUSE operation's calls share one deadline, and
read-ahead in the background obeys it too, so a dead server never pins a
worker."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.faultproxy import FaultProxy, Script
from partyfuse.core.errors import FsError
from partyfuse.fuse_adapter import Adapter
from partyfuse.http import HttpTransport, RetryPolicy
from partyfuse.http.retry import scope_start
from tests.mount.conftest import TEST_ENV, teardown
from tests.support.fs import make_fs

from .chaos import mount_command

DATA = bytes(range(256)) * (16 << 10)  # 4 MiB
BOUND = 1.5
SLACK = 3.0


class StallingServer:
    """Serves a copyparty-like listing of f.bin and its ranges, one thread per
    connection, until ``stall`` is set: then it reads requests and never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stall = threading.Event()
        self.stalled = 0
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._run, daemon=True)
        self._accept.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        with conn:
            try:
                while True:
                    while b"\r\n\r\n" not in buf:
                        chunk = conn.recv(4096)
                        if not chunk:
                            return
                        buf += chunk
                    head, buf = buf.split(b"\r\n\r\n", 1)
                    if self.stall.is_set():
                        self.stalled += 1
                        while conn.recv(4096):  # until the client gives up
                            pass
                        return
                    conn.sendall(self._answer(head.decode("latin-1")))
            except OSError:
                return

    @staticmethod
    def _answer(head: str) -> bytes:
        target = head.split(" ")[1]
        if target.startswith("/?ls"):
            body = json.dumps(
                {"dirs": [], "files": [{"href": "f.bin", "sz": len(DATA), "ts": 1_700_000_000}]}
            ).encode()
            return (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
        m = re.search(r"(?im)^range: bytes=(\d+)-(\d+)", head)
        assert m, head
        first, last = int(m[1]), min(int(m[2]), len(DATA) - 1)
        return (
            b"HTTP/1.1 206 Partial Content\r\n"
            + f"Content-Range: bytes {first}-{last}/{len(DATA)}\r\n".encode()
            + f"Content-Length: {last - first + 1}\r\n\r\n".encode()
            + DATA[first : last + 1]
        )

    def stop(self) -> None:
        for s in (self.sock, *self._conns):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        for t in (self._accept, *self._threads):
            t.join(5)


@pytest.fixture
def stalling() -> Iterator[StallingServer]:
    server = StallingServer()
    yield server
    server.stop()


def test_read_ahead_in_the_background_gives_up_at_the_bound(stalling: StallingServer) -> None:
    t = HttpTransport(
        f"http://127.0.0.1:{stalling.port}/",
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
        stalling.stall.set()
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
