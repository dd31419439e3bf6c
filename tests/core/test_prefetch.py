"""Fetch-ahead through RemoteFS: fewer foreground round trips, within bounds, never stale."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable
from typing import Any

import pytest

from fakes.memory import MemoryTransport
from partyfuse.core.errors import FsError, Transient
from partyfuse.core.model import Entry
from partyfuse.core.prefetch import CONCURRENCY, LIST_AHEAD_MAX, WALKER_DIRS, list_room
from partyfuse.core.remotefs import RemoteFS
from tests.support.folders import copy_folder, copy_started, folder, replaced_meanwhile
from tests.support.fs import (
    Jobs,
    KiB,
    MiB,
    make_fs,
    memory_fs,
    payload,
    pooled_fs,
    read_all,
    run_past_gate,
)
from tests.support.wait import wait_for


def range_paths(t: MemoryTransport) -> list[str]:
    return [r.path for r in t.requests("range")]


def test_copying_a_folder_fetches_the_next_files_ahead_each_once() -> None:
    files = folder(100)
    jobs = Jobs()
    fs, t, _ = memory_fs(files, spawn=jobs)
    got = copy_folder(fs, jobs, "/p")
    assert got == {k.removeprefix("p/"): v for k, v in files.items()}
    # only the first file was a foreground miss; the other 99 came ahead of the program
    assert fs.stats.misses == 1
    assert fs.stats.prefetch_files == 99 and fs.stats.prefetch_used == 99
    assert sorted(range_paths(t)) == sorted(files)  # each file in one request, once
    assert jobs.most <= CONCURRENCY


def test_without_fetch_ahead_each_file_is_a_round_trip() -> None:
    # the baseline the test above improves on: no spawn, no fetch-ahead
    files = folder(20)
    fs, t, _ = memory_fs(files)
    copy_folder(fs, Jobs(), "/p", between=False)
    assert fs.stats.misses == 20 and fs.stats.prefetch_files == 0


def test_a_lone_open_without_listing_the_folder_fetches_nothing_ahead() -> None:
    jobs = Jobs()
    fs, t, _ = memory_fs(folder(10), spawn=jobs)
    assert read_all(fs, "/p/f003") == payload(4 * KiB, 3)
    assert jobs.queue == [] and range_paths(t) == ["p/f003"]


@pytest.mark.parametrize("file_blocks", [1, 2, 12])
def test_fetch_ahead_stays_within_half_the_cache_and_the_concurrency_cap(file_blocks: int) -> None:
    files = folder(60, 100 * KiB)
    jobs = Jobs()
    fs, t, _ = memory_fs(files, spawn=jobs, file_blocks=file_blocks)
    budget = fs.cache_bound // 2
    opened: set[str] = set()

    def ahead_bytes() -> int:
        """Bytes fetched ahead and not opened yet, plus those queued."""
        held = sum(
            len(files[p])
            for p in files
            if p not in opened and fs.version_cached("/" + p) is not None
        )
        queued = len(jobs.queue) * 100 * KiB  # every queued job here is a 100 KiB file
        return held + queued

    for name, _ in fs.readdir("/p"):
        opened.add(f"p/{name}")
        fh = fs.open(f"/p/{name}", os.O_RDONLY)
        assert ahead_bytes() <= budget
        assert read_all(fs, f"/p/{name}", fh=fh) == files[f"p/{name}"]
        fs.release(f"/p/{name}", fh)
        while jobs.queue:
            jobs.queue.pop(0)()
            assert ahead_bytes() <= budget
            assert fs.cached_charge <= fs.cache_bound
    assert jobs.most <= CONCURRENCY
    assert fs.stats.prefetch_files > 0
    # every file reached the program; none was fetched twice by the prefetcher
    assert len(range_paths(t)) == len(set(range_paths(t))) == 60


def test_a_prefetched_file_is_not_served_once_a_new_version_is_listed() -> None:
    files = folder(4)
    jobs = Jobs()
    fs, t, clock = memory_fs(files, spawn=jobs, mtimes={p: 100.0 for p in files})
    fs.readdir("/p")
    assert read_all(fs, "/p/f000") == files["p/f000"]
    jobs.run()
    assert fs.version_cached("/p/f001") is not None  # fetched ahead
    new = payload(4 * KiB, 99)  # same size: only mtime tells the versions apart
    t.put("p/f001", new)
    # within -cds the listing still shows the old version: the old bytes are a
    # consistent answer for it (as a cached listing is)
    assert read_all(fs, "/p/f001") == files["p/f001"]
    clock.advance(1.0)  # -cds 1 s: the listing is stale, the next open re-lists
    before = len(t.requests("range", "p/f001"))
    assert read_all(fs, "/p/f001") == new
    assert len(t.requests("range", "p/f001")) == before + 1


def test_a_new_version_during_the_fetch_ahead_is_never_cached_as_the_old() -> None:
    _, fs, t, clock, jobs = copy_started(3)
    t.put("p/f001", b"new bytes")  # replaced before the queued job runs
    jobs.run()  # the server answers Changed: nothing is cached for f001
    assert fs.version_cached("/p/f001") is None
    clock.advance(1.0)
    assert read_all(fs, "/p/f001") == b"new bytes"


def test_a_listing_refreshed_ahead_drops_prefetched_bytes_of_another_version() -> None:
    _, fs, t, clock, jobs = copy_started(3)
    jobs.run()
    assert fs.version_cached("/p/f002") is not None
    t.put("p/f002", b"changed")
    clock.advance(1.0)
    fs.readdir("/p")  # the refreshed listing shows another version: its blocks go
    assert fs.version_cached("/p/f002") is None
    assert read_all(fs, "/p/f002") == b"changed"


def test_a_deleted_prefetched_file_is_enoent_and_its_bytes_are_dropped() -> None:
    _, fs, t, clock, jobs = copy_started(3)
    jobs.run()
    assert fs.version_cached("/p/f001") is not None
    t.remove("p/f001")
    clock.advance(1.0)
    with pytest.raises(FsError) as e:
        fs.open("/p/f001", os.O_RDONLY)
    assert e.value.errno == errno.ENOENT
    assert fs.version_cached("/p/f001") is None


def test_a_failed_fetch_ahead_is_swallowed_and_the_read_meets_the_error_itself() -> None:
    files, fs, t, _, jobs = copy_started(3)
    t.fail(Transient("down"), kind="range", times=3)
    jobs.run()  # both jobs fail quietly
    with pytest.raises(FsError) as e:
        read_all(fs, "/p/f001")
    assert e.value.errno == errno.EIO
    t.clear_faults()
    assert read_all(fs, "/p/f001") == files["p/f001"]
    assert read_all(fs, "/p/f002") == files["p/f002"]


def test_a_spawn_that_fails_costs_nothing_but_the_fetch_ahead() -> None:
    def broken(job: Callable[[], None]) -> None:
        raise RuntimeError("pool shut down")

    files = folder(5)
    fs, t, _ = memory_fs(files, spawn=broken)
    assert copy_folder(fs, Jobs(), "/p", between=False) == {
        k.removeprefix("p/"): v for k, v in files.items()
    }


def test_big_files_are_not_fetched_ahead() -> None:
    files = {"p/a": payload(4 * KiB), "p/big": payload(2 * MiB), "p/c": payload(4 * KiB, 1)}
    jobs = Jobs()
    fs, t, _ = memory_fs(files, spawn=jobs)
    fs.readdir("/p")
    read_all(fs, "/p/a")
    jobs.run()
    assert fs.version_cached("/p/big") is None and fs.version_cached("/p/c") is not None


# ---- folders -------------------------------------------------------------


def tree(fanout: int, depth: int) -> tuple[dict[str, bytes], list[str]]:
    files: dict[str, bytes] = {}
    dirs: list[str] = []

    def grow(rel: str, level: int) -> None:
        files[f"{rel}/x.txt"] = rel.encode()
        if level == depth:
            return
        for k in range(fanout):
            sub = f"{rel}/d{k}"
            dirs.append(sub)
            grow(sub, level + 1)

    grow("w", 0)
    return files, dirs


def walk(fs: RemoteFS, jobs: Jobs | None, top: str, seen: list[str]) -> None:
    """What `find` / os.walk do: list a folder, stat its entries, descend in order."""
    seen.append(top)
    entries = fs.readdir("/" + top)
    for name, attrs in entries:
        assert attrs is not None  # readdir still hands the kernel every attribute
        assert fs.getattr(f"/{top}/{name}") == attrs
    if jobs is not None:
        jobs.run()
    for name, attrs in entries:
        if attrs is not None and attrs.is_dir:
            walk(fs, jobs, f"{top}/{name}", seen)


def walk_tree(fanout: int, depth: int, **memory_kw: Any) -> tuple[RemoteFS, Jobs, list[str]]:
    """`find` over a fresh ``tree(fanout, depth)``, fetch-ahead running between
    folders: each folder must be listed once; the filesystem, its jobs and the
    folders walked."""
    files, _ = tree(fanout, depth)
    jobs = Jobs()
    fs, t, _ = memory_fs(files, spawn=jobs, **memory_kw)
    seen: list[str] = []
    walk(fs, jobs, "w", seen)
    listed = [r.path for r in t.requests("list")]
    assert len(listed) == len(set(listed))  # each folder listed once
    return fs, jobs, seen


def test_a_walk_lists_folders_ahead_each_once_and_mostly_not_in_the_foreground() -> None:
    fs, jobs, seen = walk_tree(3, 3, dir_max=64)  # 39 folders below w
    assert len(seen) == 40
    assert fs.stats.prefetch_lists >= 35
    # the foreground listed the root, w, and w/d0 (which showed a walk under way)
    assert fs.stats.list_requests - fs.stats.prefetch_lists <= 3
    assert jobs.most <= CONCURRENCY


@pytest.mark.parametrize("dir_max", [0, 1, 4, 9, 24, 48, 64, 200])
def test_listing_ahead_leaves_the_walker_its_share_of_the_dir_cache(dir_max: int) -> None:
    files, dirs = tree(4, 2)
    jobs = Jobs()
    fs, t, _ = memory_fs(files, spawn=jobs, dir_max=dir_max)
    room = list_room(dir_max)
    assert room <= LIST_AHEAD_MAX and dir_max - room >= min(WALKER_DIRS, (dir_max + 1) // 2)
    visited: set[str] = set()
    worst = 0

    def ahead() -> int:
        listed = {r.path for r in t.requests("list")}
        return len(listed - visited)

    def visit(top: str) -> None:
        nonlocal worst
        visited.add(top)
        entries = fs.readdir("/" + top)
        while jobs.queue:
            jobs.queue.pop(0)()
            worst = max(worst, ahead())
        for name, attrs in entries:
            if attrs is not None and attrs.is_dir:
                visit(f"{top}/{name}")

    visited.add("")
    visit("w")
    assert worst <= room
    if room == 0:
        assert fs.stats.prefetch_lists == 0
    assert jobs.most <= CONCURRENCY


def test_a_larger_dir_cache_lets_a_walk_list_further_ahead() -> None:
    # -cdn is the knob for deep, bushy trees (the reference says to raise it):
    # on a link each listing ahead waits a round trip, and those held for the
    # walker stop new ones once the room is full, so the room must grow with
    # -cdn (here 40 of 48) rather than stop at a fixed 16
    files, _ = tree(6, 2)  # 42 folders below w
    jobs = Jobs()
    fs, t, _ = memory_fs(files, spawn=jobs, dir_max=48)
    fs.readdir("/w")
    fs.readdir("/w/d0")  # a walk under way: list ahead
    for _ in range(10):  # every listing lands before the walker moves on
        jobs.run()
    listed = {r.path for r in t.requests("list")}
    assert len(listed - {"", "w", "w/d0"}) == list_room(48) == 40
    assert jobs.most <= CONCURRENCY


def test_a_listing_ahead_that_fails_is_listed_by_the_walker() -> None:
    files, dirs = tree(2, 2)
    jobs = Jobs()
    fs, t, _ = memory_fs(files, spawn=jobs)
    fs.readdir("/w")
    fs.readdir("/w/d0")
    t.fail(Transient("down"), kind="list", times=10)
    jobs.run()
    t.clear_faults()
    seen: list[str] = []
    walk(fs, jobs, "w", seen)
    assert len(seen) == 7


# ---- threads: waiting instead of fetching twice, the real cap ---------------


class Gated(MemoryTransport):
    """Calls block until the test opens the gate; counts calls in progress."""

    def __init__(self, *a, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*a, **kw)
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.busy = 0
        self.most = 0
        self._count = threading.Lock()

    def _enter(self) -> None:
        with self._count:
            self.busy += 1
            self.most = max(self.most, self.busy)
        self.entered.set()

    def _leave(self) -> None:
        with self._count:
            self.busy -= 1

    def read_range(self, path: str, start: int, end: int, entry: Entry) -> bytes:
        self._enter()
        try:
            self.gate.wait(10)
            return super().read_range(path, start, end, entry)
        finally:
            self._leave()

    def list_dir(self, path: str) -> list[Entry]:
        self._enter()
        try:
            if path.count("/") >= 1:
                self.gate.wait(10)
            return super().list_dir(path)
        finally:
            self._leave()


def test_a_read_of_a_file_being_fetched_ahead_waits_for_it_instead_of_fetching_twice() -> None:
    files = folder(2)
    t = Gated(files)
    t.gate.set()
    fs, pool = pooled_fs(t, 4, dir_max=64)
    try:
        fs.readdir("/p")
        t.gate.clear()
        # opening f000 starts the fetch-ahead of f001 in the pool
        fh = fs.open("/p/f000", os.O_RDONLY)
        assert t.entered.wait(10)  # the job is inside the transport, holding its gate
        assert run_past_gate(lambda: read_all(fs, "/p/f001"), t.gate) == files["p/f001"]
        assert len(t.requests("range", "p/f001")) == 1
        fs.release("/p/f000", fh)
    finally:
        t.gate.set()
        pool.shutdown(wait=True)


def test_never_more_requests_in_flight_than_the_cap_with_a_larger_pool() -> None:
    files = folder(80)
    for k in range(30):
        files[f"w/d{k:02d}/x"] = b"x"
    t = Gated(files)
    t.gate.set()
    fs, pool = pooled_fs(t, 4 * CONCURRENCY, dir_max=64)
    try:
        fs.readdir("/p")
        fs.readdir("/w")
        fs.readdir("/w/d00")  # a walk under way: folders are listed ahead too
        t.gate.clear()
        fh = fs.open("/p/f000", os.O_RDONLY)
        wait_for(lambda: t.busy >= CONCURRENCY, what="the fetch-ahead jobs to fill the cap")
        assert t.busy == CONCURRENCY  # the pool had room for more: the cap held them
        t.gate.set()
        fs.release("/p/f000", fh)
        for name, _ in fs.readdir("/p"):
            assert read_all(fs, f"/p/{name}") == files[f"p/{name}"]
    finally:
        t.gate.set()
        pool.shutdown(wait=True)
    assert t.most <= CONCURRENCY + 1  # the cap, plus the one foreground call


def test_files_read_go_first_so_a_small_cache_keeps_the_files_fetched_ahead() -> None:
    # -cf 1: half of 1 MiB holds five 100 KiB files ahead; the files the
    # program has read must be the ones pushed out, never the unread ones
    files = folder(40, 100 * KiB)
    jobs = Jobs()
    fs, t, _ = memory_fs(files, spawn=jobs, file_blocks=1)
    got = copy_folder(fs, jobs, "/p")
    assert got == {k.removeprefix("p/"): v for k, v in files.items()}
    assert fs.stats.misses == 1 and fs.stats.prefetch_used == 39


def test_bytes_fetched_ahead_of_a_version_listed_away_meanwhile_are_not_kept() -> None:
    _, fs, t, clock, jobs = copy_started(3)
    new = replaced_meanwhile(fs, t, clock, "p/f001")
    jobs.queue.pop(0)()  # the job for f001: its old bytes come back after the change
    assert fs.version_cached("/p/f001") is None
    assert read_all(fs, "/p/f001") == new


def test_a_listing_fetched_ahead_ages_from_when_it_was_asked() -> None:
    files, _ = tree(2, 1)
    jobs = Jobs()
    fs, t, clock = memory_fs(files, spawn=jobs, dir_ttl=1.0)
    fs.readdir("/w")
    fs.readdir("/w/d0")
    clock.advance(0.6)
    jobs.run()  # w/d1 asked at 0.6 s
    assert len(t.requests("list", "w/d1")) == 1
    clock.advance(0.5)
    fs.readdir("/w/d1")  # 0.5 s old: fresh, no request
    assert len(t.requests("list", "w/d1")) == 1
    clock.advance(0.5)
    fs.readdir("/w/d1")  # 1.0 s old: stale under -cds 1, listed again
    assert len(t.requests("list", "w/d1")) == 2


def listing_queued() -> tuple[RemoteFS, Gated, Jobs]:
    """A walk over w (w, then w/d0 listed) whose listing ahead of w/d1 is
    queued, with the transport's gate shut for whatever lists w/d1 next."""
    files, _ = tree(2, 1)
    t = Gated(files)
    t.gate.set()
    jobs = Jobs()
    fs = make_fs(t, lock_factory=threading.Lock, spawn=jobs)
    fs.readdir("/w")
    fs.readdir("/w/d0")
    assert jobs.queue
    t.gate.clear()
    t.entered.clear()
    return fs, t, jobs


