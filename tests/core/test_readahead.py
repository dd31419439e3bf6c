"""Read-ahead through the injected spawn, and many FUSE threads sharing one RemoteFS."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from fakes.memory import MemoryTransport
from partyfuse.core.errors import Transient
from partyfuse.core.model import BLOCK_SIZE, Entry
from partyfuse.core.readplan import AHEAD_WINDOWS
from tests.support.fs import (
    KiB,
    MiB,
    assert_disjoint,
    make_fs,
    memory_fs,
    payload,
    queued_fs,
    ranges,
    read_all,
    read_span,
    read_until_queued,
    run_threads,
    thread_spawn,
)


@pytest.mark.parametrize("file_blocks", [4, 5, 12])
@pytest.mark.parametrize("chunk", [4 * KiB, 128 * KiB])
def test_inline_readahead_keeps_the_pipeline_ahead_without_refetching(
    file_blocks: int, chunk: int
) -> None:
    # drop-behind: blocks a stream has read past are evicted first, so bytes
    # fetched ahead are never pushed out before they are read, even at -cf 4
    data = payload(30 * MiB)
    fs, t, _ = memory_fs({"f": data}, file_blocks=file_blocks, spawn=lambda job: job())
    assert read_all(fs, "/f", chunk=chunk) == data
    assert fs.stats.readahead_requests > 0
    assert_disjoint(ranges(t.log))
    assert fs.stats.bytes_fetched == len(data)
    assert fs.cached_bytes <= fs.cache_bound


def test_pending_readahead_is_not_planned_twice() -> None:
    data = payload(30 * MiB)
    fs, t, _, jobs = queued_fs({"f": data})
    fh = fs.open("/f", os.O_RDONLY)
    # never run the jobs: reads must not pile up read-aheads
    pos = read_span(fs, "/f", data, fh, 0, 40 * 128 * KiB)
    assert len(jobs) == AHEAD_WINDOWS  # the slots filled, then nothing more
    for job in jobs:
        job()
    # the reads above needed the promised bytes before the job ran and fetched
    # them themselves (a queued job holds no gate, so nobody waits for it); the
    # late job then finds nothing left to fetch
    assert fs.stats.readahead_requests == 0
    before = len(ranges(t.log))
    assert read_span(fs, "/f", data, fh, pos) == len(data)
    later = ranges(t.log)[before:]
    assert later and all(s >= 5 * MiB for s, _ in later)  # nothing behind was fetched again
    assert_disjoint(later)
    assert fs.cached_bytes <= fs.cache_bound


def test_failed_readahead_is_forgotten_and_the_read_fetches_it() -> None:
    data = payload(20 * MiB)
    fs, t, _, jobs = queued_fs({"f": data})
    fh = fs.open("/f", os.O_RDONLY)
    read_until_queued(fs, "/f", data, fh, jobs)
    t.fail(Transient("boom"), kind="range")
    jobs.pop()()
    assert read_all(fs, "/f", fh=fh) == data


class SlowTransport(MemoryTransport):
    """Each range takes real time, so a reader catches up with its read-ahead."""

    def read_range(self, path: str, start: int, end: int, entry):  # type: ignore[no-untyped-def]
        time.sleep(0.002 + (end - start) / (400 * MiB))  # ~400 MiB/s link
        return super().read_range(path, start, end, entry)


def test_reader_waits_for_its_readahead_instead_of_fetching_twice() -> None:
    data = payload(48 * MiB)
    threads: list[threading.Thread] = []
    fs = make_fs(
        SlowTransport({"f": data}), lock_factory=threading.Lock, spawn=thread_spawn(threads)
    )
    assert read_all(fs, "/f") == data
    for th in threads:
        th.join(timeout=60)
    assert fs.stats.readahead_requests > 0
    assert fs.stats.bytes_fetched <= 1.1 * len(data)


def test_concurrent_readers_on_real_threads_get_exact_bytes() -> None:
    files = {f"d/f{i}": payload(3 * MiB + 17 * i, i) for i in range(4)}
    transport = MemoryTransport(files)
    threads: list[threading.Thread] = []
    fs = make_fs(transport, lock_factory=threading.Lock, spawn=thread_spawn(threads), file_blocks=6)
    results: dict[str, list[bytes]] = {}
    errors: list[BaseException] = []

    def reader(name: str, chunk: int) -> None:
        try:
            results.setdefault(name, []).append(read_all(fs, "/" + name, chunk=chunk))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    workers = [
        threading.Thread(target=reader, args=(name, chunk))
        for name in files
        for chunk in (4 * KiB * 3 + 1, 128 * KiB)
    ]
    run_threads(workers, threads, timeout=60)
    assert errors == []
    for name, data in files.items():
        assert results[name] == [data, data]
    assert fs.cached_bytes <= 6 * MiB


class _WatchedLock:
    """A threading.Lock that tells the test when some thread starts waiting on it."""

    waiting = threading.Event()

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        if self._lock.locked():
            _WatchedLock.waiting.set()
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


class _HeldTransport(MemoryTransport):
    """The first range request blocks until the test lets it go."""

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__(files)
        self.inside = threading.Event()
        self.go = threading.Event()

    def read_range(self, path: str, start: int, end: int, entry):  # type: ignore[no-untyped-def]
        if not self.inside.is_set():
            self.inside.set()
            assert self.go.wait(30)
        return super().read_range(path, start, end, entry)


def test_parallel_reader_of_bytes_being_fetched_waits_instead_of_fetching_again() -> None:
    data = payload(2 * MiB)
    t = _HeldTransport({"f": data})
    _WatchedLock.waiting.clear()
    fs = make_fs(t, lock_factory=_WatchedLock)
    results: dict[str, bytes] = {}
    a = threading.Thread(target=lambda: results.update(a=fs.read("/f", 128 * KiB, 0, 0)))
    b = threading.Thread(target=lambda: results.update(b=fs.read("/f", 64 * KiB, 64 * KiB, 0)))
    a.start()
    assert t.inside.wait(30)  # A is fetching [0, 384K)
    b.start()
    assert _WatchedLock.waiting.wait(10)  # B found A's fetch in flight and waits for it
    t.go.set()
    a.join(30)
    b.join(30)
    assert results == {"a": data[: 128 * KiB], "b": data[64 * KiB : 128 * KiB]}
    assert len(t.requests("range")) == 1


def test_queued_readahead_fetches_only_what_readers_left_missing() -> None:
    data = payload(30 * MiB)
    fs, t, _, jobs = queued_fs({"f": data})
    fh = fs.open("/f", os.O_RDONLY)
    pos = read_until_queued(fs, "/f", data, fh, jobs)
    # the reader runs past the queued read-ahead's range before the pool gets to it
    read_span(fs, "/f", data, fh, pos, pos + 40 * 128 * KiB)
    before = len(ranges(t.log))
    jobs.pop(0)()
    assert ranges(t.log)[before:] == []  # everything it promised is cached already
    assert_disjoint(ranges(t.log))


class _Gate:
    """A lock that, for the gates the test watches, checks something as it opens."""

    watch: dict[int, Callable[[], bool]] = {}
    seen: list[bool] = []

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        check = _Gate.watch.get(id(self))
        if check is not None:
            _Gate.seen.append(check())
        self._lock.release()


def test_a_window_is_out_of_flight_before_the_reads_waiting_on_it_wake() -> None:
    # a read waiting on a window wakes when the window's gate opens; if the
    # window still counted as in flight then, the read found no slot free and
    # planned no next window, and the stream drained its read-ahead
    _Gate.watch, _Gate.seen = {}, []
    data = payload(30 * MiB)
    jobs: list[Callable[[], None]] = []
    fs = make_fs(MemoryTransport({"f": data}), lock_factory=_Gate, spawn=jobs.append)
    fh = fs.open("/f", os.O_RDONLY)
    read_until_queued(fs, "/f", data, fh, jobs)
    handle = fs._handles.get(fh)
    assert handle is not None
    fetcher = fs._fetcher
    windows = [p for p in fetcher.pending("f", handle.version()) if not p.started]
    assert windows
    for p in windows:
        _Gate.watch[id(p.gate)] = lambda p=p: (  # type: ignore[misc]
            p.span not in handle.inflight and p not in fetcher.pending("f", p.version)
        )
    for job in list(jobs):
        job()
    assert _Gate.seen == [True] * len(windows)


class BlockHanding(MemoryTransport):
    """A BlockTransport: hands a range over in pieces, remembering each one."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.handed: list[tuple[int, bytes]] = []

    def read_blocks(self, path: str, start: int, end: int, entry: Entry, size: int) -> list[bytes]:
        data = self.read_range(path, start, end, entry)
        pieces = [bytes(data[i : i + size]) for i in range(0, len(data), size)]
        self.handed += [(start + i * size, p) for i, p in enumerate(pieces)]
        return pieces


def test_windows_of_several_blocks_are_stored_as_the_transport_handed_them() -> None:
    # a read-ahead window is one request of several blocks; cutting it into
    # blocks would copy every byte of a stream once more
    data = payload(40 * MiB)
    t = BlockHanding({"f": data})
    fs = make_fs(t, file_blocks=32, spawn=lambda job: job())
    assert read_all(fs, "/f", chunk=MiB) == data
    windows = [e - s for s, e in ranges(t.log)]
    assert max(windows) > BLOCK_SIZE  # windows of several blocks: fewer requests
    assert_disjoint(ranges(t.log))
    # every block kept where a window was handed over is that very piece (the
    # rest came from the reads' own fetches)
    handed = dict(t.handed)
    blocks = fs._blocks
    kept = [(s, d) for s, d in blocks.spans("f", blocks.version_of("f")) if s in handed]
    assert len(kept) >= 8
    assert all(d is handed[s] for s, d in kept)
