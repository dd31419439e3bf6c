"""Many FUSE threads, read-ahead threads and a server that replaces files: every read is
exactly one version's bytes, and the cache stays within its bound."""

from __future__ import annotations

import os
import random
import threading

import pytest

from fakes.clock import FakeClock
from fakes.memory import MemoryTransport
from partyfuse.core.errors import FsError
from tests.support.fs import KiB, MiB, make_fs, payload, run_threads, thread_spawn

SIZES = [0, 1, 64 * KiB + 1, MiB + 3, 3 * MiB - 1]
READS = [4 * KiB, 64 * KiB, 128 * KiB, 12345, MiB]


def _hammer(rounds: int, seed: int) -> None:
    names = [f"d/f{i}" for i in range(len(SIZES))]
    versions = {n: [payload(s, i)] for i, (n, s) in enumerate(zip(names, SIZES, strict=True))}
    clock = FakeClock()
    transport = MemoryTransport({n: v[0] for n, v in versions.items()}, clock=clock)
    helpers: list[threading.Thread] = []
    fs = make_fs(
        transport,
        clock=clock,
        lock_factory=threading.Lock,
        spawn=thread_spawn(helpers),
        dir_ttl=0.5,
        file_blocks=5,
    )
    model_lock = threading.Lock()
    failures: list[str] = []

    def reader(worker: int) -> None:
        rnd = random.Random(seed * 100 + worker)
        for _ in range(rounds):
            name = rnd.choice(names)
            try:
                fh = fs.open("/" + name, os.O_RDONLY)
                pos = 0 if rnd.random() < 0.5 else rnd.randrange(0, 3 * MiB)
                for _ in range(rnd.randrange(1, 12)):
                    size = rnd.choice(READS)
                    got = fs.read("/" + name, size, pos, fh)
                    with model_lock:
                        ok = any(got == v[pos : pos + size] for v in versions[name])
                    if not ok:
                        failures.append(f"{name} [{pos}:+{size}] -> {len(got)} bytes")
                    pos += len(got) if rnd.random() < 0.8 else -rnd.randrange(0, 300 * KiB)
                    pos = max(pos, 0)
                fs.release("/" + name, fh)
            except FsError as e:
                # a file replaced twice within one read may be EIO (Changed twice): allowed
                if e.errno != 5:
                    failures.append(f"{name}: errno {e.errno}")
            if fs.cached_bytes > 5 * MiB:
                failures.append(f"cache holds {fs.cached_bytes} bytes")

    def server() -> None:
        rnd = random.Random(seed)
        for i in range(rounds // 4):
            name = rnd.choice(names)
            data = payload(rnd.choice(SIZES), 1000 + i)
            with model_lock:
                versions[name].append(data)
                transport.put(name, data)
            clock.advance(0.3)

    workers = [threading.Thread(target=reader, args=(w,)) for w in range(4)]
    workers.append(threading.Thread(target=server))
    run_threads(workers, helpers, timeout=300)
    assert failures == []
    assert fs.stats.bytes_served > 0


def test_threads_and_a_changing_server_never_mix_versions() -> None:
    _hammer(rounds=40, seed=1)


@pytest.mark.soak
@pytest.mark.parametrize("seed", range(5))
def test_threads_and_a_changing_server_soak(seed: int) -> None:
    _hammer(rounds=1000, seed=seed)
