"""The server's tree as the filesystem sees it: listings held or fetched, entries looked up.

Every listing the filesystem keeps, asked for by a call or fetched ahead,
goes through ``store``, which keeps the caches and the open handles
consistent with it: a file shown at another version loses its blocks and its
handles move to that version (``seen``), a file gone loses its blocks, and
an answer older than the listing held is not kept over it.  So nothing seen
to change is served stale, not even with ``-cdn 0``.  A file whose listing
gave no exact size is probed before anyone is told its size (``lookup``).
"""

from __future__ import annotations

import errno
import logging

from .blockcache import same_version
from .errors import FsError
from .fetcher import Fetcher, debug
from .limits import MAX_FILE_SIZE
from .model import Entry
from .prefetcher import Prefetcher
from .readplan import StreamState
from .shared import Shared

log = logging.getLogger(__name__)


def split(rpath: str) -> tuple[str, str]:
    """A remote path's parent folder and name."""
    parent, _, name = rpath.rpartition("/")
    return parent, name


class Namespace:
    def __init__(self, shared: Shared, fetcher: Fetcher) -> None:
        self._shared = shared
        self._fetcher = fetcher
        self.prefetch: Prefetcher
        """Set by ``RemoteFS`` once built: the prefetcher keeps its listings
        through ``store``, and ``entries`` waits for a listing it is fetching."""

    def entries(self, rpath: str) -> dict[str, Entry]:
        """Entries of directory ``rpath``: from cache if fresh, else one list_dir
        (or the listing being fetched ahead, waited for)."""
        shared, dirs = self._shared, self._shared.dirs
        with shared.lock:
            cached = dirs.get(rpath)
            if cached is not None:
                self.prefetch.listing_used(rpath)
                gate = None
            else:
                gate = self.prefetch.listing_gate(rpath)
            age = None if cached is not None or not debug() else dirs.age(rpath)
        if gate is not None:
            log.debug("dir cache miss /%s: waiting for the listing fetched ahead", rpath)
            with gate:
                pass
            with shared.lock:
                cached = dirs.get(rpath)
                if cached is not None:
                    self.prefetch.listing_used(rpath)
        if cached is not None:
            log.debug("dir cache hit /%s", rpath)
            return cached
        if age is None:
            log.debug("dir cache miss /%s", rpath)
        else:
            log.debug("dir cache stale /%s (%.1f s old, ttl %.1f s)", rpath, age, dirs.ttl)
        asked_at = shared.clock()
        entries = self._fetcher.list_dir(rpath)
        return self.store(rpath, entries, asked_at)

    def store(self, rpath: str, entries: list[Entry], asked_at: float) -> dict[str, Entry]:
        """Keep a listing of ``rpath`` asked for at ``asked_at`` (by a call or
        fetched ahead): files shown at another version lose their blocks and
        move their handles (``seen``), files gone lose their blocks; an answer
        older than the listing held is not kept over it."""
        dirs, blocks = self._shared.dirs, self._shared.blocks
        with self._shared.lock:
            stamp = dirs.stamp(rpath)
            old = dirs.peek(rpath)
            if stamp is not None and old is not None and stamp > asked_at:
                return old  # a newer listing landed while this one travelled
            table = dirs.put(rpath, entries, asked_at)
            prefix = rpath + "/" if rpath else ""
            for entry in table.values():
                if not entry.is_dir:
                    self.seen(prefix + entry.name, entry)
            for name, entry in (old or {}).items():
                if not entry.is_dir and name not in table:
                    blocks.drop(prefix + name)  # gone from the server: no stale bytes
        return table

    def seen(self, rpath: str, entry: Entry) -> None:
        """A listing (or probe) describes ``rpath`` as ``entry``: drop blocks of any
        other version and move open handles to it, so nothing that was seen to
        change is served stale (not even with ``-cdn 0``).  Called under the lock."""
        self._shared.blocks.retain(rpath, entry.version())
        for handle in self._shared.handles.on_path(rpath):
            if same_version(handle.entry.version(), entry.version()):
                continue
            if handle.served:
                handle.stale = True  # it returned bytes of the old version: never mix
            elif entry.size is None:
                handle.newer = entry
            else:
                handle.entry, handle.newer, handle.stream = entry, None, StreamState()

    def lookup(self, rpath: str) -> Entry:
        """The entry of ``rpath`` (not the root), with its size resolved if it is a file."""
        parent, name = split(rpath)
        entry = self.entries(parent).get(name)
        if entry is None:
            raise FsError(errno.ENOENT, rpath)
        if entry.is_dir or entry.size is not None:
            return entry
        resolved = self._fetcher.probe(rpath, entry)
        size = resolved.size
        if size is None or not 0 <= size <= MAX_FILE_SIZE:
            raise FsError(errno.EIO, f"the server gives {rpath} an impossible size ({size})")
        with self._shared.lock:
            held = self._shared.dirs.peek(parent)
            if held is not None and held.get(name) == entry:
                self._shared.dirs.update(parent, resolved)
            self.seen(rpath, resolved)
        return resolved
