"""Directory cache: getattr from the parent listing, TTL by the clock, LRU, -cdn 0, probes."""

from __future__ import annotations

import pytest

from fakes.clock import FakeClock
from fakes.memory import MemoryTransport
from partyfuse.core.dircache import DirCache
from partyfuse.core.model import Entry
from tests.support.fs import make_fs, memory_fs


def _lists(transport) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.path for r in transport.requests("list")]


def test_getattr_of_many_files_costs_one_listing_of_their_parent() -> None:
    files = {f"d/f{i}": b"x" * i for i in range(20)}
    fs, t, _ = memory_fs(files)
    for i in range(20):
        assert fs.getattr(f"/d/f{i}").size == i
    assert _lists(t) == ["d"]
    assert t.requests("range") == [] and t.requests("probe") == []


def test_root_attrs_need_no_request() -> None:
    fs, t, _ = memory_fs({"a": b"1"})
    attrs = fs.getattr("/")
    assert attrs.is_dir and attrs.to_stat()["st_mode"] == 0o40555
    assert t.log == []


def test_root_mtime_is_when_the_filesystem_was_made_whatever_is_cached() -> None:
    t = MemoryTransport({"a": b"1"}, default_mtime=1_600_000_000.0)
    fs = make_fs(t, mount_time=1_700_000_000.5)
    assert fs.getattr("/").mtime == 1_700_000_000.5
    assert fs.getattr("/").to_stat()["st_mtime"] == 1_700_000_000.5
    fs.readdir("/")  # a held root listing does not change it
    assert fs.getattr("/").mtime == 1_700_000_000.5
    assert [r.kind for r in t.log] == ["list"]


def test_listing_is_reused_within_ttl_and_refetched_after() -> None:
    fs, t, clock = memory_fs({"d/a": b"1"}, dir_ttl=5.0)
    fs.getattr("/d/a")
    clock.advance(4.9)
    fs.getattr("/d/a")
    assert _lists(t) == ["d"]
    clock.advance(0.2)
    fs.getattr("/d/a")
    assert _lists(t) == ["d", "d"]


def test_refreshed_listing_shows_new_and_removed_files() -> None:
    fs, t, clock = memory_fs({"d/a": b"1"})
    assert [n for n, _ in fs.readdir("/d")] == ["a"]
    t.put("d/b", b"22")
    t.remove("d/a")
    assert [n for n, _ in fs.readdir("/d")] == ["a"]  # still fresh
    clock.advance(1.0)
    assert [n for n, _ in fs.readdir("/d")] == ["b"]


def test_least_recently_used_listing_is_evicted_beyond_cdn() -> None:
    files = {f"d{i}/f": b"x" for i in range(3)}
    fs, t, _ = memory_fs(files, dir_max=2, dir_ttl=100.0)
    fs.getattr("/d0/f")
    fs.getattr("/d1/f")
    fs.getattr("/d0/f")  # d0 is now more recent than d1
    fs.getattr("/d2/f")  # evicts d1
    fs.getattr("/d0/f")
    assert _lists(t) == ["d0", "d1", "d2"]
    fs.getattr("/d1/f")
    assert _lists(t) == ["d0", "d1", "d2", "d1"]


def test_cdn_zero_lists_for_every_lookup() -> None:
    fs, t, _ = memory_fs({"d/a": b"1"}, dir_max=0)
    for _ in range(3):
        fs.getattr("/d/a")
    assert _lists(t) == ["d", "d", "d"]


def test_unknown_size_is_probed_once_and_kept_with_the_listing() -> None:
    fs, t, clock = memory_fs({"d/a": b"12345", "d/b": b"1"}, unknown_sizes=True)
    listing = dict(fs.readdir("/d"))
    assert listing == {"a": None, "b": None}
    assert fs.getattr("/d/a").size == 5
    assert fs.getattr("/d/a").size == 5
    assert [r.path for r in t.requests("probe")] == ["d/a"]
    # readdir now knows a's size, still not b's
    listing = dict(fs.readdir("/d"))
    assert listing["a"] is not None and listing["a"].size == 5 and listing["b"] is None
    # a refresh that shows the same mtime keeps the probed size: no second probe
    clock.advance(2.0)
    assert fs.getattr("/d/a").size == 5
    assert [r.path for r in t.requests("probe")] == ["d/a"]
    assert _lists(t) == ["d", "d"]


def test_unknown_size_is_probed_again_when_the_file_changed() -> None:
    fs, t, clock = memory_fs({"d/a": b"12345"}, unknown_sizes=True)
    assert fs.getattr("/d/a").size == 5
    t.put("d/a", b"123")
    clock.advance(2.0)
    assert fs.getattr("/d/a").size == 3
    assert len(t.requests("probe")) == 2


def test_dircache_unit_ttl_boundary_and_lru() -> None:
    clock = FakeClock()
    cache = DirCache(2, 1.0, clock)
    cache.put("a", [Entry("x", False, 1, 0.0)])
    assert cache.get("a") is not None
    clock.advance(0.999)
    assert cache.get("a") is not None
    clock.advance(0.001)
    assert cache.get("a") is None
    assert cache.peek("a") is not None  # stale is kept for comparison
    cache.put("b", [])
    cache.put("c", [])
    assert len(cache) == 2 and cache.peek("a") is None


@pytest.mark.parametrize("path", ["/missing", "/d/missing", "/nodir/x"])
def test_missing_paths_are_enoent(path: str) -> None:
    from partyfuse.core.errors import FsError

    fs, _, _ = memory_fs({"d/a": b"1"})
    with pytest.raises(FsError) as info:
        fs.getattr(path)
    assert info.value.errno == 2


def test_missing_names_are_answered_from_the_held_listing() -> None:
    # desktop managers and Windows probe for .hidden, desktop.ini, autorun.inf ...
    from partyfuse.core.errors import FsError

    fs, t, _ = memory_fs({"d/a": b"1"})
    assert fs.getattr("/d/a").size == 1
    for name in (".hidden", "desktop.ini", "autorun.inf"):
        with pytest.raises(FsError) as info:
            fs.getattr(f"/d/{name}")
        assert info.value.errno == 2
    assert _lists(t) == ["d"]


def test_a_pinned_listing_is_passed_over_by_the_lru_until_unpinned() -> None:
    clock = FakeClock()
    cache = DirCache(3, 10.0, clock)
    for name in ("ahead", "a", "b"):
        cache.put(name, [Entry("x", False, 1, 1.0)])
    cache.pin("ahead")  # fetched ahead, not used yet: the oldest, yet kept
    cache.put("c", [])
    cache.put("d", [])
    assert cache.peek("ahead") is not None
    assert cache.peek("a") is None and cache.peek("b") is None
    cache.unpin("ahead")
    cache.put("e", [])
    assert cache.peek("ahead") is None
