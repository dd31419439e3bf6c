"""The read-only filesystem the FUSE adapter calls: paths in, attrs and bytes out.

``RemoteFS`` owns the directory cache, the block cache and the open handles,
and turns every transport error into an ``FsError`` carrying one errno.  It
does no IO itself: listings and bytes come from the injected ``Transport``,
time from ``clock``, locks from ``lock_factory`` and background work (read-ahead)
from ``spawn``.  The lock is never held during a transport call, so one slow
request does not stall other FUSE threads.  Its parts share one ``Shared``:
``namespace.Namespace`` holds listings and looks entries up (and keeps caches
and handles consistent with what a listing shows), ``reader.Reader`` serves
reads, ``fetcher.Fetcher`` makes every transport call (counted, fetches in
flight gated, read-ahead jobs) and ``prefetcher.Prefetcher`` fetches ahead
across files and folders.  Calls that would modify the tree never reach it:
the FUSE adapter answers them EROFS itself; ``open`` for writing and
``access`` with ``W_OK`` are EROFS here.

Memory: cached file data never exceeds ``file_blocks * BLOCK_SIZE`` bytes
(``-cf 12``: 12 MiB; counted in bytes, each block charged at least 4 KiB).
Transiently, each read in progress also holds the bytes
it fetches, at most ``max(read size, min(cache budget, read size + 8 MiB))``
(padding is at most 4 MiB a side, a stream window at most 8 MiB).  Each open
handle has at most ``AHEAD_WINDOWS`` (4) read-ahead windows in flight, each at
most 1 MiB and together inside its window of at most ``min(8 MiB, half the
budget)``; a media file's early tail is one of them (1 MiB).  So the worst case
is the cache plus, per busy FUSE thread, one read's fetch, plus 4 MiB per
streaming handle.  Fetch-ahead across files (``prefetcher``) holds at most half
the budget in flight and unread, small files only, and at most 8 listings in
flight.  What to fetch within a file is decided by ``readplan`` alone:
``plan_read`` for every read, ``plan_hit`` for the cached fast path (``Reader.hit``).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from collections.abc import Callable, Mapping
from typing import TypeVar

from .attrs import Attrs, CacheConfig, attrs_of
from .blockcache import BlockCache
from .dircache import DirCache
from .errors import FsError, TransportError
from .fetcher import Fetcher
from .handles import FileHandle
from .model import BLOCK_SIZE, Entry, FileVersion
from .names import NameMap
from .namespace import Namespace, split
from .prefetcher import Prefetcher
from .reader import Reader
from .shared import LockFactory, Shared, Spawn
from .transport import Clock, Transport

__all__ = ["Attrs", "CacheConfig", "FsError", "NameMap", "RemoteFS", "Spawn", "LockFactory"]

log = logging.getLogger(__name__)

T = TypeVar("T")


def guard(fn: Callable[[], T]) -> T:
    """Run ``fn`` turning every failure into an FsError with one errno."""
    try:
        return fn()
    except FsError:
        raise
    except TransportError as e:
        raise FsError(e.errno, str(e) or type(e).__name__) from e
    except Exception as e:  # a bug must not become a traceback in the kernel's face
        log.exception("unexpected error")
        raise FsError(errno.EIO, f"internal error: {e!r}") from e


class RemoteFS:
    def __init__(
        self,
        transport: Transport,
        *,
        clock: Clock,
        config: CacheConfig = CacheConfig(),  # noqa: B008 - frozen, shared safely
        lock_factory: LockFactory = contextlib.nullcontext,
        names: NameMap | None = None,
        spawn: Spawn | None = None,
        mount_time: float = 0.0,
    ) -> None:
        """``mount_time`` is the wall-clock time (epoch seconds) the filesystem was
        made: the root's mtime, since no server reports one for it (``clock`` is
        monotonic, so the caller passes it)."""
        self.mount_time = mount_time
        self.config = config
        self.clock = clock
        self.names = names
        self.spawn = spawn
        shared = Shared(
            clock=clock,
            lock_factory=lock_factory,
            spawn=spawn,
            dirs=DirCache(config.dir_max, config.dir_ttl, clock),
            blocks=BlockCache(config.file_blocks),
        )
        self.stats = shared.stats
        self._lock, self._blocks, self._dirs = shared.lock, shared.blocks, shared.dirs
        self._handles = shared.handles
        self._dir_handles = 0
        self._fetcher = Fetcher(transport, shared)
        self._tree = Namespace(shared, self._fetcher)
        self._prefetch = Prefetcher(shared, self._fetcher, self._tree.store)
        self._tree.prefetch = self._prefetch
        self._reader = Reader(shared, self._fetcher, self._tree)

    # ---- observability -------------------------------------------------

    @property
    def cached_bytes(self) -> int:
        return self._blocks.nbytes

    @property
    def cached_charge(self) -> int:
        """What the cached blocks cost against ``cache_bound`` (each at least 4 KiB)."""
        return self._blocks.charged

    @property
    def cached_blocks(self) -> int:
        """Blocks held: each at most 1 MiB, less for a small file or a tail
        (so a count of blocks says little about memory: see ``cached_charge``)."""
        return self._blocks.nblocks

    @property
    def cache_bound(self) -> int:
        """Most bytes of file data the cache may hold (``-cf`` * 1 MiB).

        ``cached_charge`` never exceeds it, whatever runs at once."""
        return self._blocks.bound

    @property
    def transport(self) -> Transport:
        """The transport every call goes through (the fetcher's; tests swap it)."""
        return self._fetcher.transport

    @transport.setter
    def transport(self, transport: Transport) -> None:
        self._fetcher.transport = transport

    # ---- paths ---------------------------------------------------------

    def _remote(self, path: str) -> str:
        if self.names is not None:
            path = self.names.to_remote(path)
        return "/".join(part for part in path.split("/") if part)

    def _local(self, name: str) -> str:
        return name if self.names is None else self.names.to_local(name)

    # ---- metadata ------------------------------------------------------

    def getattr(self, path: str) -> Attrs:
        rpath = self._remote(path)
        if not rpath:
            return Attrs(True, 0, self.mount_time)
        return attrs_of(guard(lambda: self._tree.lookup(rpath)))

    def readdir(self, path: str) -> list[tuple[str, Attrs | None]]:
        """Names with attrs; ``None`` attrs for files whose size is not known yet
        (the kernel then asks getattr, which resolves it)."""
        rpath = self._remote(path)
        table = guard(lambda: self._folder(rpath))
        self._prefetch.saw_readdir(rpath)
        return [
            (self._local(e.name), attrs_of(e) if e.is_dir or e.size is not None else None)
            for e in table.values()
        ]

    def opendir(self, path: str) -> int:
        """Lists the folder, so that an error shows where programs expect it
        (``ls: cannot open directory``); the readdir that follows finds the
        listing held and is the one that tells the fetch-ahead policy."""
        rpath = self._remote(path)
        guard(lambda: self._folder(rpath))
        with self._lock:
            self._dir_handles += 1
            return self._dir_handles

    def _folder(self, rpath: str) -> Mapping[str, Entry]:
        if rpath:
            # the kernel did a getattr first, so the parent listing is usually
            # held: use it to refuse a file, but never list the parent for it
            parent, name = split(rpath)
            with self._lock:
                held = self._dirs.get(parent)
            seen = None if held is None else held.get(name)
            if seen is not None and not seen.is_dir:
                raise FsError(errno.ENOTDIR, rpath)
        return self._tree.entries(rpath)

    def releasedir(self, path: str, fh: int) -> None:
        return None

    def access(self, path: str, mode: int) -> None:
        if mode & os.W_OK:
            raise FsError(errno.EROFS, "read-only filesystem")
        attrs = self.getattr(path)
        if mode & os.X_OK and not attrs.is_dir:
            raise FsError(errno.EACCES, "files are not executable")

    def statfs(self) -> dict[str, int]:
        return {
            "f_bsize": BLOCK_SIZE,
            "f_frsize": 512,
            "f_blocks": 0,
            "f_bfree": 0,
            "f_bavail": 0,
            "f_files": 0,
            "f_ffree": 0,
            "f_favail": 0,
            "f_namemax": 255,
        }

    # ---- files ---------------------------------------------------------

    def open(self, path: str, flags: int) -> int:
        if flags & os.O_ACCMODE != os.O_RDONLY or flags & (os.O_TRUNC | os.O_CREAT):
            raise FsError(errno.EROFS, "read-only filesystem")
        rpath = self._remote(path)
        if not rpath:
            raise FsError(errno.EISDIR, "/")
        entry = guard(lambda: self._tree.lookup(rpath))
        if entry.is_dir:
            raise FsError(errno.EISDIR, rpath)
        with self._lock:
            fh = self._handles.add(FileHandle(rpath, entry))
        self._prefetch.saw_open(rpath, entry)
        return fh

    def release(self, path: str, fh: int) -> None:
        """Forget the handle; its blocks stay cached for the next open (a file
        fetched ahead and read goes first out of the cache)."""
        with self._lock:
            handle = self._handles.remove(fh)
            if handle is not None:
                still_open = bool(self._handles.on_path(handle.path))
                self._prefetch.released(handle.path, handle.version(), still_open)

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        if offset < 0:
            raise FsError(errno.EINVAL, "negative offset")
        with self._lock:
            handle = self._handles.get(fh)
            if handle is not None and handle.newer is None and not handle.stale:
                hit = self._reader.hit(handle, size, offset)
                if hit is not None:
                    handle.served = handle.served or bool(hit)
                    return hit
        if handle is None:
            # no (known) handle: some adapters read without open; plan statelessly
            rpath = self._remote(path)
            entry = guard(lambda: self._tree.lookup(rpath))
            if entry.is_dir:
                raise FsError(errno.EISDIR, rpath)
            handle = FileHandle(rpath, entry)
        return guard(lambda: self._reader.read(handle, size, offset))

    # ---- housekeeping --------------------------------------------------

    def drop_caches(self) -> None:
        """Forget every listing and block (tests; a future SIGHUP)."""
        with self._lock:
            self._dirs.clear()
            self._blocks.clear()

    def version_cached(self, path: str) -> FileVersion | None:
        with self._lock:
            return self._blocks.version_of(self._remote(path))
