"""File data kept in memory between reads: at most ``max_blocks`` MiB of it.

A block is a contiguous piece of one file version, at most ``BLOCK_SIZE``
(1 MiB) long.  The bound counts bytes, not blocks: each block is charged its
length, but at least ``MIN_CHARGE`` (4 KiB), and the cache never holds more
than ``max_blocks * BLOCK_SIZE`` charged bytes (``-cf 12`` = 12 MiB).  So a
4 KiB file does not take a whole 1 MiB slot (a folder of small files fetched
ahead fits hundreds of them), while the minimum keeps the number of blocks,
and with it their bookkeeping (a few hundred bytes each), at most
``bound / 4 KiB``: the data plus its bookkeeping stays within ~1.1x the bound.
Counting bytes never evicts where counting blocks would have (a block is at
most 1 MiB), so every read-path guarantee made for blocks still holds.
Blocks of a file never overlap; eviction is least-recently-used across all
files.  Blocks survive ``release`` so a re-open (a second client, a media
player seeking back) is served from memory.

Every block belongs to the ``FileVersion`` it was fetched for; asking for, or
adding, another version of the same path forgets the old blocks first, so a
read never stitches bytes of two versions together.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from .model import BLOCK_SIZE, FileVersion
from .spans import Span, gaps

#: The least a block costs against the bound (see the module docstring).
MIN_CHARGE = 4 << 10


def charge(length: int) -> int:
    """What a block of ``length`` bytes costs against the bound."""
    return max(length, MIN_CHARGE)


@dataclass
class _FileBlocks:
    version: FileVersion
    starts: list[int] = field(default_factory=list)
    """Sorted start offsets of this file's blocks."""
    data: dict[int, bytes] = field(default_factory=dict)


def _overlapping(fb: _FileBlocks, lo: int, hi: float) -> list[int]:
    """Starts of ``fb``'s blocks that reach into ``[lo, hi)``, by bisection
    (blocks never overlap, so they are the one holding ``lo`` and those after
    it up to ``hi``)."""
    starts = fb.starts
    i = max(0, bisect.bisect_right(starts, lo) - 1)
    j = bisect.bisect_left(starts, hi)
    return [s for s in starts[i:j] if s + len(fb.data[s]) > lo]


def same_version(kept: FileVersion, seen: FileVersion) -> bool:
    """Whether ``seen`` (from a listing) still describes the ``kept`` version.

    A listing that shows no exact size (``None``) cannot contradict a size the
    cache learned by probing, nor can a time of 0.0 ("none shown") on either
    side contradict a date learned from the server's answers; etag still must match.
    """
    if (seen.mtime and kept.mtime and kept.mtime != seen.mtime) or kept.etag != seen.etag:
        return False
    return seen.size is None or kept.size is None or kept.size == seen.size


