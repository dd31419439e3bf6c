"""The one place that decides which byte ranges a read fetches.

Everything that shapes a fetch lives here, the way h11's ``_state.py`` holds
every state transition: padding around small reads, growing windows for
sequential streams, the cap that keeps one fetch inside the cache budget,
never asking past EOF, never fetching a cached byte again.  ``plan_read`` is a
pure function from (request, what is cached, what the handle did before) to a
``ReadPlan``; the caller executes it, possibly several ranges at once.

Policy (sizes in bytes, ``W`` = stream window):

- empty request, or offset at/after EOF: nothing to fetch (short read).
- ``budget == 0`` (``-cf 0``): fetch exactly the uncached request, clamped to EOF.
- forward stream (this read starts where the handle's last one ended): pad
  forward only to a window ``W`` of twice the bytes the run has read so far,
  at least 256 KiB and at most 8 MiB (so each fetch roughly doubles, like the
  kernel's own read-ahead, and a tool that reads only a file's head, such as
  a thumbnailer, does not pull megabytes).
- backward stream (this read ends where the last one started): same, backwards.
- other reads up to 64 KiB: 64 KiB either side (Windows and many tools issue 4 KiB
  and 64 KiB reads around the same spot: headers, thumbnails).
- larger random reads: twice the read size either side, at least 256 KiB and
  at most 4 MiB.
- the padded window never exceeds the stream's share of the cache budget
  (``-cf`` * 1 MiB divided by the sequential streams reading at the time; half
  of it, in whole blocks, when read-ahead runs in the background, so the window
  being read and the one being fetched both fit), except that the requested
  bytes are always fetched.  Read-ahead needs a share of 4 MiB or more (``-cf
  4`` for one stream); below that streams fetch synchronously, so four readers
  at ``-cf 12`` do not push out each other's bytes before they are read.
- padding only grows a missing range away from cached bytes: the window is cut
  into the gaps between cached spans and only gaps touching the request are
  fetched, so a partial hit at either end fetches just the missing part.
- read-ahead (only when the caller can run it in the background): once a
  forward stream is established, keep the next ``W`` bytes cached or in flight;
  a new range ``[covered_end, offset + W)`` is planned when less than ``W / 2`` remains.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .model import BLOCK_SIZE

KiB = 1 << 10
MiB = 1 << 20

SMALL_READ = 64 * KiB
SMALL_PAD = 64 * KiB
MEDIUM_PAD_MIN = 256 * KiB
MEDIUM_PAD_MAX = 4 * MiB
STREAM_WINDOW_MIN = 256 * KiB
STREAM_WINDOW_MAX = 8 * MiB
#: Read-ahead needs room for the window being read and the one being fetched,
#: each up to half the budget in whole blocks, plus the two blocks a
#: misaligned window straddles; below this the cache could evict bytes
#: fetched ahead before they are read, so streams stay synchronous.
READ_AHEAD_MIN_BUDGET = 4 * BLOCK_SIZE
#: How far past the previous read a forward read may start and still count as
#: the same stream (the kernel's own read-ahead and multi-threaded FUSE loops
#: reorder and skip a little).
STREAM_SLACK = 128 * KiB


@dataclass(frozen=True)
class Span:
    """A half-open byte range ``[start, end)``."""

    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start


class StreamState(NamedTuple):
    """What a handle's previous reads say about its access pattern (a tuple:
    one is made per read, and a frozen dataclass costs several times more)."""

    last_start: int = -1
    last_end: int = -1
    forward: int = 0
    """Length of the current run of forward-sequential reads."""
    backward: int = 0
    """Length of the current run of backward-sequential reads."""
    run_bytes: int = 0
    """Bytes read by the current run (forward or backward)."""


@dataclass(frozen=True)
class ReadPlan:
    start: int
    """First byte the read returns."""
    end: int
    """End of the bytes the read returns (``start == end``: empty, short read)."""
    fetch: tuple[Span, ...]
    """Ranges to fetch before the read can be answered: sorted, disjoint, uncached."""
    ahead: tuple[Span, ...] = ()
    """Ranges worth fetching in the background for the reads to come."""
    ahead_cap: int = 0
    """The cap on this stream's read-ahead window (0: no read-ahead), kept by
    the caller so a cached read can tell cheaply whether read-ahead is due."""

    @property
    def is_hit(self) -> bool:
        return not self.fetch


def next_stream(stream: StreamState, offset: int, end: int) -> StreamState:
    """Fold one read ``[offset, end)`` into the handle's access pattern."""
    if end <= offset:
        return stream
    forward = backward = 0
    if stream.last_end >= 0:
        if stream.last_start < offset <= stream.last_end + STREAM_SLACK and end > stream.last_end:
            forward = stream.forward + 1
        elif stream.forward and stream.last_start - STREAM_SLACK <= offset < stream.last_start:
            # a straggler of a forward stream: the kernel issues a file's reads in
            # parallel on a multi-threaded FUSE loop, so one may arrive just after
            # the read past it; taking it for a backward stream would pad behind it
            # and fetch again bytes read (and dropped) moments ago
            return stream
        elif end == stream.last_start or (
            offset < stream.last_start and stream.last_start - STREAM_SLACK <= end < stream.last_end
        ):
            backward = stream.backward + 1
        elif offset == stream.last_start and end == stream.last_end:
            # the same read again (a retry): keep the pattern
            return stream
    run = stream.run_bytes + (end - offset) if forward or backward else end - offset
    return StreamState(offset, end, forward, backward, run)


