"""Directory listings kept for ``ttl`` seconds, at most ``max_dirs`` of them.

A getattr of ``/a/b.txt`` is answered from the listing of ``/a``, so a
``ls -l`` of a directory costs one request, not one per file.  Listings go
stale by the injected clock (``-cds``); the least recently used one is
dropped when more than ``-cdn`` are held; ``-cdn 0`` keeps nothing.

Listings fetched ahead of a walk and not used yet are *pinned* (at most
``prefetch.list_room(-cdn)``, the fetch-ahead's bound, always fewer than
``-cdn``): the LRU passes over them, so the walker's own listings do not push
them out before it gets there.

A stale listing is not served, but it is kept until replaced: when the
directory is listed again, sizes the filesystem probed (listings that show
rounded sizes) carry over to entries whose mtime and etag did not change, so a
refresh does not cost a probe per file.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from .model import Entry
from .transport import Clock


@dataclass
class CachedDir:
    entries: dict[str, Entry]
    fetched_at: float


class DirCache:
    """Not thread-safe: the filesystem holds its lock around every call."""

    def __init__(self, max_dirs: int, ttl: float, clock: Clock) -> None:
        self.max_dirs = max(0, max_dirs)
        self.ttl = ttl
        self._clock = clock
        self._dirs: OrderedDict[str, CachedDir] = OrderedDict()
        self._pinned: set[str] = set()

    def __len__(self) -> int:
        return len(self._dirs)

    def get(self, path: str) -> dict[str, Entry] | None:
        """The entries of ``path`` if a fresh listing is held."""
        cached = self._dirs.get(path)
        if cached is None or self._clock() - cached.fetched_at >= self.ttl:
            return None
        self._dirs.move_to_end(path)
        return cached.entries

    def fresh(self, path: str, now: float | None = None) -> dict[str, Entry] | None:
        """Like ``get`` but leaves the LRU order alone (fetch-ahead looks, it
        does not use); ``now`` saves a clock call per look."""
        cached = self._dirs.get(path)
        if cached is None:
            return None
        if (self._clock() if now is None else now) - cached.fetched_at >= self.ttl:
            return None
        return cached.entries

    def stamp(self, path: str) -> float | None:
        """When ``path``'s held listing was asked for (fresh or stale)."""
        cached = self._dirs.get(path)
        return None if cached is None else cached.fetched_at

    def age(self, path: str) -> float | None:
        """Seconds since ``path``'s held listing was asked for (fresh or stale)."""
        cached = self._dirs.get(path)
        return None if cached is None else self._clock() - cached.fetched_at

    def peek(self, path: str) -> dict[str, Entry] | None:
        """The entries of ``path`` even when stale (to compare with a new listing)."""
        cached = self._dirs.get(path)
        return None if cached is None else cached.entries

    def put(
        self, path: str, entries: Iterable[Entry], asked_at: float | None = None
    ) -> dict[str, Entry]:
        """Hold a new listing of ``path``; returns it as a name -> Entry dict.

        ``asked_at`` is when the listing was requested: its age counts from
        then, since the server may have changed while a slow answer travelled.
        """
        old = self._dirs.get(path)
        table: dict[str, Entry] = {}
        for entry in entries:
            if old is not None and entry.size is None and not entry.is_dir:
                prev = old.entries.get(entry.name)
                if (
                    prev is not None
                    and prev.size is not None
                    and not prev.is_dir
                    and prev.mtime == entry.mtime
                    and prev.etag == entry.etag
                ):
                    entry = prev
            table[entry.name] = entry
        if self.max_dirs:
            stamp = self._clock() if asked_at is None else asked_at
            self._dirs[path] = CachedDir(table, stamp)
            self._dirs.move_to_end(path)
            while len(self._dirs) > self.max_dirs:
                victim = next((p for p in self._dirs if p not in self._pinned), None)
                if victim is None:  # everything pinned (never: see list_room)
                    self._dirs.popitem(last=False)
                else:
                    del self._dirs[victim]
        return table

    def pin(self, path: str) -> None:
        """Keep ``path`` out of the LRU's reach until ``unpin`` (fetched ahead, not used)."""
        if path in self._dirs:
            self._pinned.add(path)

    def unpin(self, path: str) -> None:
        self._pinned.discard(path)

    def update(self, path: str, entry: Entry) -> None:
        """Replace one entry (a probed size) if ``path``'s listing is held."""
        cached = self._dirs.get(path)
        if cached is not None and entry.name in cached.entries:
            cached.entries[entry.name] = entry

    def invalidate(self, path: str) -> None:
        self._dirs.pop(path, None)
        self._pinned.discard(path)

    def clear(self) -> None:
        self._dirs.clear()
        self._pinned.clear()
