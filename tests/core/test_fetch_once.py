"""Sequential readers fetch each byte about once: reordered reads, read-ahead
racing a reader's own fetch, and several streams sharing one cache budget."""

from __future__ import annotations

import os
import threading

from fakes.memory import MemoryTransport
from partyfuse.core.model import Entry
from tests.support.fs import (
    KiB,
    MiB,
    assert_disjoint,
    memory_fs,
    payload,
    queued_fs,
    ranges,
    read_span,
    read_until_queued,
)

CHUNK = 128 * KiB


def _covered_end(fs: object, path: str, pos: int) -> int:
    """How far the block cache covers ``path`` contiguously from ``pos``."""
    blocks = fs._blocks  # type: ignore[attr-defined]
    fb = blocks._files[path]
    for s in fb.starts:
        if s <= pos < s + len(fb.data[s]):
            pos = s + len(fb.data[s])
    return pos


def test_a_straggling_read_of_a_forward_stream_does_not_fetch_behind_it() -> None:
    # the kernel reads a file on several FUSE threads at once: the read at E
    # can arrive after the one at E + 128K; it is the same forward stream, not
    # a backward one, so nothing already read (and dropped) is fetched again
    data = payload(40 * MiB)
    fs, t, _ = memory_fs({"f": data})
    fh = fs.open("/f", os.O_RDONLY)
    pos = read_span(fs, "/f", data, fh, 0, 20 * MiB, CHUNK)
    edge = _covered_end(fs, "f", pos)
    pos = read_span(fs, "/f", data, fh, pos, edge, CHUNK)
    assert fs.read("/f", CHUNK, edge + CHUNK, fh) == data[edge + CHUNK : edge + 2 * CHUNK]
    assert fs.read("/f", CHUNK, edge, fh) == data[edge : edge + CHUNK]
    read_span(fs, "/f", data, fh, edge + 2 * CHUNK, chunk=CHUNK)
    assert_disjoint(ranges(t.log))
    assert fs.stats.bytes_fetched == len(data)


class _HoldNext(MemoryTransport):
    """Once armed, the next range request blocks until the test lets it go."""

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__(files)
        self.armed = False
        self.inside = threading.Event()
        self.go = threading.Event()

    def read_range(self, path: str, start: int, end: int, entry: Entry) -> bytes:
        if self.armed:
            self.armed = False
            self.inside.set()
            assert self.go.wait(30)
        return super().read_range(path, start, end, entry)


def test_a_queued_readahead_skips_bytes_a_reader_is_fetching() -> None:
    # the pool starts a read-ahead job late, while the reader (which found the
    # job not started, so nobody to wait for) fetches those bytes itself:
    # the job must not fetch them a second time
    data = payload(30 * MiB)
    fs, _, _, jobs = queued_fs({"f": data})
    t = _HoldNext({"f": data})
    fs.transport = fs._fetcher.transport = t
    fh = fs.open("/f", os.O_RDONLY)
    pos = read_until_queued(fs, "/f", data, fh, jobs, CHUNK)
    edge = _covered_end(fs, "f", pos)
    pos = read_span(fs, "/f", data, fh, pos, edge, CHUNK)
    got: list[bytes] = []
    t.armed = True
    reader = threading.Thread(target=lambda: got.append(fs.read("/f", CHUNK, pos, fh)))
    reader.start()
    try:
        assert t.inside.wait(30)  # the reader is fetching the job's first bytes
        jobs.pop(0)()
    finally:
        t.go.set()
        reader.join(30)
    assert got == [data[pos : pos + CHUNK]]
    assert_disjoint(ranges(t.log))


def test_four_streams_on_one_file_share_the_budget_instead_of_evicting_each_other() -> None:
    # four readers of a file's quarters at once (bench par_seq) at -cf 12:
    # their windows together must fit the cache, or bytes fetched ahead for
    # one stream are pushed out by another's before they are read
    size = 64 * MiB
    data = payload(size)
    fs, t, _, jobs = queued_fs({"f": data}, file_blocks=12)
    quarter = size // 4
    handles = [fs.open("/f", os.O_RDONLY) for _ in range(4)]
    pos = [k * quarter for k in range(4)]
    while any(p < (k + 1) * quarter for k, p in enumerate(pos)):
        for k, fh in enumerate(handles):
            if pos[k] < (k + 1) * quarter:
                assert fs.read("/f", CHUNK, pos[k], fh) == data[pos[k] : pos[k] + CHUNK]
                pos[k] += CHUNK
        while jobs:  # the pool keeps up with the readers
            jobs.pop(0)()
    assert fs.stats.bytes_fetched <= 1.15 * size
    assert fs.cached_bytes <= fs.cache_bound


def test_a_stream_over_cached_bytes_still_starts_its_readahead_in_time() -> None:
    # cached reads take a short path; it must still notice when the bytes
    # ahead run short, so the stream never stalls on a fetch of its own
    data = payload(30 * MiB)
    fs, t, _, jobs = queued_fs({"f": data})
    warm = fs.open("/f", os.O_RDONLY)
    assert fs.read("/f", 4 * MiB, 0, warm) == data[: 4 * MiB]
    fs.release("/f", warm)
    misses = fs.stats.misses
    fh = fs.open("/f", os.O_RDONLY)
    for pos in range(0, 16 * MiB, CHUNK):
        assert fs.read("/f", CHUNK, pos, fh) == data[pos : pos + CHUNK]
        while jobs:
            jobs.pop(0)()
    assert fs.stats.misses == misses
    assert fs.stats.readahead_requests > 0
    assert fs.stats.hits == 16 * MiB // CHUNK
    assert_disjoint(ranges(t.log))


def test_an_idle_stream_gives_its_share_of_the_budget_back() -> None:
    data = payload(64 * MiB)
    fs, t, clock = memory_fs({"f": data, "g": data}, file_blocks=12)
    a, b = fs.open("/g", os.O_RDONLY), fs.open("/f", os.O_RDONLY)
    for pos in range(0, 4 * CHUNK, CHUNK):  # a second stream, reading
        assert fs.read("/g", CHUNK, pos, a) == data[pos : pos + CHUNK]

    def biggest_fetch_of_f(lo: int, hi: int) -> int:
        before = len(t.log)
        for pos in range(lo, hi, CHUNK):
            assert fs.read("/f", CHUNK, pos, b) == data[pos : pos + CHUNK]
        return max(e - s for s, e in ranges(t.log[before:]) if s >= lo)

    # two streams: each plans within half of the 12 MiB budget
    assert biggest_fetch_of_f(0, 24 * MiB) == 6 * MiB
    clock.advance(3.0)  # /g has been idle for longer than STREAM_IDLE
    assert biggest_fetch_of_f(24 * MiB, 48 * MiB) == 8 * MiB