class BlockCache:
    """LRU cache of file blocks; not thread-safe (the filesystem holds its lock)."""

    def __init__(self, max_blocks: int) -> None:
        self.max_blocks = max(0, max_blocks)
        self._files: dict[str, _FileBlocks] = {}
        self._lru: OrderedDict[tuple[str, int], None] = OrderedDict()
        self.nbytes = 0
        """Bytes of file data held."""
        self.charged = 0
        """What the held blocks cost against ``bound`` (``nbytes`` <= this <= ``bound``)."""
        self.evictions = 0
        """Blocks pushed out so far (fetch-ahead rechecks what it holds only after one)."""

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
        fb = self._blocks_at(path, version)
        return [] if fb is None else [(s, fb.data[s]) for s in fb.starts]

    def _blocks_at(self, path: str, version: FileVersion) -> _FileBlocks | None:
        """``path``'s blocks if they are of ``version``; another version's are dropped."""
        fb = self._files.get(path)
        if fb is not None and fb.version != version:
            self.drop(path)
            return None
        return fb

    def spans_over(
        self, path: str, version: FileVersion, ranges: Sequence[tuple[int, float]]
    ) -> list[tuple[int, bytes]]:
        """The blocks of ``path`` at ``version`` that reach into any of
        ``ranges`` (``(lo, hi)`` each), sorted by offset: ``spans`` for a
        plan's horizon (see ``readplan.plan_horizon``), by bisection."""
        fb = self._blocks_at(path, version)
        if fb is None or not ranges:
            return []
        near = [s for lo, hi in ranges for s in _overlapping(fb, lo, hi)]
        if len(ranges) > 1:
            near = sorted(set(near))
        return [(s, fb.data[s]) for s in near]

    def slice(
        self, path: str, version: FileVersion, start: int, end: int
    ) -> tuple[bytes, list[int]] | None:
        """Bytes ``[start, end)`` of ``path`` at ``version`` if cached blocks hold
        all of them, with the starts of the blocks they came from; else None.

        The hot path of a cached read: a bisect, no copy of the block list.
        """
        fb = self._files.get(path)
        if fb is None or (fb.version is not version and fb.version != version):
            return None
        starts = fb.starts
        i = bisect.bisect_right(starts, start) - 1
        if i < 0:
            return None
        s = starts[i]
        block = fb.data[s]
        if s + len(block) >= end:
            return block[start - s : end - s], [s]
        parts: list[bytes] = []
        used: list[int] = []
        pos = start
        while pos < end:
            if i >= len(starts) or starts[i] > pos:
                return None
            s = starts[i]
            block = fb.data[s]
            if s + len(block) <= pos:
                return None
            parts.append(block[pos - s : end - s])
            used.append(s)
            pos = s + len(block)
            i += 1
        return b"".join(parts), used

    def block_len(self, path: str, start: int) -> int:
        return len(self._files[path].data[start])

    def reach(self, path: str, pos: int, limit: int) -> int:
        """How far cached blocks cover ``path`` contiguously from ``pos``
        (looking no further than ``limit``)."""
        fb = self._files.get(path)
        if fb is None:
            return pos
        starts = fb.starts
        i = bisect.bisect_right(starts, pos) - 1
        if i < 0:
            i = 0
        while pos < limit and i < len(starts) and starts[i] <= pos:
            pos = max(pos, starts[i] + len(fb.data[starts[i]]))
            i += 1
        return pos

    def touch(self, path: str, starts: list[int]) -> None:
        """Mark blocks as just used so eviction takes them last."""
        for s in starts:
            key = (path, s)
            if key in self._lru:
                self._lru.move_to_end(key)

    def demote(self, path: str, starts: list[int]) -> None:
        """Mark blocks as the first to evict: a forward stream has read past them
        (drop-behind), so they must not push out bytes fetched ahead and not read yet."""
        for s in starts:
            key = (path, s)
            if key in self._lru:
                self._lru.move_to_end(key, last=False)

    def insert(self, path: str, version: FileVersion, start: int, data: bytes) -> None:
        """Keep ``data`` (bytes ``[start, start+len)`` of ``path`` at ``version``).

        Only the parts not cached yet are added (a concurrent fetch may have
        brought some), cut into blocks of at most BLOCK_SIZE.  A small insert
        that touches a block with room left is merged into it, so a run of
        small padded reads fills whole blocks instead of one slot each.
        """
        if self.max_blocks == 0 or not data:
            return
        fb = self._files.get(path)
        if fb is not None and fb.version != version:
            self.drop(path)
            fb = None
        if fb is None:
            fb = self._files[path] = _FileBlocks(version)
            if len(data) <= BLOCK_SIZE:
                # the file's first block (a small file fetched whole, most
                # inserts of a ``cp -r``): nothing to merge with, one block
                self._put(fb, path, start, data)
                self._evict()
                return
        # only the blocks that reach into [start, end) can cover part of it
        have = [Span(s, s + len(fb.data[s])) for s in _overlapping(fb, start, start + len(data))]
        # a piece merges only when the whole of it fits the neighbour block, and
        # only for inserts under one block: a fetch of n bytes then takes at
        # most ceil(n / 1 MiB) new blocks, so a fetch the planner sized to the
        # budget never evicts its own unread bytes
        small = len(data) < BLOCK_SIZE
        for gap in gaps(start, start + len(data), have):
            pos = last = gap.start
            before = self._block_ending_at(fb, pos) if small else None
            if before is not None and len(fb.data[before]) + len(gap) <= BLOCK_SIZE:
                merged = self._take(fb, path, before) + data[pos - start : gap.end - start]
                self._put(fb, path, before, merged)
                pos, last = gap.end, before
            while pos < gap.end:
                end = min(pos + BLOCK_SIZE, gap.end)
                self._put(fb, path, pos, data[pos - start : end - start])
                pos, last = end, pos
            after = fb.data.get(gap.end) if small else None
            if after is not None and len(fb.data[last]) + len(after) <= BLOCK_SIZE:
                merged = self._take(fb, path, last) + self._take(fb, path, gap.end)
                self._put(fb, path, last, merged)
        self._evict()

    @staticmethod
    def _block_ending_at(fb: _FileBlocks, pos: int) -> int | None:
        i = bisect.bisect_left(fb.starts, pos) - 1
        if i >= 0 and fb.starts[i] + len(fb.data[fb.starts[i]]) == pos:
            return fb.starts[i]
        return None

    def _put(self, fb: _FileBlocks, path: str, start: int, chunk: bytes) -> None:
        bisect.insort(fb.starts, start)
        fb.data[start] = chunk
        self._lru[(path, start)] = None
        self.nbytes += len(chunk)
        self.charged += charge(len(chunk))

    def _take(self, fb: _FileBlocks, path: str, start: int) -> bytes:
        chunk = fb.data.pop(start)
        fb.starts.remove(start)
        del self._lru[(path, start)]
        self.nbytes -= len(chunk)
        self.charged -= charge(len(chunk))
        return chunk

    def drop(self, path: str) -> None:
        """Forget every block of ``path``."""
        fb = self._files.pop(path, None)
        if fb is None:
            return
        for s in fb.starts:
            self.nbytes -= len(fb.data[s])
            self.charged -= charge(len(fb.data[s]))
            del self._lru[(path, s)]

    def clear(self) -> None:
        self._files.clear()
        self._lru.clear()
        self.nbytes = 0
        self.charged = 0

    def retain(self, path: str, seen: FileVersion) -> None:
        """Forget ``path``'s blocks unless a listing's ``seen`` version still matches them."""
        fb = self._files.get(path)
        if fb is not None and not same_version(fb.version, seen):
            self.drop(path)

    def version_of(self, path: str) -> FileVersion | None:
        fb = self._files.get(path)
        return None if fb is None else fb.version

    def _evict(self) -> None:
        bound = self.bound
        while self.charged > bound:
            (path, s), _ = self._lru.popitem(last=False)
            fb = self._files[path]
            chunk = fb.data.pop(s)
            fb.starts.remove(s)
            self.nbytes -= len(chunk)
            self.charged -= charge(len(chunk))
            self.evictions += 1
            if not fb.starts:
                del self._files[path]
