"""The benchmark's "no-network ceiling": partyfuse's own FUSE adapter, mount
options, threads and kernel read-ahead over a local folder, with the local
disk in place of the HTTP transport and the cache core.

Why: on loopback the client, the reading program and the kernel's FUSE copies
all share one pinned CPU.  How fast a Python FUSE daemon can be there at best
(no socket, no HTTP, no planning) says which loopback targets are reachable
at all; the benchmark shows it as a column beside the real clients.

    python scripts/bench_ceiling.py ROOT MOUNTPOINT      # Ctrl-C or fusermount -u ends it
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from partyfuse.core.attrs import Attrs  # noqa: E402
from partyfuse.core.errors import FsError  # noqa: E402
from partyfuse.fuse_adapter import make_operations, mount_options, run_mount  # noqa: E402
from partyfuse.fusebind import FuseUnavailable, load  # noqa: E402


def _attrs(st: os.stat_result) -> Attrs:
    is_dir = stat.S_ISDIR(st.st_mode)
    return Attrs(is_dir, 0 if is_dir else st.st_size, st.st_mtime)


class LocalFS:
    """The ``FileSystem`` the adapter calls, answered from a local folder."""

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)
        self._fds: dict[int, int] = {}
        self._lock = threading.Lock()
        self._next = 0

    def _local(self, path: str) -> str:
        return self.root + path if path != "/" else self.root

    def getattr(self, path: str) -> Attrs:
        try:
            return _attrs(os.lstat(self._local(path)))
        except OSError as ex:
            raise FsError(ex.errno or errno.EIO, str(ex)) from None

    def readdir(self, path: str) -> list[tuple[str, Any]]:
        try:
            with os.scandir(self._local(path)) as it:
                return [(e.name, _attrs(e.stat(follow_symlinks=False))) for e in it]
        except OSError as ex:
            raise FsError(ex.errno or errno.EIO, str(ex)) from None

    def open(self, path: str, flags: int) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR):
            raise FsError(errno.EROFS, "read-only")
        try:
            fd = os.open(self._local(path), os.O_RDONLY)
        except OSError as ex:
            raise FsError(ex.errno or errno.EIO, str(ex)) from None
        with self._lock:
            self._next += 1
            self._fds[self._next] = fd
            return self._next

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        return os.pread(self._fds[fh], size, offset)

    def release(self, path: str, fh: int) -> None:
        with self._lock:
            fd = self._fds.pop(fh)
        os.close(fd)

    def opendir(self, path: str) -> int:
        if not os.path.isdir(self._local(path)):
            raise FsError(errno.ENOTDIR, path)
        return 0

    def access(self, path: str, mode: int) -> None:
        if mode & os.W_OK:
            raise FsError(errno.EROFS, "read-only")

    def statfs(self) -> dict[str, Any]:
        return {"f_bsize": 4096, "f_frsize": 4096, "f_namemax": 255}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not os.path.isdir(argv[0]):
        print("usage: bench_ceiling.py ROOT MOUNTPOINT (ROOT a folder)", file=sys.stderr)
        return 2
    try:
        binding = load()
    except FuseUnavailable as ex:
        print(f"bench_ceiling: {ex}", file=sys.stderr)
        return 1
    ops = make_operations(LocalFS(argv[0]), binding, timeout=1.0)
    opts = mount_options(binding=binding, fsname="ceiling:" + argv[0], timeout=1.0)
    run_mount(ops, argv[1], binding, opts)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