def test_a_listing_of_a_folder_being_listed_ahead_waits_for_it() -> None:
    fs, t, jobs = listing_queued()
    worker = threading.Thread(target=jobs.queue.pop(0))
    worker.start()
    assert t.entered.wait(10)  # the job is inside list_dir("w/d1"), holding its gate
    listed = run_past_gate(lambda: fs.readdir("/w/d1"), t.gate)
    worker.join(10)
    assert [name for name, _ in listed] == ["x.txt"]
    assert len(t.requests("list", "w/d1")) == 1


def test_a_listing_still_queued_is_listed_by_the_walker_and_not_again_by_its_job() -> None:
    # one CPU, every worker busy: the walker reaches a folder whose listing
    # ahead has not started yet and lists it itself; the job, starting while
    # that listing is still on its way, must not list the folder a second time
    fs, t, jobs = listing_queued()
    got: list[Any] = []
    walker = threading.Thread(target=lambda: got.append(fs.readdir("/w/d1")))
    walker.start()
    assert t.entered.wait(10)  # the walker is inside list_dir("w/d1")
    job = threading.Thread(target=jobs.run)
    job.start()
    job.join(10)  # it lists nothing, so it does not wait for the gate
    assert not job.is_alive()
    t.gate.set()
    walker.join(10)
    assert [name for name, _ in got[0]] == ["x.txt"]
    assert len(t.requests("list", "w/d1")) == 1
    assert fs.stats.prefetch_lists == 0


