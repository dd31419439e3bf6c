"""The one way a test builds a RemoteFS, and the readers and spawns tests use with it.

Every test that needs a filesystem goes through ``make_fs`` (any transport) or
``memory_fs`` (files in a MemoryTransport), so a new RemoteFS argument or a
new default is one edit here, not fourteen: the defaults are the ones the core
tests were written against (frozen fake time, no lock, no background work).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sized
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fakes.clock import FakeClock
from fakes.memory import MemoryTransport, Request
from partyfuse.core.remotefs import CacheConfig, LockFactory, NameMap, RemoteFS
from partyfuse.core.transport import Clock, Transport

KiB = 1 << 10
MiB = 1 << 20

T = TypeVar("T")
Job = Callable[[], None]
Spawn = Callable[[Job], None]


def make_fs(
    transport: Transport,
    *,
    clock: Clock | None = None,
    lock_factory: LockFactory | None = None,
    spawn: Spawn | None = None,
    names: NameMap | None = None,
    mount_time: float = 0.0,
    **config: Any,
) -> RemoteFS:
    """A RemoteFS over ``transport``; ``config`` are CacheConfig's fields (``dir_max``,
    ``dir_ttl``, ``file_blocks``).  Without ``clock`` time stands still (a FakeClock),
    so a slow machine cannot age a listing in the middle of a test."""
    kw: dict[str, Any] = {} if lock_factory is None else {"lock_factory": lock_factory}
    return RemoteFS(
        transport,
        clock=FakeClock() if clock is None else clock,
        config=CacheConfig(**config),
        names=names,
        spawn=spawn,
        mount_time=mount_time,
        **kw,
    )


def threaded_fs(transport: Transport, *, readahead: bool = True, **config: Any) -> RemoteFS:
    """``make_fs`` as the mount builds it: real time, a real lock, and read-ahead
    on threads of its own (none with ``readahead=False``)."""
    return make_fs(
        transport,
        clock=time.monotonic,
        lock_factory=threading.Lock,
        spawn=thread_spawn() if readahead else None,
        **config,
    )


def memory_fs(
    files: Mapping[str, bytes],
    *,
    dir_max: int = 24,
    dir_ttl: float = 1.0,
    file_blocks: int = 12,
    spawn: Spawn | None = None,
    **transport_kw: Any,
) -> tuple[RemoteFS, MemoryTransport, FakeClock]:
    """``make_fs`` over a MemoryTransport of ``files`` sharing one FakeClock with it
    (``transport_kw`` are MemoryTransport's options: ``batch``, ``etags`` ...)."""
    clock = FakeClock()
    transport = MemoryTransport(files, clock=clock, **transport_kw)
    fs = make_fs(
        transport,
        clock=clock,
        spawn=spawn,
        dir_max=dir_max,
        dir_ttl=dir_ttl,
        file_blocks=file_blocks,
    )
    return fs, transport, clock


def queued_fs(
    files: Mapping[str, bytes], **memory_kw: Any
) -> tuple[RemoteFS, MemoryTransport, FakeClock, list[Job]]:
    """``memory_fs`` whose background jobs (read-ahead) wait in the returned list
    until the test runs them: a pool that never got to them yet."""
    jobs: list[Job] = []
    return (*memory_fs(files, spawn=jobs.append, **memory_kw), jobs)


class Jobs:
    """A spawn that queues jobs until the test runs them (the pool's backlog)."""

    def __init__(self) -> None:
        self.queue: list[Job] = []
        self.most = 0

    def __call__(self, job: Job) -> None:
        self.queue.append(job)
        self.most = max(self.most, len(self.queue))

    def run(self) -> int:
        """Run every job, including the ones jobs spawn; how many ran."""
        n = 0
        while self.queue:
            self.queue.pop(0)()
            n += 1
        return n


def thread_spawn(threads: list[threading.Thread] | None = None) -> Spawn:
    """A spawn that runs each job on a daemon thread of its own, as the mount does;
    the threads are appended to ``threads`` so a test can join them."""

    def spawn(job: Job) -> None:
        th = threading.Thread(target=job, daemon=True)
        if threads is not None:
            threads.append(th)
        th.start()

    return spawn


def run_threads(
    workers: list[threading.Thread], spawned: list[threading.Thread], timeout: float
) -> None:
    """Start the ``workers`` and wait for them (``timeout`` each), then for the
    background threads they ``spawned`` (``thread_spawn``'s list): none may hang."""
    for th in workers:
        th.start()
    for th in workers:
        th.join(timeout)
    for th in list(spawned):
        th.join(60)
    assert not any(th.is_alive() for th in (*workers, *spawned)), "a thread did not finish"


def pooled_fs(
    transport: Transport, workers: int, **config: Any
) -> tuple[RemoteFS, ThreadPoolExecutor]:
    """``make_fs`` with a real lock and background work on a pool of ``workers``
    threads (the mount's read-ahead pool); the test shuts the pool down."""
    pool = ThreadPoolExecutor(max_workers=workers)

    def spawn(job: Job) -> None:
        pool.submit(job)

    return make_fs(transport, lock_factory=threading.Lock, spawn=spawn, **config), pool


def run_past_gate(call: Callable[[], T], gate: threading.Event) -> T:
    """Run ``call`` on a thread of its own while ``gate`` (which a transport call
    in progress waits on) is shut, give it time to reach what it must wait for,
    then open the gate; what ``call`` returned."""
    out: list[T] = []
    th = threading.Thread(target=lambda: out.append(call()))
    th.start()
    time.sleep(0.05)  # let it get to the wait (a wait, not a timing assert)
    gate.set()
    th.join(10)
    assert out, "the call behind the gate did not finish"
    return out[0]


def payload(size: int, seed: int = 0) -> bytes:
    """Deterministic bytes that differ at every offset often enough to catch a shifted read."""
    return random.Random(seed * 1_000_003 + size).randbytes(size)


def read_all(fs: RemoteFS, path: str, chunk: int = 128 * KiB, fh: int | None = None) -> bytes:
    """Read a file front to back the way the kernel does, until a short (empty) read."""
    own = fh is None
    handle = fs.open(path, os.O_RDONLY) if fh is None else fh
    out = bytearray()
    while piece := fs.read(path, chunk, len(out), handle):
        out += piece
    if own:
        fs.release(path, handle)
    return bytes(out)


def read_span(
    fs: RemoteFS,
    path: str,
    data: bytes,
    fh: int,
    pos: int,
    end: int | None = None,
    chunk: int = 128 * KiB,
) -> int:
    """Read on through ``fh`` from ``pos`` in ``chunk``s, as one stream, each read
    exactly ``data``'s bytes there, up to ``end`` (without it: to the end, where a
    read then comes back empty); the position reached."""
    stop = len(data) if end is None else end
    while pos < stop:
        piece = fs.read(path, chunk, pos, fh)
        assert piece == data[pos : pos + chunk], f"read {path} [{pos}:+{chunk}]"
        if not piece:
            break
        pos += len(piece)
    if end is None:
        assert fs.read(path, chunk, pos, fh) == b"", f"{path} goes on past {pos}"
    return pos


def read_until_queued(
    fs: RemoteFS, path: str, data: bytes, fh: int, queued: Sized, chunk: int = 128 * KiB
) -> int:
    """Read a stream from the start until a read-ahead job waits in ``queued``
    (a spawn's list); the position reached."""
    pos = 0
    while not len(queued):
        assert pos < len(data), "the stream never planned a read-ahead"
        pos = read_span(fs, path, data, fh, pos, pos + chunk, chunk)
    return pos


def ranges(log: list[Request]) -> list[tuple[int, int]]:
    return [(r.start, r.end) for r in log if r.kind == "range"]


def assert_disjoint(spans: list[tuple[int, int]]) -> None:
    """No byte was fetched twice."""
    ordered = sorted(spans)
    for (_, end), (start, _) in zip(ordered, ordered[1:], strict=False):
        assert end <= start, ordered
