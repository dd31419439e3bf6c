"""File data kept in memory between reads: at most ``max_blocks`` blocks.

A block is a contiguous piece of one file version, at most ``BLOCK_SIZE``
(1 MiB) long, so the cache never holds more than ``max_blocks * BLOCK_SIZE``
bytes (``-cf 12`` = 12 MiB).  Blocks of a file never overlap; eviction is
least-recently-used across all files.  Blocks survive ``release`` so a re-open
(a second client, a media player seeking back) is served from memory.

Every block belongs to the ``FileVersion`` it was fetched for; asking for, or
adding, another version of the same path forgets the old blocks first, so a
read never stitches bytes of two versions together.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from dataclasses import dataclass, field

from .model import BLOCK_SIZE, FileVersion
from .readplan import Span, gaps


@dataclass
class _FileBlocks:
    version: FileVersion
    starts: list[int] = field(default_factory=list)
    """Sorted start offsets of this file's blocks."""
    data: dict[int, bytes] = field(default_factory=dict)


def same_version(kept: FileVersion, seen: FileVersion) -> bool:
    """Whether ``seen`` (from a listing) still describes the ``kept`` version.

    A listing that shows no exact size (``None``) cannot contradict a size the
    cache learned by probing; mtime and etag still must match.
    """
    if kept.mtime != seen.mtime or kept.etag != seen.etag:
        return False
    return seen.size is None or kept.size is None or kept.size == seen.size


class BlockCache:
    """LRU cache of file blocks; not thread-safe (the filesystem holds its lock)."""

    def __init__(self, max_blocks: int) -> None:
        self.max_blocks = max(0, max_blocks)
        self._files: dict[str, _FileBlocks] = {}
        self._lru: OrderedDict[tuple[str, int], None] = OrderedDict()
        self.nbytes = 0

    @property
    def nblocks(self) -> int:
        return len(self._lru)

    @property
    def bound(self) -> int:
        """The most bytes this cache can ever hold."""
        return self.max_blocks * BLOCK_SIZE

    def spans(self, path: str, version: FileVersion) -> list[tuple[int, bytes]]:
        """Every block of ``path`` at ``version``, sorted by offset (a snapshot:
        bytes objects are immutable, so the caller may use them after eviction)."""
        fb = self._files.get(path)
        if fb is None:
            return []
        if fb.version != version:
            self.drop(path)
            return []
        return [(s, fb.data[s]) for s in fb.starts]

    def touch(self, path: str, starts: list[int]) -> None:
        """Mark blocks as just used so eviction takes them last."""
        for s in starts:
            key = (path, s)
            if key in self._lru:
                self._lru.move_to_end(key)

    def insert(self, path: str, version: FileVersion, start: int, data: bytes) -> None:
        """Keep ``data`` (bytes ``[start, start+len)`` of ``path`` at ``version``).

        Only the parts not cached yet are added (a concurrent fetch may have
        brought some), cut into blocks of at most BLOCK_SIZE.
        """
        if self.max_blocks == 0 or not data:
            return
        fb = self._files.get(path)
        if fb is not None and fb.version != version:
            self.drop(path)
            fb = None
        if fb is None:
            fb = self._files[path] = _FileBlocks(version)
        have = [Span(s, s + len(fb.data[s])) for s in fb.starts]
        for gap in gaps(start, start + len(data), have):
            for piece in range(gap.start, gap.end, BLOCK_SIZE):
                piece_end = min(piece + BLOCK_SIZE, gap.end)
                chunk = data[piece - start : piece_end - start]
                bisect.insort(fb.starts, piece)
                fb.data[piece] = chunk
                self._lru[(path, piece)] = None
                self.nbytes += len(chunk)
        self._evict()

    def drop(self, path: str) -> None:
        """Forget every block of ``path``."""
        fb = self._files.pop(path, None)
        if fb is None:
            return
        for s in fb.starts:
            self.nbytes -= len(fb.data[s])
            del self._lru[(path, s)]

    def clear(self) -> None:
        self._files.clear()
        self._lru.clear()
        self.nbytes = 0

    def retain(self, path: str, seen: FileVersion) -> None:
        """Forget ``path``'s blocks unless a listing's ``seen`` version still matches them."""
        fb = self._files.get(path)
        if fb is not None and not same_version(fb.version, seen):
            self.drop(path)

    def version_of(self, path: str) -> FileVersion | None:
        fb = self._files.get(path)
        return None if fb is None else fb.version

    def _evict(self) -> None:
        while len(self._lru) > self.max_blocks:
            (path, s), _ = self._lru.popitem(last=False)
            fb = self._files[path]
            chunk = fb.data.pop(s)
            fb.starts.remove(s)
            self.nbytes -= len(chunk)
            if not fb.starts:
                del self._files[path]