def test_listings_fetched_ahead_are_not_pushed_out_by_the_walker_before_use() -> None:
    # -cdn 24 (upstream's default) and a wide tree: the walker's own listings must
    # not push out the ones listed ahead of it, or they are listed again
    fs, _, seen = walk_tree(10, 2)  # 110 folders below w
    assert len(seen) == 111
    assert fs.stats.prefetch_lists >= 100


def test_an_idle_fetch_ahead_costs_an_open_no_look_at_the_listings() -> None:
    # a second copy of the files of a folder the cache holds whole, its
    # subfolders listed ahead meanwhile: once a plan found nothing to do, opens
    # of cached files neither plan nor look at each listing held ahead (that
    # checking cost more than the plan itself on every open)
    files = {**folder(40), **{f"p/s{k}/x": payload(100, k) for k in range(6)}}
    jobs = Jobs()
    fs, t, _ = memory_fs(files, spawn=jobs, file_blocks=64, dir_max=64)
    dirs = fs._prefetch._shared.dirs
    looks = 0
    real_fresh = dirs.fresh

    def counted(*args: Any, **kw: Any) -> Any:
        nonlocal looks
        looks += 1
        return real_fresh(*args, **kw)

    dirs.fresh = counted  # type: ignore[method-assign]

    def copy_files() -> tuple[dict[str, bytes], list[int]]:
        out, per_open = {}, []
        fs.readdir("/")  # a walk from the top: its subfolders are listed ahead
        for name, attrs in fs.readdir("/p"):
            if attrs is not None and attrs.is_dir:
                continue
            before = looks
            fh = fs.open(f"/p/{name}", os.O_RDONLY)
            per_open.append(looks - before)
            out[name] = read_all(fs, f"/p/{name}", fh=fh)
            fs.release(f"/p/{name}", fh)
            jobs.run()
        return out, per_open

    copy_files()
    jobs.run()
    assert fs.stats.prefetch_lists >= 4  # subfolders listed ahead, not used yet
    requests = len(t.log)
    got, per_open = copy_files()
    assert got == {k.removeprefix("p/"): v for k, v in files.items() if k.count("/") == 1}
    assert len(t.log) == requests  # all from the cache
    # every REPLAN_OPENS opens plan again; the others look at nothing
    assert per_open.count(0) >= len(per_open) - len(per_open) // 8 - 1, per_open


