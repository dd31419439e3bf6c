#!/usr/bin/env python3
"""Microbenchmark of the core alone (no FUSE, no HTTP): what a read costs us.

Three numbers, each printed on one line (``--json`` for a machine):

* ``cached_4k_us``: microseconds per 4 KiB read of a file already in the block
  cache, forward-sequential the way O_DIRECT readers (Windows, ``dd
  iflag=direct``) ask; this is the floor under every small read.
* ``single_ratio``: bytes fetched / file size for one sequential reader whose
  reads arrive on two threads at once, as the kernel's async read-ahead does
  on a multi-threaded FUSE loop, with read-ahead in a background pool.
* ``par4_ratio``: the same for four readers of a file's quarters at once;
  ``par4_1m_ratio`` with 1 MiB reads, one at a time (bench.py's par_seq).

The transport is an in-memory one that sleeps a little per request, so
fetches overlap with reads like they do against a server.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fakes.memory import MemoryTransport  # noqa: E402
from partyfuse.core.remotefs import RemoteFS  # noqa: E402
from tests.support.fs import make_fs  # noqa: E402

KiB, MiB = 1 << 10, 1 << 20


class SlowTransport(MemoryTransport):
    """Ranges take ``latency`` plus ``per_mib`` seconds per MiB, like a LAN server."""

    def __init__(self, files: dict[str, bytes], latency: float, per_mib: float) -> None:
        super().__init__(files)
        self.latency, self.per_mib = latency, per_mib

    def read_range(self, path: str, start: int, end: int, entry: object) -> bytes:
        time.sleep(self.latency + self.per_mib * (end - start) / MiB)
        return super().read_range(path, start, end, entry)  # type: ignore[arg-type]


def _fs(transport: MemoryTransport, blocks: int, spawn: Callable[..., None] | None) -> RemoteFS:
    return make_fs(
        transport,
        clock=time.monotonic,
        lock_factory=threading.Lock,
        spawn=spawn,
        file_blocks=blocks,
    )


def cached_read_us(size_mib: int = 8, chunk: int = 4 * KiB, rounds: int = 5) -> float:
    data = os.urandom(size_mib * MiB)
    pool = ThreadPoolExecutor(2)
    fs = _fs(MemoryTransport({"f": data}), 64, lambda job: pool.submit(job))
    fh = fs.open("/f", os.O_RDONLY)
    pos = 0
    while piece := fs.read("/f", MiB, pos, fh):  # warm the cache
        pos += len(piece)
    pool.shutdown(wait=True)
    best = float("inf")
    for _ in range(rounds):
        fh = fs.open("/f", os.O_RDONLY)
        n = 0
        t0 = time.perf_counter()
        for off in range(0, len(data), chunk):
            fs.read("/f", chunk, off, fh)
            n += 1
        best = min(best, (time.perf_counter() - t0) / n * 1e6)
        fs.release("/f", fh)
    assert fs.stats.misses == 0 or fs.stats.bytes_fetched == len(data), fs.stats
    return best


def fetched_ratio(readers: int, size_mib: int, blocks: int, chunk: int, lanes: int) -> float:
    """Bytes fetched / size for ``readers`` sequential readers of one file,
    each reading its own part (bench.py's par_seq reads quarters); each
    reader's reads are issued ``lanes`` at a time (kernel async reads)."""
    data = os.urandom(size_mib * MiB)
    transport = SlowTransport({"f": data}, latency=0.002, per_mib=0.004)
    pool = ThreadPoolExecutor(2, thread_name_prefix="ahead")
    fs = _fs(transport, blocks, lambda job: pool.submit(job))
    bad: list[str] = []

    part = len(data) // readers

    def reader(k: int) -> None:
        fh = fs.open("/f", os.O_RDONLY)
        lo, hi = k * part, (k + 1) * part
        with ThreadPoolExecutor(lanes) as lane:
            for base in range(lo, hi, chunk * lanes):
                offs = [o for o in range(base, base + chunk * lanes, chunk) if o < hi]
                got = list(lane.map(lambda o: fs.read("/f", chunk, o, fh), offs))
                for o, g in zip(offs, got, strict=True):
                    if g != data[o : o + chunk]:
                        bad.append(f"wrong bytes at {o}")
        fs.release("/f", fh)

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(readers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pool.shutdown(wait=True)
    if bad:
        raise SystemExit(bad[0])
    return fs.stats.bytes_fetched / len(data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mib", type=int, default=256, help="file size for the ratios")
    ap.add_argument("--cf", type=int, default=12, help="cache blocks (-cf) for the ratios")
    ap.add_argument("--runs", type=int, default=2, help="runs per ratio (max is shown)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    out = {
        "cached_4k_us": round(cached_read_us(), 2),
        "single_ratio": max(
            fetched_ratio(1, a.size_mib, a.cf, 128 * KiB, 2) for _ in range(a.runs)
        ),
        "par4_ratio": max(fetched_ratio(4, a.size_mib, a.cf, 128 * KiB, 2) for _ in range(a.runs)),
        "par4_1m_ratio": max(fetched_ratio(4, a.size_mib, a.cf, MiB, 1) for _ in range(a.runs)),
    }
    if a.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:14} {v:.3f}")


if __name__ == "__main__":
    main()
