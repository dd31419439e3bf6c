"""Every failure reaches the adapter as an FsError with one errno; the tree is read-only."""

from __future__ import annotations

import errno
import os

import pytest

from partyfuse.core.errors import Forbidden, FsError, NotFound, ProtocolError, Transient
from partyfuse.core.remotefs import Attrs
from tests.support.fs import make_fs, memory_fs, payload


def _errno(fn, *args) -> int:  # type: ignore[no-untyped-def]
    with pytest.raises(FsError) as info:
        fn(*args)
    return info.value.errno


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (NotFound("x"), errno.ENOENT),
        (Forbidden("x"), errno.EACCES),
        (Transient("x"), errno.EIO),
        (ProtocolError("x"), errno.EIO),
        (RuntimeError("bug"), errno.EIO),
    ],
)
def test_transport_errors_map_to_errno(error: Exception, expected: int) -> None:
    fs, t, _ = memory_fs({"d/f": payload(1000)})
    t.fail(error, kind="list")  # type: ignore[arg-type]
    assert _errno(fs.getattr, "/d/f") == expected
    assert fs.getattr("/d/f").size == 1000  # the next call works
    fh = fs.open("/d/f", os.O_RDONLY)
    t.fail(error, kind="range")  # type: ignore[arg-type]
    assert _errno(fs.read, "/d/f", 100, 0, fh) == expected
    assert fs.read("/d/f", 100, 0, fh) == t.files["d/f"][:100]


def test_probe_failure_maps_to_errno() -> None:
    fs, t, _ = memory_fs({"f": b"abc"}, unknown_sizes=True)
    t.fail(Forbidden("f"), kind="probe")
    assert _errno(fs.getattr, "/f") == errno.EACCES
    assert fs.getattr("/f").size == 3


def test_short_body_is_eio_and_never_returned() -> None:
    fs, t, _ = memory_fs({"f": payload(5000)})
    fh = fs.open("/f", os.O_RDONLY)
    t.short_bodies(path="f")
    assert _errno(fs.read, "/f", 100, 0, fh) == errno.EIO
    assert fs.cached_bytes == 0
    assert fs.read("/f", 100, 0, fh) == t.files["f"][:100]


@pytest.mark.parametrize(
    "flags",
    [
        os.O_WRONLY,
        os.O_RDWR,
        os.O_RDONLY | os.O_TRUNC,
        os.O_WRONLY | os.O_CREAT,
        os.O_RDWR | os.O_APPEND,
    ],
)
def test_opening_for_write_is_erofs(flags: int) -> None:
    fs, t, _ = memory_fs({"f": b"abc"})
    assert _errno(fs.open, "/f", flags) == errno.EROFS
    assert t.log == []


def test_access_rules() -> None:
    fs, _, _ = memory_fs({"d/f": b"abc"})
    assert _errno(fs.access, "/d/f", os.W_OK) == errno.EROFS
    assert _errno(fs.access, "/", os.R_OK | os.W_OK) == errno.EROFS
    assert _errno(fs.access, "/d/nope", os.R_OK) == errno.ENOENT
    assert _errno(fs.access, "/d/f", os.X_OK) == errno.EACCES
    fs.access("/d/f", os.R_OK)
    fs.access("/d", os.R_OK | os.X_OK)
    fs.access("/", os.F_OK)


def test_open_directory_is_eisdir_and_readdir_of_file_is_enotdir() -> None:
    fs, _, _ = memory_fs({"d/f": b"abc"})
    assert _errno(fs.open, "/d", os.O_RDONLY) == errno.EISDIR
    assert _errno(fs.open, "/", os.O_RDONLY) == errno.EISDIR
    fs.getattr("/d/f")
    assert _errno(fs.readdir, "/d/f") == errno.ENOTDIR
    assert _errno(fs.readdir, "/nope") == errno.ENOENT
    assert fs.opendir("/d") >= 1
    fs.releasedir("/d", 1)


def test_stat_dicts_are_read_only_modes() -> None:
    f = Attrs(False, 1025, 12.5).to_stat()
    d = Attrs(True, 0, 3.0).to_stat()
    assert f["st_mode"] == 0o100444 and f["st_size"] == 1025 and f["st_blocks"] == 3
    assert f["st_mtime"] == f["st_atime"] == f["st_ctime"] == 12.5 and f["st_nlink"] == 1
    assert d["st_mode"] == 0o40555 and d["st_nlink"] == 2


def test_statfs_is_a_dict_with_a_block_size() -> None:
    fs, t, _ = memory_fs({})
    st = fs.statfs()
    assert st["f_bsize"] > 0 and st["f_namemax"] == 255
    assert t.log == []


def test_names_are_mapped_both_ways() -> None:
    class QMarks:
        def to_local(self, name: str) -> str:
            return name.replace("?", "\uf03f")

        def to_remote(self, path: str) -> str:
            return path.replace("\uf03f", "?")

    from fakes.memory import MemoryTransport

    t = MemoryTransport({"what?/why?": b"because"})
    fs = make_fs(t, names=QMarks())
    assert [n for n, _ in fs.readdir("/")] == ["what\uf03f"]
    assert [n for n, _ in fs.readdir("/what\uf03f")] == ["why\uf03f"]
    fh = fs.open("/what\uf03f/why\uf03f", os.O_RDONLY)
    assert fs.read("/what\uf03f/why\uf03f", 100, 0, fh) == b"because"
