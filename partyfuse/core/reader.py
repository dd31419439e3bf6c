"""The read path: a read of an open handle, from the cache or through the planner.

``hit`` answers a read the cached blocks hold and ``readplan.plan_hit`` says
needs nothing else, at the cost of a bisect; every other read goes through
``read``: ``readplan.plan_read`` decides what to fetch and what to fetch
ahead, the ``Fetcher`` gets it (waiting for a fetch of the same bytes already
in flight instead of repeating it), and the bytes are cut from cached and
fetched pieces.  A handle reads one version of its file: a change seen before
it returned anything moves it to the new version, a change after that makes
its reads fail (EIO), so a reader never gets two versions' bytes.
"""

from __future__ import annotations

import errno
import logging

from .errors import Changed, FsError
from .fetcher import Fetcher, assemble, debug, log_plan
from .handles import STREAM_IDLE, FileHandle
from .model import Entry
from .namespace import Namespace, split
from .readplan import AHEAD_WINDOWS, ReadPlan, StreamState, plan_hit, plan_horizon, plan_read
from .shared import Shared
from .spans import Span

log = logging.getLogger(__name__)


class Reader:
    def __init__(self, shared: Shared, fetcher: Fetcher, tree: Namespace) -> None:
        self._shared = shared
        self._fetcher = fetcher
        self._tree = tree

    def hit(self, handle: FileHandle, size: int, offset: int) -> bytes | None:
        """A read the cached blocks answer and the planner (``plan_hit``) says
        needs nothing else: the bytes, at the cost of a bisect (O_DIRECT
        readers send 4 KiB reads, one FUSE call each); None sends the read
        through the full planner (``read``).  Called under the lock."""
        file_size = handle.entry.size
        if file_size is None:
            return None
        path = handle.path
        blocks = self._shared.blocks
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
        handle.last_read = self._shared.clock()
        if stream.forward:
            last = used[-1]
            if last + blocks.block_len(path, last) <= end:
                blocks.demote(path, used)
            else:
                blocks.demote(path, used[:-1])
                blocks.touch(path, [last])
        else:
            blocks.touch(path, used)
        self._shared.stats.hits += 1
        self._shared.stats.bytes_served += len(data)
        if debug():
            log.debug("read /%s [%d+%d): block cache hit", path, offset, size)
        return data

    def read(self, handle: FileHandle, size: int, offset: int) -> bytes:
        """Read at the handle's version; a change seen before anything was
        returned moves the handle to the new version (and Changed is retried
        once), a change after that makes every later read of it EIO."""
        lock = self._shared.lock
        for attempt in (1, 2):
            with lock:
                newer, entry, stale = handle.newer, handle.entry, handle.stale
            if stale:
                raise FsError(errno.EIO, f"{handle.path} changed on the server while open")
            if newer is not None:
                entry = self._tree.lookup(handle.path)  # resolves the size, updates handles
                if entry.is_dir:
                    raise FsError(errno.EISDIR, handle.path)
                with lock:
                    if handle.newer is newer:
                        handle.entry, handle.newer, handle.stream = entry, None, StreamState()
            try:
                data = self._read_version(handle, entry, size, offset)
            except Changed:
                with lock:
                    self._shared.stats.changed_retries += 1
                    self._shared.blocks.drop(handle.path)
                    self._shared.dirs.invalidate(split(handle.path)[0])
                    handle.stale = handle.served
                if attempt == 2 or handle.stale:
                    raise
                fresh = self._tree.lookup(handle.path)
                if fresh.is_dir:
                    raise FsError(errno.EISDIR, handle.path) from None
                with lock:
                    handle.entry = fresh
                    handle.stream = StreamState()
                continue
            with lock:
                handle.served = handle.served or bool(data)
            return data
        raise AssertionError("unreachable")

    def _read_version(self, handle: FileHandle, entry: Entry, size: int, offset: int) -> bytes:
        shared, fetcher = self._shared, self._fetcher
        blocks = shared.blocks
        with shared.lock:  # the handle's memo is only read and written under the lock
            version = handle.version() if entry is handle.entry else entry.version()
        file_size = entry.size
        assert file_size is not None
        path = handle.path
        waited = False
        while True:
            with shared.lock:
                horizon = plan_horizon(offset, size, file_size, handle.stream, blocks.bound)
                held = blocks.spans_over(path, version, horizon)
                pending = fetcher.pending(path, version)
                now = shared.clock()
                handle.last_read = now
                plan, handle.stream = plan_read(
                    offset,
                    size,
                    file_size,
                    [Span(s, s + len(d)) for s, d in held],
                    handle.stream,
                    budget=blocks.bound,
                    inflight=[p.span for p in pending],
                    background=shared.spawn is not None,
                    ahead_slots=AHEAD_WINDOWS - len(handle.inflight),
                    streams=max(1, shared.handles.streams(now - STREAM_IDLE)),
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
                        blocks.demote(path, [s for s, e in used if e <= plan.end])
                        blocks.touch(path, [s for s, e in used if e > plan.end])
                    else:
                        blocks.touch(path, [s for s, _ in used])
                    # our own fetches are announced too, so a concurrent reader of
                    # the same bytes (the kernel issues parallel reads) waits for them
                    mine, ahead = fetcher.announce(path, version, plan.fetch, plan.ahead)
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
                data = fetcher.fetch(path, entry, span)
                pieces.append((span.start, data))
                with shared.lock:
                    blocks.insert(path, version, span.start, data)
        finally:
            fetcher.release(path, mine)
        for job in ahead:
            fetcher.start_readahead(handle, entry, job)
        out = assemble(plan, pieces)
        with shared.lock:
            shared.stats.bytes_served += len(out)
        return out

    def _account(self, plan: ReadPlan) -> None:
        if plan.end > plan.start:
            if plan.is_hit:
                self._shared.stats.hits += 1
            else:
                self._shared.stats.misses += 1
