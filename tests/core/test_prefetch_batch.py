"""Fetch-ahead in batches (several small files of one folder per request): fewer
requests, each file once, never stale, and whatever a batch did not bring is read
normally.  MemoryTransport(batch=True) stands for copyparty's tar of chosen files."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence

import pytest

from fakes.memory import MemoryTransport
from partyfuse.core.model import Entry
from partyfuse.core.prefetch import BATCH_MAX, CONCURRENCY, FileJob, Prefetch
from tests.support.folders import copy_folder, copy_started, folder, replaced_meanwhile
from tests.support.fs import Jobs, KiB, memory_fs, payload, pooled_fs, read_all, run_past_gate


def batches(t: MemoryTransport) -> list[int]:
    """How many files each batch request asked for."""
    return [r.start for r in t.requests("batch")]


def fetched(t: MemoryTransport) -> list[str]:
    """Every file the transport handed out, by single reads and by batches."""
    return [r.path for r in t.requests("range")] + t.batched


def test_copying_100_small_files_takes_a_few_batches_and_each_file_once() -> None:
    files = folder(100)
    jobs = Jobs()
    fs, t, _ = memory_fs(files, spawn=jobs, batch=True)
    got = copy_folder(fs, jobs, "/p")
    assert got == {k.removeprefix("p/"): v for k, v in files.items()}
    assert len(batches(t)) <= 3 and max(batches(t)) <= BATCH_MAX
    assert sorted(fetched(t)) == sorted(files)  # each file exactly once, batch or not
    assert fs.stats.misses == 1 and fs.stats.prefetch_used == 99
    # single requests: the first file, and at most a few files the window left out
    assert len(t.requests("range")) <= 5
    assert jobs.most <= CONCURRENCY


def test_a_long_folder_keeps_batches_large_instead_of_one_per_file_opened() -> None:
    # each file opened moves the window on by one: a batch starts only once
    # there are enough new files for a real one (half of BATCH_MAX)
    files = folder(300)
    jobs = Jobs()
    fs, t, _ = memory_fs(files, spawn=jobs, batch=True)
    copy_folder(fs, jobs, "/p")
    assert len(t.requests("range")) <= 3
    assert len(batches(t)) <= 300 // (BATCH_MAX // 2) + 2
    assert sorted(fetched(t)) == sorted(files)


def test_without_batches_the_same_copy_is_a_request_per_file() -> None:
    # the baseline: the switch is off by default and the prefetcher asks per file
    files = folder(100)
    jobs = Jobs()
    fs, t, _ = memory_fs(files, spawn=jobs)
    copy_folder(fs, jobs, "/p")
    assert batches(t) == [] and len(t.requests("range")) == 100


def test_a_file_changed_between_listing_and_batch_is_not_served_stale() -> None:
    files = folder(20)
    jobs = Jobs()
    fs, t, clock = memory_fs(files, spawn=jobs, batch=True, mtimes={p: 100.0 for p in files})
    fs.readdir("/p")
    read_all(fs, "/p/f000")  # queues the batch for f001..f019
    new = payload(4 * KiB, 99)
    t.put("p/f005", new, mtime=200.0)  # replaced on the server after the listing
    jobs.run()
    assert "p/f005" not in t.batched
    assert fs.version_cached("/p/f005") is None
    clock.advance(2.0)  # the listing expires (-cds 1): the next open sees the new version
    fs.readdir("/p")
    assert read_all(fs, "/p/f005") == new


def test_bytes_batched_for_a_version_listed_away_meanwhile_are_not_kept() -> None:
    _, fs, t, clock, jobs = copy_started(10, batch=True)
    new = replaced_meanwhile(fs, t, clock, "p/f003")
    jobs.run()
    assert fs.version_cached("/p/f003") is None
    assert fs.version_cached("/p/f004") is not None  # the others landed
    assert read_all(fs, "/p/f003") == new


def test_a_batch_cut_midway_leaves_the_rest_to_normal_reads() -> None:
    files = folder(30)
    jobs = Jobs()
    fs, t, _ = memory_fs(files, spawn=jobs, batch=True)
    fs.readdir("/p")
    t.batch_cut_after = 10
    read_all(fs, "/p/f000")
    jobs.run()
    assert len(t.batched) == 10
    got = copy_folder(fs, jobs, "/p")
    assert got == {k.removeprefix("p/"): v for k, v in files.items()}
    singles = [r.path for r in t.requests("range")]
    # the files the cut batch never brought were read normally, each once
    assert set(singles) >= {f"p/f{i:03d}" for i in range(11, 30)} - set(t.batched)
    assert len(singles) == len(set(singles))
    assert not set(singles) & set(t.batched)


@pytest.mark.parametrize("file_blocks", [1, 2])
def test_batches_stay_within_half_the_cache(file_blocks: int) -> None:
    files = folder(60, 100 * KiB)
    jobs = Jobs()
    fs, t, _ = memory_fs(files, spawn=jobs, batch=True, file_blocks=file_blocks)
    budget = fs.cache_bound // 2
    got = copy_folder(fs, jobs, "/p")
    assert got == {k.removeprefix("p/"): v for k, v in files.items()}
    # a batch asks for at most half the budget: at least two fit in it
    assert batches(t) and max(batches(t)) * 100 * KiB <= budget // 2
    assert sorted(fetched(t)) == sorted(files)
    assert fs.cached_charge <= fs.cache_bound


class GatedBatches(MemoryTransport):
    """A batch blocks until the test opens the gate."""

    def __init__(self, *a, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*a, **kw)
        self.gate = threading.Event()
        self.entered = threading.Event()

    def read_files(self, folder: str, entries: Sequence[Entry]) -> Iterator[tuple[Entry, bytes]]:
        self.entered.set()
        self.gate.wait(10)
        yield from super().read_files(folder, entries)


def test_a_read_of_a_file_in_a_batch_waits_for_it_instead_of_fetching_twice() -> None:
    files = folder(10)
    t = GatedBatches(files, batch=True)
    fs, pool = pooled_fs(t, 4, dir_max=64)
    try:
        fs.readdir("/p")
        fh = fs.open("/p/f000", os.O_RDONLY)
        assert t.entered.wait(10)  # the batch is inside the transport, holding its gates
        assert run_past_gate(lambda: read_all(fs, "/p/f004"), t.gate) == files["p/f004"]
        assert t.requests("range", "p/f004") == [] and t.batched.count("p/f004") == 1
        fs.release("/p/f000", fh)
    finally:
        t.gate.set()
        pool.shutdown(wait=True)


# ---- the policy alone ------------------------------------------------------


def test_policy_groups_files_by_folder_one_slot_per_batch() -> None:
    def f(name: str) -> Entry:
        return Entry(name, False, 4 * KiB, 1.0)

    held = {
        "a": {
            e.name: e for e in [f(f"x{i:02d}") for i in range(80)] + [Entry("s", True, None, 1.0)]
        },
        "a/s": {e.name: e for e in [f(f"y{i}") for i in range(5)]},
    }
    policy = Prefetch()
    policy.saw_readdir("a", 0.0)
    policy.saw_open("a/x00", 0.0)
    jobs = policy.plan(
        held.get, lambda p, e: False, now=0.0, file_budget=64 << 20, dir_room=0, batch=BATCH_MAX
    )
    files = [j for j in jobs if isinstance(j, FileJob)]
    assert [j.path for j in files] == [f"a/x{i:02d}" for i in range(1, 80)] + [
        f"a/s/y{i}" for i in range(5)
    ]
    ids = [j.batch for j in files]
    assert len(set(ids[:64])) == 1 and len(set(ids[64:79])) == 1 and len(set(ids[79:])) == 1
    assert len(set(ids)) == 3  # 64 + 15 of "a", then the 5 of "a/s": three slots
    # the three batches take three of the CONCURRENCY slots, not 84
    assert policy._slots_used() == 3
