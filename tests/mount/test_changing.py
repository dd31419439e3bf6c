"""Files changing on the server while a program reads them, through a real mount.

On copyparty (dates only: If-Range with the listing's date) and nginx (ETags):
a file is opened and its head read, then replaced (same size or another),
truncated, grown or deleted on the server, and the program reads on.  What it
gets must be exact bytes of the version it started with, or an error --
never the old head followed by the new tail; ``-cds`` later, a new open sees
the new size and bytes, and a deleted file is ENOENT, not stale bytes.

Both orders are tried: reading on at once (only the read's own checks --
size, If-Range -- can notice), and after ``-cds`` has passed (a fresh listing
shows the change first).  Old files are dated in the past, so the change is
visible to dates too: a replacement within the same second at the same size
has nothing that tells it apart on copyparty, which sends no ETag (README,
"Files that change").
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fakes.clock import FakeClock
from fakes.memory import MemoryTransport
from fakes.tree import Tree
from partyfuse.core.errors import FsError
from tests.support.copyparty import ServerFactory
from tests.support.fs import make_fs
from tests.support.mounts import Mounter
from tests.support.wait import wait_for

CDS = 0.5
SIZE = 3 << 20
HEAD = 4096
CHUNK = 128 << 10
OLD_MTIME = 1_600_000_000
CHANGES = ["replaced-same-size", "replaced-other-size", "truncated", "grown", "deleted"]


@pytest.fixture(scope="module", params=["copyparty", "nginx"])
def served(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    module_mounter: Mounter,
) -> tuple[Path, Path]:
    """(directory the server serves, where it is mounted): one per server, each
    test using its own file names."""
    if request.param == "copyparty":
        factory: ServerFactory = request.getfixturevalue("copyparty_factory")
        root = tmp_path_factory.mktemp("changing") / "root"
        root.mkdir()
        url = factory(root).url
    else:
        nginx = request.getfixturevalue("real_server_module")("nginx", Tree(), variant="html")
        root, url = nginx.root, nginx.url("/")
    return root, module_mounter(url, "-q", "-cds", str(CDS)).path


def write(path: Path, data: bytes, mtime: float | None = None) -> None:
    """Write the way an upload lands: a temporary file renamed into place."""
    tmp = path.with_name(".partial-" + path.name)
    tmp.write_bytes(data)
    if mtime is not None:
        os.utime(tmp, (mtime, mtime))
    os.replace(tmp, path)


def change(kind: str, path: Path, old: bytes) -> bytes | None:
    """Change the file on the server; the new bytes (None: deleted)."""
    new: bytes | None
    if kind == "replaced-same-size":
        new = os.urandom(len(old))
        write(path, new)
    elif kind == "replaced-other-size":
        new = os.urandom(len(old) - 12345)
        write(path, new)
    elif kind == "truncated":
        new = old[: len(old) // 3]
        with open(path, "r+b") as f:
            f.truncate(len(new))
    elif kind == "grown":
        new = old + os.urandom(1 << 20)
        with open(path, "ab") as f:
            f.write(new[len(old) :])
    else:
        new = None
        path.unlink()
    if new is not None:
        os.utime(path)  # "now": whatever the filesystem's timestamp granularity
    return new


def read_on(fd: int, offset: int) -> tuple[list[tuple[int, bytes]], OSError | None]:
    """Read from ``offset`` to EOF; the chunks got and the error that stopped it."""
    got: list[tuple[int, bytes]] = []
    while True:
        try:
            chunk = os.pread(fd, CHUNK, offset)
        except OSError as e:
            return got, e
        if not chunk:
            return got, None
        got.append((offset, chunk))
        offset += len(chunk)


def first_difference(got: bytes, want: bytes) -> str:
    """Where two versions part, for a short failure message."""
    at = next(
        (i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b),
        min(len(got), len(want)),
    )
    return f"{len(got)} bytes read, {len(want)} expected, first difference at {at}"


def eventually(check: Callable[[], None], timeout: float = 10.0) -> None:
    """Retry ``check`` until it passes: -cds bounds how long stale metadata may show."""

    def passes() -> bool:
        try:
            check()
        except (AssertionError, OSError):
            return False
        return True

    try:
        wait_for(passes, timeout, f"{check.__name__} to pass", interval=CDS / 2)
    except AssertionError:
        check()  # fails once more with its own message (or passed just in time)


@pytest.mark.parametrize("wait", [False, True], ids=["at-once", "after-cds"])
@pytest.mark.parametrize("kind", CHANGES)
def test_a_file_changing_while_read_is_never_a_mix(
    served: tuple[Path, Path], kind: str, wait: bool
) -> None:
    root, mnt = served
    name = f"{kind}-{wait}.bin"
    old = os.urandom(SIZE)
    write(root / name, old, OLD_MTIME)
    mounted = mnt / name

    def shows_old() -> None:
        assert os.stat(mounted).st_size == SIZE

    eventually(shows_old)  # the mount's listing of the folder may be -cds old
    fd = os.open(mounted, os.O_RDONLY)
    try:
        assert os.pread(fd, HEAD, 0) == old[:HEAD]
        new = change(kind, root / name, old)
        if wait:
            time.sleep(CDS * 2)
        got, error = read_on(fd, HEAD)
    finally:
        os.close(fd)

    for offset, chunk in got:
        assert chunk == old[offset : offset + len(chunk)], (
            f"bytes at {offset} are not the version the read started with"
        )
    if error is None:
        assert HEAD + sum(len(c) for _, c in got) == SIZE, "the old version ended early"
    else:
        assert error.errno in (errno.EIO, errno.ENOENT), error
    if new is None:
        assert error is not None and error.errno == errno.ENOENT, "stale bytes of a deleted file"

        def gone() -> None:
            assert not os.path.exists(mounted)
            with pytest.raises(FileNotFoundError):
                open(mounted, "rb").close()

        eventually(gone)
        return

    def shows_new() -> None:
        assert os.stat(mounted).st_size == len(new)
        data = mounted.read_bytes()
        # not `data == new`: pytest's diff of two 3 MiB byte strings takes minutes
        same = data == new
        assert same, f"not the new version: {first_difference(data, new)}"

    eventually(shows_new)


def test_a_file_gone_from_a_fresh_listing_serves_no_cached_bytes() -> None:
    # the core alone (no kernel cache in the way): cached blocks of a file the
    # server no longer lists are dropped, so an open handle gets ENOENT
    clock = FakeClock()
    t = MemoryTransport({"d/f": b"x" * 100_000, "d/g": b"y"}, clock=clock)
    fs = make_fs(t, clock=clock, dir_ttl=1.0)
    fh = fs.open("/d/f", os.O_RDONLY)
    assert fs.read("/d/f", 4096, 0, fh) == b"x" * 4096
    assert fs.version_cached("/d/f") is not None
    t.remove("d/f")
    clock.advance(2.0)
    assert [name for name, _ in fs.readdir("/d")] == ["g"]
    assert fs.version_cached("/d/f") is None
    with pytest.raises(FsError) as info:
        fs.read("/d/f", 4096, 0, fh)
    assert info.value.errno == errno.ENOENT
