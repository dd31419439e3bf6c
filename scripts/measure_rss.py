#!/usr/bin/env python3
"""The mount daemon's memory, threads, fds and sockets, measured against the documented bound.

Why: every byte partyfuse holds for file data must count against the budget
``-cf`` sets, so the daemon's resident set has a bound that follows ``-cf``
(README, Reliability: "Bounded memory"), and a long run must not leak open
files, threads or sockets.  This mounts a real copyparty (started on a free
127.0.0.1 port, pinned to CPU 0; the daemon and the reader to CPU 1 where
``taskset`` is there), then for each ``-cf`` value on a fresh mount:

1. reads a large file sequentially (2 GiB by default), checking its SHA-256;
2. copies a tree of small files (10,000 by default) with ``cp -r``, twice,
   checking every byte of the copy;

sampling the daemon's RSS every few milliseconds (and its ``VmHWM``, reset
between phases through ``/proc/PID/clear_refs``) and its threads, fds and
sockets between phases.  Prints a table and exits 1 if a peak passes
``rss_bound_mib(cf)`` or the handles grew from one copy to the next.

    python3 scripts/measure_rss.py                    # -cf 4, 12 (default), 64
    python3 scripts/measure_rss.py --big-mb 256 --small 2000 --cf 4

Servers and mounts come from the benchmark's helpers (bench_procs.py,
bench_common.py); everything started is stopped by PID and unmounted.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

SCRIPTS = Path(__file__).resolve().parent
ROOT = SCRIPTS.parent
sys.path.insert(0, str(SCRIPTS))

from bench_clients import MountClient  # noqa: E402
from bench_common import MiB, Tree, digest_files, make_tree  # noqa: E402
from bench_procs import Cleanup  # noqa: E402
from bench_servers import CopypartyServer  # noqa: E402

# -- the daemon's resources ----------------------------------------------------


@dataclass(frozen=True)
class Handles:
    threads: int
    fds: int
    sockets: int

    def __str__(self) -> str:
        return f"{self.threads}/{self.fds}/{self.sockets}"


def handles(pid: int) -> Handles:
    """Threads, open fds and sockets of process ``pid`` now."""
    proc = Path("/proc", str(pid))
    links = []
    for fd in (proc / "fd").iterdir():
        with contextlib.suppress(OSError):  # closed while we looked
            links.append(os.readlink(fd))
    threads = len(list((proc / "task").iterdir()))
    return Handles(threads, len(links), sum(link.startswith("socket:") for link in links))


def status_kib(pid: int, key: str) -> int:
    """A ``kB`` field of /proc/PID/status (0 once the process is gone)."""
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status", "rb") as f:
        for line in f:
            if line.startswith(key.encode() + b":"):
                return int(line.split()[1])
    return 0


# -- the bound -----------------------------------------------------------------
#
# What the daemon holds for file data, from the code (partyfuse/core/remotefs.py):
#   the block cache          cf MiB, plus its bookkeeping (<= 10 %: blockcache.py)
#   fetch-ahead in flight    at most half the budget (prefetcher.py: file_budget)
# and per reader busy in a read (one FUSE thread each):
#   the read's own fetch     at most min(cf, read + 8 MiB)  (remotefs.py)
#   a stream's read-ahead    AHEAD_WINDOWS (4) windows of at most 1 MiB in flight
# where these transient bytes are briefly there twice (a body read in pieces
# and joined; an answer assembled from blocks, then copied into FUSE's buffer).
# The transport keeps no file data (http/memo.py: a few thousand small facts;
# http/tarbatch.py: one member at a time).  BASE is the rest, measured: the
# interpreter, its modules, libfuse and the threads' stacks (28 MiB idle right
# after the mount), listings (-cdn folders) and the memos (a few MB), and what
# glibc keeps for reuse (memtune.py): streaming the same file again and again
# at -cf 12, RSS rose 10 MiB over the first GiB, then 1 MiB over the next four.

#: MiB held whatever -cf is.
BASE_MIB = 56
#: MiB per MiB of -cf: the cache with its bookkeeping (1.1) and fetch-ahead (0.5).
PER_CF = 1.6
#: Transient bytes are briefly held this many times.
COPIES = 2
#: Read-ahead windows in flight per stream: readplan.AHEAD_WINDOWS (4) of at most
#: readplan.AHEAD_PIECE_MAX (2 MiB) each.
AHEAD_MIB = 8
#: Most one read's fetch takes: the read (at most 1 MiB) plus a stream window (8 MiB).
READ_MIB = 9

#: Threads that may stay after a run, besides those there when idle: the
#: read-ahead pool (fuse_adapter.Spawner: AHEAD_WINDOWS + prefetch.CONCURRENCY)
#: and libfuse3's worker threads (its max_threads, 10 by default).
SPAWN_WORKERS = 12
FUSE_THREADS = 10
#: Handles a second, equal copy may show past the first's peak (timing alone:
#: how many kept-alive connections the server had closed meanwhile).
GROW_SLACK = 4


def rss_bound_mib(cf: int, readers: int = 1) -> float:
    """The most RSS, in MiB, the daemon may reach with ``-cf cf`` and ``readers``
    programs reading at once (the formula README's Reliability section states)."""
    return BASE_MIB + PER_CF * cf + readers * COPIES * (min(cf, READ_MIB) + AHEAD_MIB)


def formula() -> str:
    return (f"{BASE_MIB} + {PER_CF} * cf + readers * {COPIES} * (min(cf, {READ_MIB}) "
            f"+ {AHEAD_MIB}) MiB")  # fmt: skip


def handles_ceiling(idle: Handles) -> Handles:
    """The most threads, fds and sockets the daemon may have once it served
    anything: each pool or libfuse thread holds at most one connection (and its fd)."""
    extra = SPAWN_WORKERS + FUSE_THREADS
    return Handles(idle.threads + extra, idle.fds + extra, idle.sockets + extra)


class Watch:
    """A phase's peaks: RSS (VmRSS sampled every ``interval`` s, and VmHWM reset
    at the start where the kernel allows it, whichever is higher) and threads,
    fds and sockets (sampled every tenth time)."""

    def __init__(self, pid: int, interval: float = 0.005) -> None:
        self.pid, self.interval = pid, interval
        self.rss_kib = 0
        self.peak = handles(pid)
        self._stop = threading.Event()
        self.hwm_reset = False
        with contextlib.suppress(OSError), open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5\n")  # resets VmHWM to the current RSS
            self.hwm_reset = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            self.rss_kib = max(self.rss_kib, status_kib(self.pid, "VmRSS"))
            n += 1
            if n % 10 == 0:
                with contextlib.suppress(OSError):
                    self.peak = most(self.peak, handles(self.pid))
            time.sleep(self.interval)

    def stop(self) -> float:
        """The phase's peak RSS in MiB."""
        self._stop.set()
        self._thread.join()
        hwm = status_kib(self.pid, "VmHWM") if self.hwm_reset else 0
        return max(self.rss_kib, hwm) / 1024


def most(*seen: Handles) -> Handles:
    """The most threads, fds and sockets of ``seen`` (each on its own)."""
    return Handles(*(max(getattr(h, w) for h in seen) for w in ("threads", "fds", "sockets")))


# -- one mount -----------------------------------------------------------------


@dataclass
class Row:
    """What one mount with one ``-cf`` measured."""

    cf: int
    idle: Handles
    idle_mib: float = 0.0
    stream_mib: float = 0.0
    small_mib: float = 0.0
    stream_s: float = 0.0
    small_s: float = 0.0
    stream_peak: Handles | None = None
    copy_peaks: list[Handles] = field(default_factory=list)
    after: Handles | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def bound_mib(self) -> float:
        return rss_bound_mib(self.cf)

    @property
    def peak_mib(self) -> float:
        return max(self.stream_mib, self.small_mib)

    def check(self) -> list[str]:
        """What broke a bound: wrong bytes, the RSS formula, handles past their
        ceiling, or handles that grew from one equal copy to the next."""
        out = list(self.problems)
        name = f"-cf {self.cf}"
        if self.peak_mib > self.bound_mib:
            out.append(f"{name}: peak RSS {self.peak_mib:.1f} MiB > bound {self.bound_mib:.1f}")
        ceiling = handles_ceiling(self.idle)
        first, last = (self.copy_peaks[0], self.copy_peaks[-1]) if self.copy_peaks else (None, None)
        for what in ("threads", "fds", "sockets"):
            top = getattr(ceiling, what)
            seen_peaks = [*self.copy_peaks, *([self.stream_peak] if self.stream_peak else [])]
            peak = most(*seen_peaks) if seen_peaks else None
            for when, seen in (("peak", peak), ("after", self.after)):
                if seen is not None and getattr(seen, what) > top:
                    out.append(f"{name}: {what} {when} {getattr(seen, what)} > ceiling {top}")
            if first is not None and last is not None:
                if getattr(last, what) > getattr(first, what) + GROW_SLACK:
                    out.append(f"{name}: {what} grew from {getattr(first, what)} (first copy) "
                               f"to {getattr(last, what)} (last copy)")  # fmt: skip
        return out


def settled(pid: int, seconds: float = 1.5) -> Handles:
    """Handles once the daemon is quiet: after ``seconds`` (read-ahead workers
    finishing, connections being put back)."""
    time.sleep(seconds)
    return handles(pid)


def read_stream(path: Path, chunk: int = MiB) -> str:
    """SHA-256 of ``path`` read front to back in ``chunk``-sized reads."""
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while data := f.read(chunk):
            h.update(data)
    return h.hexdigest()


def copy_digest(src: Path, dst: Path) -> tuple[str, int]:
    """``cp -r src dst``, then the digest and count of the copy (bench_common's form)."""
    shutil.rmtree(dst, ignore_errors=True)
    subprocess.run(["cp", "-r", str(src), str(dst)], check=True)
    items = [(str(p.relative_to(dst)), p.read_bytes()) for p in dst.rglob("*") if p.is_file()]
    shutil.rmtree(dst, ignore_errors=True)
    return digest_files(items), len(items)


def measure(client: MountClient, tree: Tree, cf: int, copies: int = 2) -> Row:
    """One fresh mount with ``-cf cf``: the stream, then ``copies`` copies of the
    small files, each checked byte for byte."""
    with client.mounted() as mnt:
        assert client.proc is not None
        pid = client.proc.pid
        # the mount is up before libfuse's threads and the read-ahead tweak settle
        row = Row(cf, idle=settled(pid, 1.0))
        row.idle_mib = status_kib(pid, "VmRSS") / 1024

        watch, t0 = Watch(pid), time.monotonic()
        got = read_stream(mnt / tree.big_rel)
        row.stream_s, row.stream_mib = time.monotonic() - t0, watch.stop()
        row.stream_peak = watch.peak
        if got != tree.big_sha256:
            row.problems.append(f"-cf {cf}: the stream read back wrong (sha256 {got})")

        t0 = time.monotonic()
        for i in range(copies):
            watch = Watch(pid)
            digest, n = copy_digest(mnt / tree.small_dir, client.work / "copy")
            row.small_mib = max(row.small_mib, watch.stop())
            row.copy_peaks.append(watch.peak)
            if (digest, n) != (tree.small_digest, tree.small_count):
                row.problems.append(f"-cf {cf}: copy {i + 1} read back wrong ({n} files)")
        row.small_s = time.monotonic() - t0
        row.after = settled(pid)
    return row


# -- the run -------------------------------------------------------------------


def build(
    big_mb: int, small: int, seed: int, cpus: tuple[int | None, int | None], small_kb: int = 4
) -> Any:
    """The settings bench_procs/bench_common read (their Config's fields, no more)."""
    return SimpleNamespace(
        big_mb=big_mb,
        small_count=small,
        small_kb=small_kb,
        small_per_dir=10,
        tree_fanout=0,
        tree_depth=0,
        tree_files=0,
        seed=seed,
        python=sys.executable,
        server_cpu=cpus[0],
        client_cpu=cpus[1],
        drop_caches=False,  # each file is read once per fresh mount
    )


@contextlib.contextmanager
def served(work: Path, cfg: Any) -> Iterator[tuple[CopypartyServer, Tree, Cleanup]]:
    """A real copyparty serving the generated tree; stopped by PID at the end."""
    cleanup = Cleanup()
    try:
        tree = make_tree(work / "src", cfg)
        server = CopypartyServer(cfg, work / "src", work, cleanup)
        yield server, tree, cleanup
    finally:
        cleanup.all()


def mount_client(url: str, work: Path, cfg: Any, cleanup: Cleanup, cf: int) -> MountClient:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def argv(u: str, m: str) -> list[str]:
        return [cfg.python, "-m", "partyfuse", u, m, "-q", "-cf", str(cf)]

    return MountClient(f"partyfuse-cf{cf}", argv, url, work, cfg, cleanup, env=env)


def run(work: Path, cfg: Any, cfs: list[int], copies: int = 2) -> list[Row]:
    """A fresh mount per ``-cf`` value on one server; the reader pinned like the daemon."""
    rows = []
    with served(work, cfg) as (server, tree, cleanup):
        if cfg.client_cpu is not None:  # the reader is part of the client side
            os.sched_setaffinity(0, {cfg.client_cpu})
        for cf in cfs:
            rows.append(measure(mount_client(server.url, work, cfg, cleanup, cf), tree, cf, copies))
    return rows


def table(rows: list[Row]) -> str:
    lines = [
        "| -cf | idle RSS | peak RSS: stream | peak RSS: small files | bound | "
        "threads/fds/sockets: idle, peak streaming, peak per copy, after |",
        "|---:|---:|---:|---:|---:|:---|",
    ]
    for r in rows:
        peaks = " -> ".join(str(h) for h in r.copy_peaks)
        lines.append(
            f"| {r.cf} | {r.idle_mib:.0f} MiB | {r.stream_mib:.0f} MiB ({r.stream_s:.0f} s) | "
            f"{r.small_mib:.0f} MiB ({r.small_s:.0f} s) | {r.bound_mib:.0f} MiB | "
            f"{r.idle}, {r.stream_peak}, {peaks}, {r.after} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--big-mb", type=int, default=2048, help="size of the streamed file")
    ap.add_argument("--small", type=int, default=10_000, help="small files copied")
    ap.add_argument("--small-kb", type=int, default=4, help="size of each small file")
    ap.add_argument("--cf", default="4,12,64", help="-cf values, comma-separated")
    ap.add_argument("--copies", type=int, default=2, help="copies of the small files per mount")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--server-cpu", default="0", help="CPU for copyparty, or 'none'")
    ap.add_argument("--client-cpu", default="1", help="CPU for the daemon and reader, or 'none'")
    args = ap.parse_args(argv)
    pinning = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None

    def cpu(v: str) -> int | None:
        return int(v) if pinning and v.isdigit() else None

    cpus = (cpu(args.server_cpu), cpu(args.client_cpu))
    cfg = build(args.big_mb, args.small, args.seed, cpus, args.small_kb)
    cfs = [int(v) for v in args.cf.split(",") if v.strip()]
    with tempfile.TemporaryDirectory(prefix="partyfuse-rss-") as tmp:
        rows = run(Path(tmp), cfg, cfs, args.copies)
    print(f"partyfuse RSS: {args.big_mb} MiB stream, {args.small} files of {args.small_kb} KiB "
          f"x {args.copies} copies; server cpu {cpus[0]}, client cpu {cpus[1]}")  # fmt: skip
    print(table(rows))
    print(f"bound = {formula()}; readers = 1")
    failures = [p for r in rows for p in r.check()]
    for f in failures:
        print(f"FAIL: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
