"""The in-memory transport keeps the Transport promises the core relies on."""

from __future__ import annotations

import pytest

from fakes.clock import FakeClock
from fakes.memory import MemoryTransport, Request
from partyfuse.core.errors import Changed, NotFound, ProtocolError, Transient
from tests.support.fs import memory_fs


def test_listing_shows_files_and_implied_and_explicit_dirs() -> None:
    t = MemoryTransport({"a/b/c.txt": b"xyz", "top": b""}, dirs=["empty"])
    assert [(e.name, e.is_dir, e.size) for e in t.list_dir("")] == [
        ("a", True, None),
        ("empty", True, None),
        ("top", False, 0),
    ]
    assert [e.name for e in t.list_dir("a/b")] == ["c.txt"]
    assert t.list_dir("empty") == []
    with pytest.raises(NotFound):
        t.list_dir("a/b/c.txt")
    assert t.log[0] == Request("list", "")


def test_ranges_are_exact_and_bad_ranges_are_protocol_errors() -> None:
    t = MemoryTransport({"f": b"0123456789"})
    entry = t.entry_of("f")
    assert t.read_range("f", 2, 5, entry) == b"234"
    for start, end in [(5, 11), (5, 5), (6, 5), (-1, 2)]:
        with pytest.raises(ProtocolError):
            t.read_range("f", start, end, entry)
    assert [r.end for r in t.requests("range")] == [5, 11, 5, 5, 2]


def test_replaced_file_raises_changed_for_the_old_entry() -> None:
    t = MemoryTransport({"f": b"old"}, etags=True)
    old = t.entry_of("f")
    t.put("f", b"new")
    with pytest.raises(Changed):
        t.read_range("f", 0, 3, old)
    assert t.read_range("f", 0, 3, t.entry_of("f")) == b"new"
    # same mtime and size, different bytes: only the etag tells
    t.put("f", b"NEW", mtime=t.mtimes["f"])
    with pytest.raises(Changed):
        t.read_range("f", 0, 3, old)


def test_faults_hit_the_next_n_matching_calls_only() -> None:
    t = MemoryTransport({"f": b"abc", "g": b"def"})
    t.fail(Transient("down"), path="f", times=2)
    for _ in range(2):
        with pytest.raises(Transient):
            t.probe("f", t.entry_of("f"))
    assert t.probe("g", t.entry_of("g")).size == 3
    assert t.probe("f", t.entry_of("f")).size == 3
    t.short_bodies()
    with pytest.raises(ProtocolError):
        t.read_range("g", 0, 3, t.entry_of("g"))
    assert t.read_range("g", 0, 3, t.entry_of("g")) == b"def"


def test_unknown_sizes_are_hidden_from_listings_only() -> None:
    t = MemoryTransport({"a": b"12", "b": b"345"}, unknown_sizes=["b"])
    assert {e.name: e.size for e in t.list_dir("")} == {"a": 2, "b": None}
    assert t.probe("b", t.entry_of("b")).size == 3


def test_delays_advance_the_fake_clock() -> None:
    clock = FakeClock()
    t = MemoryTransport({"f": b"abc"}, clock=clock, delay=0.25)
    start = clock()
    t.list_dir("")
    t.read_range("f", 0, 1, t.entry_of("f"))
    assert clock() == start + 0.5


def test_slow_server_listing_older_than_ttl_still_answers_getattr() -> None:
    # the listing takes longer than -cds: it is used for this call, then stale
    fs, t, _ = memory_fs({"d/f": b"abc"}, dir_ttl=1.0, delay=2.0)
    assert fs.getattr("/d/f").size == 3
    assert fs.getattr("/d/f").size == 3
    assert len(t.requests("list")) == 2
