"""Getting bytes from the server: counted transport calls, fetches in flight, read-ahead.

``reader.Reader`` decides what a read needs (with ``readplan``); this module
gets it.  Every transport call of the filesystem goes through here and is
counted in ``Stats``.  Every range being fetched
is announced with a *gate* (a lock from the injected factory) held by whoever
fetches it, so a second reader of the same bytes (the kernel issues parallel
reads of one file) waits for them instead of fetching them twice.  Read-ahead
jobs run through the injected ``spawn`` and land in the block cache.

The fetcher shares the filesystem's lock, block cache and counters: it takes
the lock for its own bookkeeping and never holds it during a transport call.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import FsError
from .handles import FileHandle
from .model import BLOCK_SIZE, Entry, FileVersion
from .readplan import ReadPlan
from .shared import Shared
from .spans import Span, gaps
from .transport import (
    BatchTransport,
    BlockTransport,
    Transport,
    supports_batches,
    supports_blocks,
)

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(eq=False)
class Pending:
    """A fetch in flight (a read's own, or a read-ahead); whoever fetches holds
    ``gate`` meanwhile, so a reader that needs those bytes can wait for them
    instead of fetching them twice."""

    span: Span
    version: FileVersion
    gate: AbstractContextManager[Any]
    started: bool = True
    """Whether its gate is held (a read's own fetch: at once; a read-ahead:
    once the pool runs the job).  Waiting on an unstarted one waits for nothing."""


def debug() -> bool:
    """Whether DEBUG lines are wanted: hot paths check it before building text."""
    return log.isEnabledFor(logging.DEBUG)


def spans_text(spans: Iterable[Span]) -> str:
    return " ".join(f"[{s.start}-{s.end})" for s in spans)


def log_plan(path: str, offset: int, size: int, plan: ReadPlan) -> None:
    """What a read decided, for ``-d`` (call only when ``debug()``)."""
    if plan.end <= plan.start:
        what = "at or past EOF"
    elif plan.is_hit:
        what = "block cache hit"
    else:
        what = f"block cache miss, fetch {spans_text(plan.fetch)}"
    log.debug("read /%s [%d+%d): %s", path, offset, size, what)
    if plan.ahead:
        log.debug("read /%s read-ahead %s", path, spans_text(plan.ahead))


class Fetcher:
    """The one door to the transport: every call is counted here, and every
    range fetched is announced while it travels."""

    def __init__(self, transport: Transport, shared: Shared) -> None:
        self.transport = transport
        self._shared = shared
        self._inflight: dict[str, list[Pending]] = {}
        self._blocks = supports_blocks(transport)

    # ---- transport calls (never under the lock) ------------------------

    def call(self, kind: str, fn: Callable[[], T]) -> T:
        """Run one transport call, counted as ``kind`` (list, probe, range, ahead, batch)."""
        stats = self._shared.stats
        with self._shared.lock:
            stats.requests += 1
            if kind == "list":
                stats.list_requests += 1
            elif kind == "probe":
                stats.probe_requests += 1
            else:
                stats.range_requests += 1
                if kind == "ahead":
                    stats.readahead_requests += 1
        return fn()

    def list_dir(self, path: str) -> list[Entry]:
        return self.call("list", lambda: self.transport.list_dir(path))

    def probe(self, path: str, entry: Entry) -> Entry:
        return self.call("probe", lambda: self.transport.probe(path, entry))

    def batches(self) -> bool:
        """Whether the transport can fetch several small files in one request now."""
        return supports_batches(self.transport)

    def read_files(self, folder: str, entries: Sequence[Entry]) -> Iterator[tuple[Entry, bytes]]:
        """``BatchTransport.read_files``, counted (call only when ``batches()``)."""
        transport: BatchTransport = self.transport  # type: ignore[assignment]
        return self.call("batch", lambda: transport.read_files(folder, entries))

    def fetch(self, path: str, entry: Entry, span: Span, kind: str = "range") -> bytes:
        """Exactly the bytes of ``span``, or an error (a short body is EIO)."""
        start, end = span.start, span.end
        data = self.call(kind, lambda: self.transport.read_range(path, start, end, entry))
        self._check(path, span, len(data))
        return data

    def fetch_blocks(
        self, path: str, entry: Entry, span: Span, kind: str
    ) -> list[tuple[int, bytes]]:
        """The bytes of ``span`` as (offset, piece), pieces of a cache block
        each where the transport can hand them so (stored without a copy),
        else one piece; or an error (a short body is EIO)."""
        if not self._blocks:
            return [(span.start, self.fetch(path, entry, span, kind))]
        transport: BlockTransport = self.transport  # type: ignore[assignment]
        start, end = span.start, span.end
        pieces = self.call(kind, lambda: transport.read_blocks(path, start, end, entry, BLOCK_SIZE))
        self._check(path, span, sum(len(p) for p in pieces))
        out = []
        pos = start
        for piece in pieces:
            out.append((pos, piece))
            pos += len(piece)
        return out

    def _check(self, path: str, span: Span, got: int) -> None:
        with self._shared.lock:
            self._shared.stats.bytes_fetched += got
        if got != len(span):
            raise FsError(errno.EIO, f"{path}: got {got} bytes for {len(span)}")

    # ---- fetches in flight ---------------------------------------------

    def pending(self, path: str, version: FileVersion) -> list[Pending]:
        """Fetches of ``path`` at ``version`` in flight.  Call under the lock."""
        return [p for p in self._inflight.get(path, []) if p.version == version]

    def announce(
        self, path: str, version: FileVersion, fetch: Iterable[Span], ahead: Iterable[Span]
    ) -> tuple[list[Pending], list[Pending]]:
        """Register a read's own fetches (gates entered: the caller fetches them
        now) and its read-ahead ranges (gates entered by the job when it runs).
        Call under the lock; each returned Pending must be settled."""
        later = [Pending(span, version, self._shared.lock_factory(), False) for span in ahead]
        # a fresh lock never blocks, so entering these gates under the lock is safe
        mine = [Pending(span, version, self._shared.lock_factory()) for span in fetch]
        for p in mine:
            p.gate.__enter__()
        if mine or later:
            self._inflight.setdefault(path, []).extend(mine + later)
        return mine, later

    def release(self, path: str, mine: Iterable[Pending]) -> None:
        """A read's own fetches are over (landed or failed): open their gates."""
        for p in mine:
            self._settle(path, p)
            p.gate.__exit__(None, None, None)

    def _settle(self, path: str, pending: Pending) -> None:
        """A fetch is over (landed or failed): stop announcing it."""
        with self._shared.lock:
            queue = self._inflight.get(path, [])
            if pending in queue:
                queue.remove(pending)
            if not queue:
                self._inflight.pop(path, None)

    # ---- read-ahead ----------------------------------------------------

    def start_readahead(self, handle: FileHandle, entry: Entry, pending: Pending) -> None:
        """Fetch ``pending`` in the background into the block cache."""
        path, span = handle.path, pending.span

        def job() -> None:
            with pending.gate:
                try:
                    # a job that waited in the spawner's queue may find readers
                    # fetched part of its range meanwhile, or are fetching it now
                    # (they found it not started, so nobody to wait for): fetch
                    # only what nobody has or is bringing
                    with self._shared.lock:
                        pending.started = True
                        held = self._shared.blocks.spans(path, pending.version)
                        busy = [
                            p.span
                            for p in self.pending(path, pending.version)
                            if p.started and p is not pending
                        ]
                    known = [Span(s, s + len(d)) for s, d in held] + busy
                    todo = gaps(span.start, span.end, known)
                    if debug():
                        what = f"fetched {spans_text(todo)}" if todo else "already read"
                        log.debug("read-ahead /%s %s %s", path, spans_text([span]), what)
                    for part in todo:
                        pieces = self.fetch_blocks(path, entry, part, "ahead")
                        with self._shared.lock:
                            # a late read-ahead must not push out a newer version's blocks
                            if self._shared.blocks.version_of(path) in (None, pending.version):
                                for at, data in pieces:
                                    self._shared.blocks.insert(path, pending.version, at, data)
                except Exception as e:  # the foreground read will meet it again and report it
                    log.debug("read-ahead of %s [%d:%d) failed: %r", path, span.start, span.end, e)
                finally:
                    # no longer in flight *before* the gate opens: the read waiting
                    # on it plans the next windows at once.  The other way round it
                    # saw this window still in flight, found no slot free and
                    # started none, so a stream drained its read-ahead every few
                    # windows and stalled on a miss (LAN: 81% of the link).
                    self._landed(handle, pending)

        # could it not start, forget the promise: reads fetch those bytes
        self._shared.start(job, lambda: self._landed(handle, pending))

    def _landed(self, handle: FileHandle, pending: Pending) -> None:
        """A read-ahead finished (or never started): it is no longer in flight."""
        self._settle(handle.path, pending)
        with self._shared.lock:
            if pending.span in handle.inflight:
                handle.inflight.remove(pending.span)


def assemble(plan: ReadPlan, pieces: list[tuple[int, bytes]]) -> bytes:
    """Cut ``[plan.start, plan.end)`` out of cached and fetched pieces.

    One copy at most (none when a piece is exactly the answer): reads of
    1 MiB make the bytes copied per read the main cost of a stream.
    """
    lo, hi = plan.start, plan.end
    for start, data in pieces:
        if start <= lo and start + len(data) >= hi:
            return data[lo - start : hi - start]
    parts: list[memoryview] = []
    pos = lo
    for start, data in sorted(pieces, key=lambda p: p[0]):
        end = start + len(data)
        if end <= pos:
            continue
        if start > pos:
            break
        take_to = min(end, hi)
        parts.append(memoryview(data)[pos - start : take_to - start])
        pos = take_to
        if pos >= hi:
            break
    if pos != hi:
        raise FsError(errno.EIO, f"read plan left a hole at {pos}")
    return b"".join(parts)