def readahead_due(stream: StreamState, end: int, reach: int, file_size: int, cap: int) -> bool:
    """Whether a forward stream that just read up to ``end``, with bytes
    cached or in flight up to ``reach``, should fetch more in the background."""
    if cap <= 0 or stream.forward < 2 or reach >= file_size:
        return False
    return reach - end < stream_window(stream.run_bytes, cap) // 2


def stream_window(run_bytes: int, cap: int) -> int:
    """Twice what the run read so far, within 256 KiB..8 MiB, at most ``cap``."""
    return max(0, min(max(2 * run_bytes, STREAM_WINDOW_MIN), STREAM_WINDOW_MAX, cap))


def gaps(lo: int, hi: int, covered: Iterable[Span]) -> list[Span]:
    """The parts of ``[lo, hi)`` not inside any of ``covered``."""
    out: list[Span] = []
    pos = lo
    for span in sorted(covered, key=lambda s: s.start):
        if span.end <= pos or span.start >= span.end:
            continue
        if span.start >= hi:
            break
        if span.start > pos:
            out.append(Span(pos, span.start))
        pos = max(pos, span.end)
        if pos >= hi:
            break
    if pos < hi:
        out.append(Span(pos, hi))
    return out


def covered_until(pos: int, covered: Iterable[Span]) -> int:
    """How far the spans cover contiguously from ``pos``."""
    for span in sorted(covered, key=lambda s: s.start):
        if span.start <= pos < span.end:
            pos = span.end
        elif span.start > pos:
            break
    return pos


def _split_padding(left: int, right: int, allowed: int, prefer_right: bool) -> tuple[int, int]:
    """Shrink the two paddings so they add up to at most ``allowed``."""
    if left + right <= allowed:
        return left, right
    if prefer_right:
        right = min(right, allowed)
        left = min(left, allowed - right)
    else:
        want_left = left
        left = min(left, allowed // 2)
        right = min(right, allowed - left)
        left = min(want_left, allowed - right)
    return left, right


def plan_read(
    offset: int,
    size: int,
    file_size: int,
    cached: Sequence[Span],
    stream: StreamState,
    *,
    budget: int,
    inflight: Sequence[Span] = (),
    background: bool = False,
    may_read_ahead: bool = True,
    streams: int = 1,
) -> tuple[ReadPlan, StreamState]:
    """Decide what to fetch for ``read(size, offset)`` of a ``file_size`` file.

    ``cached`` are the spans of this file version held by the block cache,
    ``inflight`` the ones being fetched in the background, ``budget`` the cache
    size in bytes (0: no cache), ``background`` whether read-ahead can run at
    all, ``may_read_ahead`` whether this handle may start one now (it has none
    in flight), ``streams`` how many sequential streams share the budget
    (each plans within its share, so their windows never evict each other).
    Returns the plan and the handle's next ``StreamState``.
    """
    start = max(0, min(offset, file_size))
    end = max(start, min(offset + max(size, 0), file_size))
    if start >= end:
        return ReadPlan(start, end, ()), stream
    new_stream = next_stream(stream, start, end)
    if budget <= 0:
        return ReadPlan(start, end, tuple(gaps(start, end, cached))), new_stream

    needed = end - start
    share = budget // max(1, streams)
    if background and share < READ_AHEAD_MIN_BUDGET:
        background = False
    cap = (share // 2 // BLOCK_SIZE) * BLOCK_SIZE if background else share
    if new_stream.forward:
        window = stream_window(new_stream.run_bytes, cap)
        left, right = 0, max(0, window - needed)
    elif new_stream.backward:
        window = stream_window(new_stream.run_bytes, cap)
        left, right = max(0, window - needed), 0
    elif needed <= SMALL_READ:
        left = right = SMALL_PAD
    else:
        left = right = max(MEDIUM_PAD_MIN, min(MEDIUM_PAD_MAX, 2 * needed))
    left = min(left, start)
    right = min(right, file_size - end)
    left, right = _split_padding(
        left, right, max(0, cap - needed), prefer_right=new_stream.forward > 0
    )
    lo, hi = start - left, end + right

    fetch = tuple(g for g in gaps(lo, hi, cached) if g.start < end and g.end > start)

    ahead: tuple[Span, ...] = ()
    if background and may_read_ahead and new_stream.forward >= 2:
        window = stream_window(new_stream.run_bytes, cap)
        known = [*cached, *inflight, *fetch]
        reach = covered_until(end, known)
        if readahead_due(new_stream, end, reach, file_size, cap):
            target = min(file_size, end + window)
            ahead = tuple(gaps(reach, target, known)[:1])
    return ReadPlan(start, end, fetch, ahead, cap if background else 0), new_stream
