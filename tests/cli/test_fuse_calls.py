"""The binding edge's two economies, without a mount: readdir answers that carry
each entry's attributes (readdir_plus.py) and thread states kept per libfuse
thread (thread_state.py)."""

from __future__ import annotations

import ctypes
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from partyfuse import readdir_plus, thread_state

# ---- readdir_plus ------------------------------------------------------------


class FakeStat(ctypes.Structure):
    """A struct stat cut down to what the tests look at (packed like mfusepy's)."""

    _fields_ = [("st_mode", ctypes.c_uint32), ("st_size", ctypes.c_int64)]


SET_CALLS: list[dict[str, Any]] = []


def fake_set_st_attrs(st: FakeStat, attrs: dict[str, Any], use_ns: bool = False) -> None:
    SET_CALLS.append(attrs)
    for key, value in attrs.items():
        setattr(st, key, value)


class BaseFUSE:
    def readdir_fuse_3(self, *args: Any) -> int:  # the binding's own, replaced
        raise AssertionError("the binding's readdir was used")


def binding(name: str = "mfusepy", major: int = 3) -> Any:
    module = SimpleNamespace(c_stat=FakeStat, set_st_attrs=fake_set_st_attrs)
    return SimpleNamespace(name=name, libfuse_major=major, FUSE=BaseFUSE, module=module)


class Ops:
    def __init__(self, items: list[Any]) -> None:
        self.items = items
        self.asked = 0

    def readdir(self, path: str, fh: int) -> list[Any]:
        self.asked += 1
        return self.items


def fuse_for(ops: Ops) -> Any:
    cls = readdir_plus.fuse_class(binding())
    fuse = object.__new__(cls)
    fuse.encoding, fuse.errors, fuse.use_ns = "utf-8", "surrogateescape", False
    fuse.operations = ops
    return fuse


