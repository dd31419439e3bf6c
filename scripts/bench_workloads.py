"""The workloads: each one on a mount and its raw-HTTP counterpart, plus the check
that the bytes read are the source's."""

from __future__ import annotations

import contextlib
import mmap
import os
import random
import shutil
import subprocess
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_common import BenchError, Config, KiB, MiB, Tree, digest_files, in_threads
from bench_procs import RawClient

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


def _read_tree(base: Path, tops: list[Path] | None = None) -> list[tuple[str, bytes]]:
    """Every file below ``tops`` (all of ``base`` when None), by its path
    relative to ``base``."""
    items = []
    for top in [base] if tops is None else tops:
        for dirpath, _dirs, files in os.walk(top):
            for fn in files:
                p = os.path.join(dirpath, fn)
                with open(p, "rb") as f:
                    items.append((os.path.relpath(p, base), f.read()))
    return items


def _fetch_tree(client: RawClient, small_dir: str, stack: list[str]) -> list[tuple[str, bytes]]:
    """Every file below the folders of ``stack`` (relative to ``small_dir``,
    each ending in "/"), listed and fetched over raw HTTP."""
    items = []
    while stack:
        rel = stack.pop()
        dirs, files = client.listdir(f"/{small_dir}/{rel}")
        stack.extend(f"{rel}{d}/" for d in dirs)
        for name, _size in files:
            items.append((rel + name, client.get(f"/{small_dir}/{rel}{name}").read()))
    return items


def _small_mount(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    base = root / tree.small_dir
    t0 = time.perf_counter()
    items = _read_tree(base)
    dt = time.perf_counter() - t0
    return len(items), dt, items


def _small_raw(raw: RawClient, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    t0 = time.perf_counter()
    items = _fetch_tree(raw, tree.small_dir, [""])
    dt = time.perf_counter() - t0
    return len(items), dt, items


def _check_small(ev: Any, tree: Tree, cfg: Config) -> str | None:
    if len(ev) != tree.small_count:
        return f"copied {len(ev)} small files, expected {tree.small_count}"
    if digest_files(ev) != tree.small_digest:
        return "small-file contents differ from the source"
    return None


def _par_small_mount(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    base = root / tree.small_dir
    tops = sorted(tree.small_tops)

    def job(k: int) -> list[tuple[str, bytes]]:
        return _read_tree(base, [base / top for top in tops[k :: cfg.parallel]])

    dt, items = in_threads(cfg.parallel, job)
    return len(items), dt, items


def _par_small_raw(raw: RawClient, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    tops = sorted(tree.small_tops)

    def job(k: int) -> list[tuple[str, bytes]]:
        own = raw.another()
        with own.connected():
            return _fetch_tree(own, tree.small_dir, [f"{t}/" for t in tops[k :: cfg.parallel]])

    dt, items = in_threads(cfg.parallel, job)
    return len(items), dt, items


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


def _walk_mount(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    base = root / tree.deep_dir
    seen = []
    ndirs = 0
    t0 = time.perf_counter()
    for dirpath, dirs, files in os.walk(base):
        ndirs += 1
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            isdir = name in dirs
            seen.append((os.path.relpath(p, base), isdir, 0 if isdir else st.st_size))
    dt = time.perf_counter() - t0
    return ndirs, dt, seen


def _walk_raw(raw: RawClient, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    seen = []
    ndirs = 0
    t0 = time.perf_counter()
    stack = [""]
    while stack:
        rel = stack.pop()
        ndirs += 1
        dirs, files = raw.listdir(f"/{tree.deep_dir}/{rel}")
        for d in dirs:
            seen.append((rel + d, True, 0))
            stack.append(f"{rel}{d}/")
        seen.extend((rel + n, False, sz) for n, sz in files)
    dt = time.perf_counter() - t0
    return ndirs, dt, seen


def _check_walk(ev: Any, tree: Tree, cfg: Config) -> str | None:
    got = sorted(ev)
    if got != tree.deep_listing:
        missing = set(tree.deep_listing) - set(got)
        extra = set(got) - set(tree.deep_listing)
        return (
            f"traversal differs: {len(missing)} missing (e.g. {sorted(missing)[:2]}), "
            f"{len(extra)} unexpected (e.g. {sorted(extra)[:2]})"
        )
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


def _cp_r_mount(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    """`cp -r` of the small-files folder into a fresh local folder (tmpfs when the
    work dir is on /dev/shm); the copy is read back and checked after the clock."""
    dst = Path(tempfile.mkdtemp(prefix="cp-r-", dir=root.parent))
    try:
        t0 = time.perf_counter()
        r = subprocess.run(
            ["cp", "-r", str(root / tree.small_dir), str(dst / "copy")],
            capture_output=True,
            text=True,
        )
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            raise BenchError(f"cp -r failed: {r.stderr.strip()[-300:]}")
        items = _read_tree(dst / "copy")
    finally:
        shutil.rmtree(dst, ignore_errors=True)
    return len(items), dt, items


def _find_mount(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    """`find` printing type and size of every entry (so every entry is lstat'ed)."""
    t0 = time.perf_counter()
    r = subprocess.run(
        ["find", str(root / tree.deep_dir), "-printf", r"%y %s %P\0"],
        capture_output=True,
    )
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise BenchError(f"find failed: {r.stderr.decode(errors='replace').strip()[-300:]}")
    seen = []
    ndirs = 0
    for rec in r.stdout.split(b"\0"):
        if not rec:
            continue
        kind, size, rel = rec.split(b" ", 2)
        if kind == b"d":
            ndirs += 1
        if rel:  # the start folder itself prints an empty %P
            isdir = kind == b"d"
            seen.append((os.fsdecode(rel), isdir, 0 if isdir else int(size)))
    return ndirs, dt, seen


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
            _small_mount,
            _small_raw,
            _check_small,
        ),
        Metric(
            "traverse",
            "dirs/s",
            "os.walk + lstat of every entry in the deep tree",
            _walk_mount,
            _walk_raw,
            _check_walk,
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
            _cp_r_mount,
            _small_raw,
            _check_small,
        ),
        Metric(
            "find",
            "folders/s",
            "find -printf '%y %s %P' over the folder tree (raw: ?ls per folder)",
            _find_mount,
            _walk_raw,
            _check_walk,
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
            _par_small_mount,
            _par_small_raw,
            _check_small,
        ),
    ]
}


# what --link runs by default: the four numbers of issue 9's tables
LINK_METRICS = ("seq", "random_4k", "cp_r", "find")
# what a run without --link runs by default (all but the link metrics, as before)
LOOPBACK_METRICS = tuple(m for m in METRICS if m not in ("seq", "cp_r", "find"))
