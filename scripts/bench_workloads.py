"""The workloads: each one on a mount and its raw-HTTP counterpart, plus the check
that the bytes read are the source's.

Here: the big file's workloads (sequential, O_DIRECT, random, parallel, CRC)
and ``METRICS``, the table naming every workload; the tree workloads (small
files, walks, ``cp -r``, ``find``) are in bench_tree_workloads.py."""

from __future__ import annotations

import contextlib
import mmap
import os
import random
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_clients import RawClient
from bench_common import Config, KiB, MiB, Tree, in_threads
from bench_tree_workloads import (
    check_small,
    check_walk,
    cp_r_mount,
    find_mount,
    par_small_mount,
    par_small_raw,
    small_mount,
    small_raw,
    walk_mount,
    walk_raw,
)

#
# Each workload returns (amount, seconds, evidence); evidence is compared with the
# source tree *after* the clock stops, so checking never slows the measurement.


Outcome = tuple[float, float, Any]  # (amount, seconds, evidence)
MountFn = Callable[[Path, "Tree", "Config"], Outcome]
RawFn = Callable[["RawClient", "Tree", "Config"], Outcome]


@dataclass
class Metric:
    name: str
    unit: str
    help: str
    on_mount: Callable[[Path, Tree, Config], tuple[float, float, Any]]
    on_raw: Callable[[RawClient, Tree, Config], tuple[float, float, Any]]
    check: Callable[[Any, Tree, Config], str | None]


def _big_limit(tree: Tree, cfg: Config, limit_mb: Callable[[Tree, Config], int] | None) -> int:
    """Bytes of the big file a sequential read takes: all, or ``limit_mb`` MiB."""
    return tree.big_size if limit_mb is None else min(tree.big_size, limit_mb(tree, cfg) * MiB)


def _fill(readinto: Callable[[memoryview], int | None], view: memoryview, limit: int) -> int:
    """Read up to ``limit`` bytes through ``view`` (made before the clock
    starts, and reused: the bench measures reading, not allocating); the
    count read."""
    bufsize = len(view)
    got = 0
    while got < limit:
        n = readinto(view[: min(bufsize, limit - got)])
        if not n:
            break
        got += n
    return got


def _timed_read(start: Callable[[], Any], bufsize: int, limit: int) -> Outcome:
    """Time reading ``limit`` bytes from the stream ``start()`` opens (timed too)."""
    view = memoryview(bytearray(bufsize))
    t0 = time.perf_counter()
    with start() as stream:
        got = _fill(stream.readinto, view, limit)
    dt = time.perf_counter() - t0
    return got / MiB, dt, (got, limit)


@contextlib.contextmanager
def _drained(resp: Any) -> Iterator[Any]:
    """A raw response whose rest is read when done, as a client that keeps the
    connection would."""
    yield resp
    resp.read()


def _seq_mount(bufsize: int, limit_mb: Callable[[Tree, Config], int] | None = None) -> MountFn:
    def run(root: Path, tree: Tree, cfg: Config) -> Outcome:
        limit = _big_limit(tree, cfg, limit_mb)
        return _timed_read(lambda: open(root / tree.big_rel, "rb", buffering=0), bufsize, limit)

    return run


def _seq_raw(bufsize: int, limit_mb: Callable[[Tree, Config], int] | None = None) -> RawFn:
    def run(raw: RawClient, tree: Tree, cfg: Config) -> Outcome:
        limit = _big_limit(tree, cfg, limit_mb)
        ranged = (0, limit) if limit < tree.big_size else None
        return _timed_read(lambda: _drained(raw.get("/" + tree.big_rel, ranged)), bufsize, limit)

    return run


