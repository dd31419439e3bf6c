"""The read-only filesystem the FUSE adapter calls: paths in, attrs and bytes out.

``RemoteFS`` owns the directory cache, the block cache and the open handles,
and turns every transport error into an ``FsError`` carrying one errno.  It
does no IO itself: listings and bytes come from the injected ``Transport``,
time from ``clock``, locks from ``lock_factory`` and background work (read-ahead)
from ``spawn``.  The lock is never held during a transport call, so one slow
request does not stall other FUSE threads.  Calls that would modify the tree
never reach it: the FUSE adapter answers them EROFS itself (``open`` for
writing and ``access`` with ``W_OK`` are EROFS here).  Getting bytes (counted transport
calls, fetches in flight and their gates, read-ahead jobs) is ``fetcher.Fetcher``'s
job; this class decides what a call needs and keeps the caches consistent.

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
``plan_read`` for every read, ``plan_hit`` for the cached fast path (``_hit``).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from collections.abc import Callable
from typing import TypeVar

from .attrs import Attrs, CacheConfig, attrs_of
from .blockcache import BlockCache, same_version
from .dircache import DirCache
from .errors import Changed, FsError, TransportError
from .fetcher import Fetcher, LockFactory, Spawn, assemble, debug, log_plan
from .handles import FileHandle, HandleTable
from .limits import MAX_FILE_SIZE
from .model import BLOCK_SIZE, Entry, FileVersion
from .names import NameMap
from .prefetch import SMALL_FILE_MAX
from .prefetcher import Prefetcher
from .readplan import AHEAD_WINDOWS, ReadPlan, StreamState, plan_hit, plan_read
from .spans import Span
from .stats import Stats
from .transport import Clock, Transport

__all__ = ["Attrs", "CacheConfig", "FsError", "NameMap", "RemoteFS", "Spawn", "LockFactory"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds after its latest read that a sequential stream still takes a share
#: of the cache budget (a paused player keeps its handle open).
STREAM_IDLE = 2.0


def _split(rpath: str) -> tuple[str, str]:
    parent, _, name = rpath.rpartition("/")
    return parent, name


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
        self.transport = transport
        self.mount_time = mount_time
        self.config = config
        self.clock = clock
        self.names = names
        self.spawn = spawn
        self.stats = Stats()
        self._lock = lock_factory()
        self._dirs = DirCache(config.dir_max, config.dir_ttl, clock)
        self._blocks = BlockCache(config.file_blocks)
        self._handles = HandleTable()
        self._dir_handles = 0
        self._fetcher = Fetcher(
            transport,
            lock=self._lock,
            lock_factory=lock_factory,
            blocks=self._blocks,
            stats=self.stats,
            spawn=spawn,
        )
        self._prefetch = Prefetcher(
            transport,
            lock=self._lock,
            lock_factory=lock_factory,
            clock=clock,
            dirs=self._dirs,
            blocks=self._blocks,
            fetcher=self._fetcher,
            stats=self.stats,
            spawn=spawn,
            store=self._store_listing,
            streaming=self._streaming_large,
        )

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
        return self._blocks.nblocks

    @property
    def cache_bound(self) -> int:
        """Most bytes of file data the cache may hold (``-cf`` * 1 MiB)."""
        return self._blocks.bound

    @property
    def open_handles(self) -> int:
        return len(self._handles)

    # ---- paths ---------------------------------------------------------

    def _remote(self, path: str) -> str:
        if self.names is not None:
            path = self.names.to_remote(path)
        return "/".join(part for part in path.split("/") if part)

    def _local(self, name: str) -> str:
        return name if self.names is None else self.names.to_local(name)

    def _list(self, rpath: str) -> dict[str, Entry]:
        """Entries of directory ``rpath``: from cache if fresh, else one list_dir
        (or the listing being fetched ahead, waited for)."""
        with self._lock:
            cached = self._dirs.get(rpath)
            if cached is not None:
                self._prefetch.listing_used(rpath)
                gate = None
            else:
                gate = self._prefetch.listing_gate(rpath)
            age = None if cached is not None or not debug() else self._dirs.age(rpath)
        if gate is not None:
            log.debug("dir cache miss /%s: waiting for the listing fetched ahead", rpath)
            with gate:
                pass
            with self._lock:
                cached = self._dirs.get(rpath)
                if cached is not None:
                    self._prefetch.listing_used(rpath)
        if cached is not None:
            log.debug("dir cache hit /%s", rpath)
            return cached
        if age is None:
            log.debug("dir cache miss /%s", rpath)
        else:
            log.debug("dir cache stale /%s (%.1f s old, ttl %.1f s)", rpath, age, self._dirs.ttl)
        asked_at = self.clock()
        entries = self._fetcher.call("list", lambda: self.transport.list_dir(rpath))
        return self._store_listing(rpath, entries, asked_at)

    def _store_listing(self, rpath: str, entries: list[Entry], asked_at: float) -> dict[str, Entry]:
        """Keep a listing of ``rpath`` asked for at ``asked_at`` (by a call or
        fetched ahead): files shown at another version lose their blocks and
        move their handles (``_seen``), files gone lose their blocks; an answer
        older than the listing held is not kept over it."""
        with self._lock:
            stamp = self._dirs.stamp(rpath)
            old = self._dirs.peek(rpath)
            if stamp is not None and old is not None and stamp > asked_at:
                return old  # a newer listing landed while this one travelled
            table = self._dirs.put(rpath, entries, asked_at)
            prefix = rpath + "/" if rpath else ""
            for entry in table.values():
                if not entry.is_dir:
                    self._seen(prefix + entry.name, entry)
            for name, entry in (old or {}).items():
                if not entry.is_dir and name not in table:
                    self._blocks.drop(prefix + name)  # gone from the server: no stale bytes
        return table

    def _streaming_large(self, now: float) -> bool:
        """Whether a file too large to fetch ahead is being streamed: its windows
        take the whole cache budget, so no small file is fetched ahead meanwhile.
        Called under the lock."""
        since = now - STREAM_IDLE
        return any(
            (h.stream.forward or h.stream.backward)
            and h.last_read >= since
            and (h.entry.size or 0) > SMALL_FILE_MAX
            for h in self._handles.all()
        )

    def _seen(self, rpath: str, entry: Entry) -> None:
        """A listing (or probe) describes ``rpath`` as ``entry``: drop blocks of any
        other version and move open handles to it, so nothing that was seen to
        change is served stale (not even with ``-cdn 0``).  Called under the lock."""
        self._blocks.retain(rpath, entry.version())
        for handle in self._handles.on_path(rpath):
            if same_version(handle.entry.version(), entry.version()):
                continue
            if handle.served:
                handle.stale = True  # it returned bytes of the old version: never mix
            elif entry.size is None:
                handle.newer = entry
            else:
                handle.entry, handle.newer, handle.stream = entry, None, StreamState()

    def _lookup(self, rpath: str) -> Entry:
        """The entry of ``rpath`` (not the root), with its size resolved if it is a file."""
        parent, name = _split(rpath)
        entry = self._list(parent).get(name)
        if entry is None:
            raise FsError(errno.ENOENT, rpath)
        if entry.is_dir or entry.size is not None:
            return entry
        probed = entry
        resolved = self._fetcher.call("probe", lambda: self.transport.probe(rpath, probed))
        size = resolved.size
        if size is None or not 0 <= size <= MAX_FILE_SIZE:
            raise FsError(errno.EIO, f"the server gives {rpath} an impossible size ({size})")
        with self._lock:
            held = self._dirs.peek(parent)
            if held is not None and held.get(name) == entry:
                self._dirs.update(parent, resolved)
            self._seen(rpath, resolved)
        return resolved

    def _guard(self, fn: Callable[[], T]) -> T:
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

    # ---- metadata ------------------------------------------------------

    def getattr(self, path: str) -> Attrs:
        rpath = self._remote(path)
        if not rpath:
            return Attrs(True, 0, self.mount_time)
        return attrs_of(self._guard(lambda: self._lookup(rpath)))

    def readdir(self, path: str) -> list[tuple[str, Attrs | None]]:
        """Names with attrs; ``None`` attrs for files whose size is not known yet
        (the kernel then asks getattr, which resolves it)."""
        rpath = self._remote(path)

        def run() -> list[tuple[str, Attrs | None]]:
            if rpath:
                # the kernel did a getattr first, so the parent listing is usually
                # held: use it to refuse a file, but never list the parent for it
                parent, name = _split(rpath)
                with self._lock:
                    held = self._dirs.get(parent)
                seen = None if held is None else held.get(name)
                if seen is not None and not seen.is_dir:
                    raise FsError(errno.ENOTDIR, rpath)
            table = self._list(rpath)
            return [
                (self._local(e.name), attrs_of(e) if e.is_dir or e.size is not None else None)
                for e in table.values()
            ]

        listing = self._guard(run)
        self._prefetch.saw_readdir(rpath)
        return listing

    def opendir(self, path: str) -> int:
        self.readdir(path)
        with self._lock:
            self._dir_handles += 1
            return self._dir_handles

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
        entry = self._guard(lambda: self._lookup(rpath))
        if entry.is_dir:
            raise FsError(errno.EISDIR, rpath)
        with self._lock:
            fh = self._handles.add(FileHandle(rpath, entry))
        self._prefetch.saw_open(rpath)
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
                hit = self._hit(handle, size, offset)
                if hit is not None:
                    handle.served = handle.served or bool(hit)
                    return hit
        if handle is None:
            # no (known) handle: some adapters read without open; plan statelessly
            rpath = self._remote(path)
            entry = self._guard(lambda: self._lookup(rpath))
            if entry.is_dir:
                raise FsError(errno.EISDIR, rpath)
            handle = FileHandle(rpath, entry)
        return self._guard(lambda: self._read(handle, size, offset))

    def _hit(self, handle: FileHandle, size: int, offset: int) -> bytes | None:
        """A read the cached blocks answer and the planner (``plan_hit``) says
        needs nothing else: the bytes, at the cost of a bisect (O_DIRECT
        readers send 4 KiB reads, one FUSE call each); None sends the read
        through the full planner.  Called under the lock."""
        file_size = handle.entry.size
        if file_size is None:
            return None
        path = handle.path
        blocks = self._blocks
        if size > 0 and offset < file_size:
            end = min(offset + size, file_size)
            found = blocks.slice(path, handle.version(), offset, end)
            if found is None:
                return None
        else:
            end, found = offset, None
        stream = plan_hit(
            offset,
            size,
            file_size,
            handle.stream,
            handle.ahead_cap,
            handle.inflight,
            blocks.reach,
            path,
            handle.media,
        )
        if stream is None:
            return None
        if found is None:  # at or past EOF: the short read that ends a whole-file read
            return b""
        data, used = found
        handle.stream = stream
        handle.last_read = self.clock()
        if stream.forward:
            last = used[-1]
            if last + blocks.block_len(path, last) <= end:
                blocks.demote(path, used)
            else:
                blocks.demote(path, used[:-1])
                blocks.touch(path, [last])
        else:
            blocks.touch(path, used)
        self.stats.hits += 1
        self.stats.bytes_served += len(data)
        if debug():
            log.debug("read /%s [%d+%d): block cache hit", path, offset, size)
        return data

    def _read(self, handle: FileHandle, size: int, offset: int) -> bytes:
        """Read at the handle's version; a change seen before anything was
        returned moves the handle to the new version (and Changed is retried
        once), a change after that makes every later read of it EIO."""
        for attempt in (1, 2):
            with self._lock:
                newer, entry, stale = handle.newer, handle.entry, handle.stale
            if stale:
                raise FsError(errno.EIO, f"{handle.path} changed on the server while open")
            if newer is not None:
                entry = self._lookup(handle.path)  # resolves the size, updates handles
                if entry.is_dir:
                    raise FsError(errno.EISDIR, handle.path)
                with self._lock:
                    if handle.newer is newer:
                        handle.entry, handle.newer, handle.stream = entry, None, StreamState()
            try:
                data = self._read_version(handle, entry, size, offset)
            except Changed:
                with self._lock:
                    self.stats.changed_retries += 1
                    self._blocks.drop(handle.path)
                    self._dirs.invalidate(_split(handle.path)[0])
                    handle.stale = handle.served
                if attempt == 2 or handle.stale:
                    raise
                fresh = self._lookup(handle.path)
                if fresh.is_dir:
                    raise FsError(errno.EISDIR, handle.path) from None
                with self._lock:
                    handle.entry = fresh
                    handle.stream = StreamState()
                continue
            with self._lock:
                handle.served = handle.served or bool(data)
            return data
        raise AssertionError("unreachable")

    def _read_version(self, handle: FileHandle, entry: Entry, size: int, offset: int) -> bytes:
        with self._lock:  # the handle's memo is only read and written under the lock
            version = handle.version() if entry is handle.entry else entry.version()
        file_size = entry.size
        assert file_size is not None
        path = handle.path
        waited = False
        while True:
            with self._lock:
                held = self._blocks.spans(path, version)
                pending = self._fetcher.pending(path, version)
                now = self.clock()
                handle.last_read = now
                plan, handle.stream = plan_read(
                    offset,
                    size,
                    file_size,
                    [Span(s, s + len(d)) for s, d in held],
                    handle.stream,
                    budget=self._blocks.bound,
                    inflight=[p.span for p in pending],
                    background=self.spawn is not None,
                    ahead_slots=AHEAD_WINDOWS - len(handle.inflight),
                    streams=max(1, self._handles.streams(now - STREAM_IDLE)),
                    media=handle.media,
                )
                handle.ahead_cap = plan.ahead_cap
                gates = [
                    p.gate
                    for p in pending
                    if p.started
                    and any(f.start < p.span.end and p.span.start < f.end for f in plan.fetch)
                ]
                if not gates or waited:
                    self._account(plan)
                    used = [
                        (s, s + len(d)) for s, d in held if s < plan.end and s + len(d) > plan.start
                    ]
                    if handle.stream.forward:
                        self._blocks.demote(path, [s for s, e in used if e <= plan.end])
                        self._blocks.touch(path, [s for s, e in used if e > plan.end])
                    else:
                        self._blocks.touch(path, [s for s, _ in used])
                    # our own fetches are announced too, so a concurrent reader of
                    # the same bytes (the kernel issues parallel reads) waits for them
                    mine, ahead = self._fetcher.announce(path, version, plan.fetch, plan.ahead)
                    handle.inflight.extend(p.span for p in ahead)
            if gates and not waited:
                log.debug("read /%s [%d+%d): waiting for a fetch in flight", path, offset, size)
                # another fetch is bringing these bytes: wait for it (it holds the
                # gate while fetching), then plan again; if it failed or the gates
                # cannot block (nullcontext), the second plan fetches them
                for gate in gates:
                    with gate:
                        pass
                waited = True
                continue
            break
        if debug():
            log_plan(path, offset, size, plan)
        pieces = [(s, d) for s, d in held if s < plan.end and s + len(d) > plan.start]
        try:
            for span in plan.fetch:
                data = self._fetcher.fetch(path, entry, span)
                pieces.append((span.start, data))
                with self._lock:
                    self._blocks.insert(path, version, span.start, data)
        finally:
            self._fetcher.release(path, mine)
        for job in ahead:
            self._fetcher.start_readahead(handle, entry, job)
        out = assemble(plan, pieces)
        with self._lock:
            self.stats.bytes_served += len(out)
        return out

    def _account(self, plan: ReadPlan) -> None:
        if plan.end > plan.start:
            if plan.is_hit:
                self.stats.hits += 1
            else:
                self.stats.misses += 1

    # ---- housekeeping --------------------------------------------------

    def drop_caches(self) -> None:
        """Forget every listing and block (tests; a future SIGHUP)."""
        with self._lock:
            self._dirs.clear()
            self._blocks.clear()

    def version_cached(self, path: str) -> FileVersion | None:
        with self._lock:
            return self._blocks.version_of(self._remote(path))
