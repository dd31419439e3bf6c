"""Random concurrent reads over the whole awkward tree through RemoteFS, byte for byte."""

from __future__ import annotations

import os
import random
import threading

import pytest

from tests.support.fs import threaded_fs
from tests.support.transports import transport


def run_random_reads(server, tree, reads: int, threads: int, seed: int) -> None:
    fs = threaded_fs(transport(server.url), file_blocks=3, dir_ttl=5.0)
    paths = sorted(tree.files)
    errors: list[str] = []

    def worker(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        for _ in range(reads // threads):
            path = rng.choice(paths)
            data = tree.files[path]
            size = rng.choice([1, 512, 4096, 65536, 131072, 1 << 20])
            off = rng.randrange(len(data) + 1) if data else 0
            fh = fs.open("/" + path, os.O_RDONLY)
            try:
                got = fs.read("/" + path, size, off, fh)
            finally:
                fs.release("/" + path, fh)
            if got != data[off : off + size]:
                errors.append(f"{path!r} @{off}+{size}: {len(got)} bytes, wrong")

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join(120)
    assert not any(th.is_alive() for th in pool)
    assert errors == []
    assert fs.cached_bytes <= fs.cache_bound


def test_random_concurrent_reads_are_exact(cpp_dots, source_tree):
    run_random_reads(cpp_dots, source_tree, reads=400, threads=6, seed=1)


SOAK = os.environ.get("PARTYFUSE_HYPOTHESIS") == "soak"


@pytest.mark.soak
@pytest.mark.skipif(not SOAK, reason="20k reads: PARTYFUSE_HYPOTHESIS=soak")
def test_random_concurrent_reads_are_exact_soak(cpp_dots, source_tree):
    run_random_reads(cpp_dots, source_tree, reads=20_000, threads=8, seed=2)