def _direct_mount(bufsize: int) -> MountFn:
    """O_DIRECT reads bypass the page cache and kernel readahead, so the daemon sees
    every 4 KiB / 64 KiB request -- the pattern WinFsp delivers on Windows."""

    def run(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
        limit = min(tree.big_size, cfg.direct_mb * MiB)
        mm = mmap.mmap(-1, bufsize)  # page-aligned, as O_DIRECT wants
        got = 0
        fd = os.open(root / tree.big_rel, os.O_RDONLY | os.O_DIRECT)
        try:
            t0 = time.perf_counter()
            while got < limit:
                n = os.preadv(fd, [mm], got)
                if not n:
                    break
                got += n
            dt = time.perf_counter() - t0
        finally:
            os.close(fd)
            mm.close()
        return got / MiB, dt, (got, limit)

    return run


def _check_len(ev: Any, tree: Tree, cfg: Config) -> str | None:
    got, limit = ev
    return None if got == limit else f"read {got} bytes, expected {limit}"


def _offsets(tree: Tree, cfg: Config) -> list[int]:
    rng = random.Random(cfg.seed + 1)
    blocks = tree.big_size // 4096
    return [rng.randrange(blocks) * 4096 for _ in range(cfg.random_reads)]


def _out_of_time(t0: float, cfg: Config) -> bool:
    """--random-seconds: a client doing one read a second (rclone on a WAN) would
    otherwise take minutes; its rate over the reads it did is just as telling."""
    return cfg.random_seconds is not None and time.perf_counter() - t0 > cfg.random_seconds


def _random_mount(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    offs = _offsets(tree, cfg)
    out = []
    fd = os.open(root / tree.big_rel, os.O_RDONLY)
    try:
        t0 = time.perf_counter()
        for o in offs:
            out.append(os.pread(fd, 4096, o))
            if _out_of_time(t0, cfg):
                break
        dt = time.perf_counter() - t0
    finally:
        os.close(fd)
    return len(out), dt, out


def _random_raw(raw: RawClient, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    offs = _offsets(tree, cfg)
    out = []
    t0 = time.perf_counter()
    for o in offs:
        out.append(raw.get("/" + tree.big_rel, (o, o + 4096)).read())
        if _out_of_time(t0, cfg):
            break
    dt = time.perf_counter() - t0
    return len(out), dt, out


def _check_random(ev: Any, tree: Tree, cfg: Config) -> str | None:
    offs = _offsets(tree, cfg)
    if not ev or len(ev) > len(offs):
        return f"{len(ev)} random reads returned, expected 1..{len(offs)}"
    with open(tree.big, "rb") as f:
        for o, data in zip(offs[: len(ev)], ev, strict=True):
            f.seek(o)
            if f.read(4096) != data:
                return f"random read at offset {o} returned wrong bytes"
    return None


def _quarters(tree: Tree, cfg: Config) -> list[tuple[int, int]]:
    step = -(-tree.big_size // cfg.parallel)
    return [(o, min(o + step, tree.big_size)) for o in range(0, tree.big_size, step)]


def _par_seq_mount(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    parts = _quarters(tree, cfg)

    def job(k: int) -> list[tuple[int, int, int]]:
        lo, hi = parts[k]
        buf = bytearray(MiB)
        view = memoryview(buf)
        crc, pos = 0, lo
        with open(root / tree.big_rel, "rb", buffering=0) as f:
            f.seek(lo)
            while pos < hi:
                n = f.readinto(view[: min(MiB, hi - pos)])
                if not n:
                    break
                crc = zlib.crc32(view[:n], crc)
                pos += n
        return [(k, pos - lo, crc)]

    dt, got = in_threads(min(cfg.parallel, len(parts)), job)
    return sum(n for _, n, _ in got) / MiB, dt, got


def _par_seq_raw(raw: RawClient, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    parts = _quarters(tree, cfg)

    def job(k: int) -> list[tuple[int, int, int]]:
        lo, hi = parts[k]
        own = raw.another()
        buf = bytearray(MiB)
        view = memoryview(buf)
        crc, got = 0, 0
        with own.connected():
            resp = own.get("/" + tree.big_rel, (lo, hi))
            while got < hi - lo:
                n = resp.readinto(view[: min(MiB, hi - lo - got)])
                if not n:
                    break
                crc = zlib.crc32(view[:n], crc)
                got += n
            resp.read()
        return [(k, got, crc)]

    dt, got = in_threads(min(cfg.parallel, len(parts)), job)
    return sum(n for _, n, _ in got) / MiB, dt, got


def _check_par_seq(ev: Any, tree: Tree, cfg: Config) -> str | None:
    parts = _quarters(tree, cfg)
    with open(tree.big, "rb") as f:
        for k, n, crc in sorted(ev):
            lo, hi = parts[k]
            f.seek(lo)
            if n != hi - lo:
                return f"reader {k} got {n} bytes of [{lo}, {hi})"
            if zlib.crc32(f.read(hi - lo)) != crc:
                return f"reader {k} got wrong bytes in [{lo}, {hi})"
    return None


def _seq_crc_mount(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    """The whole big file with a CRC of every byte (zlib.crc32 runs at GB/s, so it
    costs the reader little next to any link): no separate verify mount needed."""
    buf = bytearray(MiB)
    view = memoryview(buf)
    got, crc = 0, 0
    t0 = time.perf_counter()
    with open(root / tree.big_rel, "rb", buffering=0) as f:
        while n := f.readinto(view):
            crc = zlib.crc32(view[:n], crc)
            got += n
    dt = time.perf_counter() - t0
    return got / MiB, dt, (got, crc)


def _seq_crc_raw(raw: RawClient, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    buf = bytearray(MiB)
    view = memoryview(buf)
    got, crc = 0, 0
    t0 = time.perf_counter()
    resp = raw.get("/" + tree.big_rel)
    while n := resp.readinto(view):
        crc = zlib.crc32(view[:n], crc)
        got += n
    dt = time.perf_counter() - t0
    return got / MiB, dt, (got, crc)


def _check_crc(ev: Any, tree: Tree, cfg: Config) -> str | None:
    got, crc = ev
    if got != tree.big_size:
        return f"read {got} bytes, expected {tree.big_size}"
    return None if crc == tree.big_crc32 else "big file: CRC32 differs from the source"


def _direct_limit(tree: Tree, cfg: Config) -> int:
    return cfg.direct_mb


METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric(
            "seq_1m",
            "MB/s",
            "sequential read of the big file, 1 MiB buffer",
            _seq_mount(MiB),
            _seq_raw(MiB),
            _check_len,
        ),
        Metric(
            "seq_128k",
            "MB/s",
            "sequential read of the big file, 128 KiB buffer",
            _seq_mount(128 * KiB),
            _seq_raw(128 * KiB),
            _check_len,
        ),
        Metric(
            "small_files",
            "files/s",
            "walk + read every small file",
            small_mount,
            small_raw,
            check_small,
        ),
        Metric(
            "traverse",
            "dirs/s",
            "os.walk + lstat of every entry in the deep tree",
            walk_mount,
            walk_raw,
            check_walk,
        ),
        Metric(
            "seq",
            "MiB/s",
            "sequential read of the whole big file, 1 MiB buffer, CRC32 of every byte",
            _seq_crc_mount,
            _seq_crc_raw,
            _check_crc,
        ),
        Metric(
            "cp_r",
            "files/s",
            "cp -r of the small-files folder to local tmpfs (raw: walk + GET each file)",
            cp_r_mount,
            small_raw,
            check_small,
        ),
        Metric(
            "find",
            "folders/s",
            "find -printf '%y %s %P' over the folder tree (raw: ?ls per folder)",
            find_mount,
            walk_raw,
            check_walk,
        ),
        Metric(
            "random_4k",
            "reads/s",
            "4 KiB preads at random aligned offsets",
            _random_mount,
            _random_raw,
            _check_random,
        ),
        Metric(
            "seq_4k",
            "MB/s",
            "dd bs=4k of the big file (page cache, kernel readahead)",
            _seq_mount(4 * KiB),
            _seq_raw(4 * KiB),
            _check_len,
        ),
        Metric(
            "seq_64k",
            "MB/s",
            "dd bs=64k of the big file (page cache, kernel readahead)",
            _seq_mount(64 * KiB),
            _seq_raw(64 * KiB),
            _check_len,
        ),
        Metric(
            "direct_4k",
            "MB/s",
            "O_DIRECT 4 KiB sequential reads (Windows-like: every read reaches the daemon)",
            _direct_mount(4 * KiB),
            _seq_raw(4 * KiB, _direct_limit),
            _check_len,
        ),
        Metric(
            "direct_64k",
            "MB/s",
            "O_DIRECT 64 KiB sequential reads (Windows-like: every read reaches the daemon)",
            _direct_mount(64 * KiB),
            _seq_raw(64 * KiB, _direct_limit),
            _check_len,
        ),
        Metric(
            "par_seq",
            "MB/s",
            "N threads each read one Nth of the big file (1 MiB buffer, --parallel)",
            _par_seq_mount,
            _par_seq_raw,
            _check_par_seq,
        ),
        Metric(
            "par_small",
            "files/s",
            "N threads walk + read disjoint parts of the small files (--parallel)",
            par_small_mount,
            par_small_raw,
            check_small,
        ),
    ]
}


# what --link runs by default: the four numbers of issue 9's tables
LINK_METRICS = ("seq", "random_4k", "cp_r", "find")
# what a run without --link runs by default (all but the link metrics, as before)
LOOPBACK_METRICS = tuple(m for m in METRICS if m not in ("seq", "cp_r", "find"))