def test_listings_fetched_ahead_are_let_go_once_stale_without_a_look_at_every_plan() -> None:
    from partyfuse.core.prefetcher import AHEAD_RECHECK

    files, _ = tree(4, 2)
    jobs = Jobs()
    fs, _, clock = memory_fs(files, spawn=jobs, dir_ttl=1.0, dir_max=64)
    pf, dirs = fs._prefetch, fs._prefetch._shared.dirs
    fs.readdir("/w")
    fs.readdir("/w/d0")  # a walk: the folders after it are listed ahead
    jobs.run()
    ahead = set(pf.policy.ahead_dirs())
    assert ahead and ahead <= dirs._pinned
    looked: list[str] = []
    real_fresh = dirs.fresh

    def counted(path: str, *args: Any, **kw: Any) -> Any:
        looked.append(path)
        return real_fresh(path, *args, **kw)

    dirs.fresh = counted  # type: ignore[method-assign]
    clock.advance(AHEAD_RECHECK / 2)
    for _ in range(5):
        pf.pump()
    assert not ahead & set(looked)  # looked at once per AHEAD_RECHECK, not per plan
    clock.advance(1.0)  # past -cds 1: every listing held ahead is stale now
    pf.pump()
    assert pf.policy.ahead_dirs() == [] and not ahead & dirs._pinned