class Buffer:
    """A kernel buffer that takes ``room`` entries per call."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.calls: list[list[tuple[bytes, Any, int, int]]] = []

    def start(self) -> None:
        self.calls.append([])

    def __call__(self, buf: Any, name: bytes, st: Any, off: int, flags: int) -> int:
        if len(self.calls[-1]) >= self.room:
            return 1
        self.calls[-1].append((name, st, off, flags))
        return 0


def handle(fh: int) -> Any:
    return SimpleNamespace(contents=SimpleNamespace(fh=fh))


def read_all(fuse: Any, fh: int, room: int) -> Buffer:
    """As the kernel does: ask from the offset the last answer ended at, until one is empty."""
    out = Buffer(room)
    offset = 0
    fip = handle(fh)
    for _ in range(100):
        out.start()
        assert fuse.readdir_fuse_3(b"/d", None, out, offset, fip, 1) == 0
        if not out.calls[-1]:
            return out
        offset = out.calls[-1][-1][2]
    raise AssertionError("readdir never ended")


def entries(n: int) -> list[Any]:
    items: list[Any] = [".", ".."]
    for i in range(n):
        attrs = None if i % 3 == 2 else {"st_mode": 0o100444, "st_size": i}
        items.append((f"f{i}", attrs, 0))
    return items


@pytest.mark.parametrize("room", [1, 7, 1000])
def test_every_name_once_in_order_with_attributes_where_known(room: int) -> None:
    ops = Ops(entries(20))
    got = read_all(fuse_for(ops), fh=5, room=room)
    flat = [e for call in got.calls for e in call]
    assert [e[0] for e in flat] == [b".", b".."] + [f"f{i}".encode() for i in range(20)]
    assert [e[2] for e in flat] == list(range(1, 23))  # each entry's offset: the next one's index
    for name, st, _, flags in flat[2:]:
        i = int(name[1:])
        if i % 3 == 2:  # size unknown: no attributes, the kernel looks it up
            assert st is None and flags == 0
        else:
            assert flags == readdir_plus.FILL_DIR_PLUS and st.st_size == i
    assert ops.asked == 1  # the later calls answer from the listing kept for this handle


def test_kept_listings_are_bounded_and_a_dropped_one_is_asked_again() -> None:
    ops = Ops(entries(5))
    fuse = fuse_for(ops)
    out = Buffer(2)
    n = readdir_plus.KEPT_LISTINGS + 10
    for fh in range(n):  # programs that stop after the first answer
        out.start()
        fuse.readdir_fuse_3(b"/d", None, out, 0, handle(fh), 1)
    assert len(fuse._listed) == readdir_plus.KEPT_LISTINGS
    assert ops.asked == n
    out.start()  # the oldest was dropped: its next call lists again, from the same place
    fuse.readdir_fuse_3(b"/d", None, out, 2, handle(0), 1)
    assert ops.asked == n + 1
    assert [e[0] for e in out.calls[-1]] == [b"f0", b"f1"]


def test_a_finished_listing_is_not_kept() -> None:
    fuse = fuse_for(Ops(entries(3)))
    read_all(fuse, fh=1, room=2)
    assert not fuse._listed


@pytest.mark.parametrize(("name", "major"), [("fusepy", 2), ("mfusepy", 2)])
def test_libfuse2_keeps_the_bindings_readdir(name: str, major: int) -> None:
    assert readdir_plus.fuse_class(binding(name, major)) is BaseFUSE


# ---- thread_state ------------------------------------------------------------


@pytest.fixture
def ensures(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    seen: list[int] = []
    monkeypatch.setattr(thread_state, "_kept", set())
    monkeypatch.setattr(thread_state, "_ensure", lambda: seen.append(threading.get_ident()))
    return seen


def in_threads(n: int, calls: int) -> list[int]:
    barrier = threading.Barrier(n)
    idents: list[int] = []

    def run() -> None:
        idents.append(threading.get_ident())
        barrier.wait()  # all alive at once: no ident reused
        for _ in range(calls):
            thread_state.keep_thread_state()
        barrier.wait()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return idents


def test_each_thread_is_kept_once(ensures: list[int]) -> None:
    idents = in_threads(4, calls=50)
    assert sorted(ensures) == sorted(idents)
    assert thread_state.kept_count() == 4


def test_the_main_thread_is_left_alone(ensures: list[int]) -> None:
    thread_state.keep_thread_state()
    assert ensures == [] and thread_state.kept_count() == 0


def test_at_most_max_kept_threads(ensures: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(thread_state, "MAX_KEPT", 3)
    in_threads(5, calls=10)
    assert len(ensures) == 3 and thread_state.kept_count() == 3


def test_entries_with_the_same_attributes_get_equal_but_separate_stats() -> None:
    items: list[Any] = [".", ".."]
    items += [(f"f{i}", {"st_mode": 0o100444, "st_size": i % 2}, 0) for i in range(6)]
    SET_CALLS.clear()
    got = read_all(fuse_for(Ops(items)), fh=1, room=1000)
    stats = [e[1] for call in got.calls for e in call][2:]
    assert [st.st_size for st in stats] == [0, 1, 0, 1, 0, 1]
    assert all(st.st_mode == 0o100444 for st in stats)
    assert len(SET_CALLS) == 2  # packed once per distinct set of attributes
    stats[0].st_size = 99  # libfuse may write into what it was given: no other entry changes
    assert [st.st_size for st in stats[1:]] == [1, 0, 1, 0, 1]


def test_kept_stats_are_bounded() -> None:
    n = readdir_plus.KEPT_STATS + 5
    items: list[Any] = [".", ".."] + [(f"f{i}", {"st_size": i}, 0) for i in range(n)]
    fuse = fuse_for(Ops(items))
    got = read_all(fuse, fh=1, room=10_000)
    stats = [e[1] for call in got.calls for e in call][2:]
    assert [st.st_size for st in stats] == list(range(n))
    assert 0 < len(fuse._stats) <= readdir_plus.KEPT_STATS


def test_a_kept_stat_is_the_bindings_own_packing() -> None:
    """Against the real mfusepy: a copy of a packed stat holds the same bytes
    as one set field by field (times with their nanoseconds included)."""
    import mfusepy  # a dependency of partyfuse on Linux

    attrs = {
        "st_mode": 0o100444,
        "st_nlink": 1,
        "st_size": 4096,
        "st_mtime": 1.7e9 + 0.25,
        "st_atime": 1.7e9 + 0.25,
        "st_ctime": 1.7e9 + 0.25,
        "st_blocks": 8,
        "st_uid": 1000,
        "st_gid": 1000,
    }
    module = SimpleNamespace(c_stat=mfusepy.c_stat, set_st_attrs=mfusepy.set_st_attrs)
    b = SimpleNamespace(name="mfusepy", libfuse_major=3, FUSE=BaseFUSE, module=module)
    fuse = object.__new__(readdir_plus.fuse_class(b))
    fuse.encoding, fuse.errors, fuse.use_ns = "utf-8", "surrogateescape", False
    fuse.operations = Ops([".", "..", ("a", attrs, 0), ("b", dict(attrs), 0)])
    got = read_all(fuse, fh=1, room=10)
    want = mfusepy.c_stat()
    mfusepy.set_st_attrs(want, attrs, False)
    stats = [e[1] for call in got.calls for e in call][2:]
    assert [bytes(st) for st in stats] == [bytes(want)] * 2
