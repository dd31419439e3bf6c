"""File versions: a changed file drops its blocks, Changed is retried once, versions never mix."""

from __future__ import annotations

import errno
import os

import pytest

from partyfuse.core.errors import Changed, FsError
from tests.support.fs import KiB, MiB, memory_fs, payload, read_all


def test_refreshed_listing_with_new_mtime_drops_the_files_blocks() -> None:
    old, new = payload(2 * MiB, 1), payload(2 * MiB, 2)
    fs, t, clock = memory_fs({"d/f": old, "d/g": b"keep"})
    assert read_all(fs, "/d/f") == old
    assert read_all(fs, "/d/g") == b"keep"
    assert fs.version_cached("/d/f") is not None
    t.put("d/f", new)  # same size, newer mtime
    clock.advance(1.0)
    fs.getattr("/d/f")  # re-lists d
    assert fs.version_cached("/d/f") is None
    assert fs.version_cached("/d/g") is not None  # unchanged neighbour keeps its blocks
    assert read_all(fs, "/d/f") == new


def test_etag_change_alone_drops_blocks() -> None:
    old = payload(100 * KiB, 1)
    fs, t, clock = memory_fs({"f": old}, etags=True)
    assert read_all(fs, "/f") == old
    mtime = t.mtimes["f"]
    new = payload(100 * KiB, 2)
    t.put("f", new, mtime=mtime)  # same size and mtime, new etag
    clock.advance(1.0)
    fs.getattr("/f")
    assert fs.version_cached("/f") is None
    assert read_all(fs, "/f") == new


def test_changed_during_read_relists_and_retries_once() -> None:
    old, new = payload(4 * MiB, 1), payload(4 * MiB + 5, 2)
    fs, t, _ = memory_fs({"d/f": old})
    fh = fs.open("/d/f", os.O_RDONLY)
    t.put("d/f", new)  # the listing is still fresh: the handle expects the old version
    lists_before = len(t.requests("list"))
    got = fs.read("/d/f", 4096, 2 * MiB, fh)
    assert got == new[2 * MiB : 2 * MiB + 4096]
    assert fs.stats.changed_retries == 1
    assert len(t.requests("list")) == lists_before + 1
    # later reads of the handle follow the new version, never the old cached head
    assert fs.read("/d/f", 4096, 0, fh) == new[:4096]
    assert fs.getattr("/d/f").size == len(new)


def test_a_handle_that_returned_old_bytes_fails_rather_than_mix() -> None:
    old, new = payload(4 * MiB, 1), payload(4 * MiB + 5, 2)
    fs, t, clock = memory_fs({"d/f": old})
    fh = fs.open("/d/f", os.O_RDONLY)
    assert fs.read("/d/f", 4096, 0, fh) == old[:4096]
    t.put("d/f", new)
    with pytest.raises(FsError) as info:  # noticed by the read itself
        fs.read("/d/f", 4096, 2 * MiB, fh)
    assert info.value.errno == errno.EIO
    with pytest.raises(FsError):  # and from then on, even where old bytes were cached
        fs.read("/d/f", 4096, 0, fh)
    fresh = fs.open("/d/f", os.O_RDONLY)
    assert fs.read("/d/f", 4096, 2 * MiB, fresh) == new[2 * MiB : 2 * MiB + 4096]
    # noticed by a listing: the same
    a = fs.open("/d/f", os.O_RDONLY)
    assert fs.read("/d/f", 10, 0, a) == new[:10]
    t.put("d/f", old)
    clock.advance(60.0)
    assert fs.getattr("/d/f").size == len(old)
    with pytest.raises(FsError):
        fs.read("/d/f", 10, 10, a)


def test_one_read_never_mixes_bytes_of_two_versions() -> None:
    old, new = payload(1 * MiB, 1), payload(1 * MiB, 2)
    fs, t, _ = memory_fs({"f": old})
    a = fs.open("/f", os.O_RDONLY)
    fs.read("/f", 4096, 0, a)  # caches the old [0, 68K)
    t.put("f", new)
    b = fs.open("/f", os.O_RDONLY)
    # half cached (old), half missing: the fetch sees Changed, everything is re-read
    assert fs.read("/f", 64 * KiB, 40 * KiB, b) == new[40 * KiB : 104 * KiB]


def test_changed_twice_is_eio() -> None:
    fs, t, _ = memory_fs({"f": payload(10 * KiB)})
    fh = fs.open("/f", os.O_RDONLY)
    t.fail(Changed("f"), kind="range", times=2)
    with pytest.raises(FsError) as info:
        fs.read("/f", 4096, 0, fh)
    assert info.value.errno == errno.EIO
    assert len(t.requests("range")) == 2
    assert fs.read("/f", 4096, 0, fh) == t.files["f"][:4096]  # and it recovers


def test_file_removed_during_read_is_enoent() -> None:
    fs, t, _ = memory_fs({"d/f": payload(10 * KiB)})
    fh = fs.open("/d/f", os.O_RDONLY)
    t.remove("d/f")
    with pytest.raises(FsError) as info:
        fs.read("/d/f", 4096, 0, fh)
    assert info.value.errno == errno.ENOENT


def test_unknown_size_file_reads_exactly_after_probe() -> None:
    data = payload(2 * MiB + 3)
    fs, t, _ = memory_fs({"d/f": data}, unknown_sizes=True)
    assert read_all(fs, "/d/f") == data
    assert len(t.requests("probe")) == 1
    assert all(e <= len(data) for _, e in [(r.start, r.end) for r in t.requests("range")])
