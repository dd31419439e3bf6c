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
  and 64 KiB reads around the same spot: headers, thumbnails); after
  ``SPARSE_AFTER`` such reads in a row that all missed (their padding never
  read), 16 KiB either side, until a read is served by the cache again.
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
  fetched, so a partial hit at either end fetches just the missing part; it
  also stops at the first window in flight or announced, so a stream that
  catches up with its read-ahead fetches the bytes it asked for while the
  windows beyond come in parallel (not all of them again, on one connection).
- read-ahead (only when the caller can run it in the background): once a
  forward stream is established, keep the next ``W`` bytes cached or in flight,
  in windows of at most one 1 MiB block (so the cache stores each as it comes,
  without a copy, and they take no more blocks than one big fetch), up to 4
  windows in flight per stream: on a slow link the next windows are already
  coming while one is read, and against a single-threaded server several
  requests overlap its per-request cost.  A window is planned as soon as
  there is room for a whole one (for a young stream with ``W`` <= 1 MiB, one
  window ahead: when half of it is left); never over bytes cached or in
  flight, never past EOF.  ``plan_hit`` gives the same answer cheaply for a
  read the cache holds.
- media containers whose index may sit at the end (MP4/MOV/M4A/M4V/3GP: the
  ``moov`` atom; Matroska/WebM: the cues): at a handle's first read of the
  head, the last 1 MiB is fetched in the background too, so the player's seek
  there is a hit (files of 4 MiB or less: no, the stream reaches it soon).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .model import BLOCK_SIZE

# re-exported: Span and its arithmetic moved to spans, and tests import them from here
from .spans import Span as Span
from .spans import covered_until as covered_until
from .spans import gaps as gaps

KiB = 1 << 10
MiB = 1 << 20

SMALL_READ = 64 * KiB
SMALL_PAD = 64 * KiB
#: Random small reads in a row whose padding went unread, after which a read
#: is padded by ``SPARSE_PAD`` only (until one is served by the cache again):
#: uniformly random reads of a big file (a database, a disk image, the
#: benchmark) then fetch a third of the bytes, which on nginx halves the cost
#: of an answer on loopback (64 KiB and less go out in one piece) and on a
#: 100 Mbit/s link saves 8 ms of transfer a read.
SPARSE_AFTER = 4
SPARSE_PAD = 16 * KiB
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
#: Reads of a stream's last size that may be out of order at once (FUSE's
#: default background limit lets the kernel have a dozen requests out; a
#: stream's own read-ahead keeps two to four of them).
REORDER_READS = 4
#: The most that slack reaches, however large the reads.
REORDER_MAX = 4 * MiB
#: Read-ahead windows one stream keeps in flight at once.
AHEAD_WINDOWS = 4
#: Bytes at the end of a media container fetched when a stream starts on it.
MEDIA_TAIL = 1 * MiB
#: Media files at most this big get no early tail (the stream reaches it soon).
MEDIA_MIN_SIZE = 4 * MEDIA_TAIL
#: Containers that may keep their index at the end (MP4 family, Matroska).
MEDIA_EXTENSIONS = frozenset({"mp4", "m4v", "m4a", "mov", "3gp", "mkv", "webm"})


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
    misses: int = 0
    """Reads in a row that were neither sequential nor served by the cache:
    the padding they brought was never read (see ``SPARSE_AFTER``)."""


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


def is_media(path: str) -> bool:
    """Whether ``path`` names a container whose index may be at its end."""
    name = path.rpartition("/")[2]
    stem, dot, ext = name.rpartition(".")
    return bool(dot and stem) and ext.lower() in MEDIA_EXTENSIONS


def next_stream(stream: StreamState, offset: int, end: int) -> StreamState:
    """Fold one read ``[offset, end)`` into the handle's access pattern."""
    if end <= offset:
        return stream
    forward = backward = 0
    if stream.last_end >= 0:
        # the kernel has a few reads of a stream out at once, each as large as
        # the last (1 MiB with the raised read-ahead), and a multi-threaded loop
        # answers them in any order: a read up to that many reads away is
        # still the stream's (with a fixed 128 KiB, 1 MiB reads arriving out of
        # order reset the stream, and with it the read-ahead, every few reads)
        slack = max(
            STREAM_SLACK, min(REORDER_READS * (stream.last_end - stream.last_start), REORDER_MAX)
        )
        if stream.last_start < offset <= stream.last_end + slack and end > stream.last_end:
            forward = stream.forward + 1
        elif stream.forward and stream.last_start - slack <= offset < stream.last_start:
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


#: Most bytes one read-ahead window asks for: two cache blocks.  Each request
#: costs the server something whatever its size (copyparty about a
#: millisecond: with 1 MiB windows it bounded a loopback stream); the
#: transport hands a window over block by block, so it is stored without a
#: copy (``BlockTransport``).  Not more: a reader waits for a whole window, and
#: windows in flight share the link, so 4 MiB ones left a 1 Gbit/s LAN stream
#: at 77% of the link (2 MiB: 96%, as with 1 MiB).
AHEAD_PIECE_MAX = 2 * BLOCK_SIZE


def ahead_piece(window: int) -> int:
    """The size of one read-ahead window of a stream reading ``window`` ahead:
    at most ``AHEAD_PIECE_MAX``, so a window is one request and its bytes take
    as few cache blocks as one big fetch would (the budget counts them)."""
    return max(1, min(window, AHEAD_PIECE_MAX))


def ahead_room(window: int) -> int:
    """Room ahead that is worth a new window: a whole one when several fit,
    else (a young stream, one window ahead) half of it, as the kernel does."""
    piece = ahead_piece(window)
    return piece if window > piece else max(1, piece // 2)


def readahead_due(stream: StreamState, end: int, reach: int, file_size: int, cap: int) -> bool:
    """Whether a forward stream that just read up to ``end``, with bytes
    cached or in flight up to ``reach``, has room for another window."""
    if cap <= 0 or stream.forward < 2 or reach >= file_size:
        return False
    window = stream_window(stream.run_bytes, cap)
    target = min(file_size, end + window)
    return target - reach >= min(ahead_room(window), file_size - reach)


def media_tail_due(media: bool, stream: StreamState, start: int, file_size: int) -> bool:
    """Whether this read starts a stream on a media file whose tail should come early."""
    return (
        media
        and stream.last_end < 0
        and file_size > MEDIA_MIN_SIZE
        and start < file_size - MEDIA_TAIL
    )


def stream_window(run_bytes: int, cap: int) -> int:
    """Twice what the run read so far, within 256 KiB..8 MiB, at most ``cap``."""
    return max(0, min(max(2 * run_bytes, STREAM_WINDOW_MIN), STREAM_WINDOW_MAX, cap))


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


#: The ranges of a file, ``(lo, hi)`` each, whose cached spans a plan looks at.
Horizon = tuple[tuple[int, float], ...]


def plan_horizon(
    offset: int, size: int, file_size: int, stream: StreamState, budget: int
) -> Horizon:
    """The ranges ``plan_read`` looks at cached spans in: it looks at no span
    that lies outside all of them, so the caller may pass only those (the
    same plan: a property test compares).

    A stream pads and reads ahead within the cache budget from the read (and
    from its head, for a straggler), any other read pads by at most
    ``MEDIUM_PAD_MAX``, and a media file's tail comes early.  A random reader
    of a big file leaves hundreds of blocks cached far from where it reads:
    handing every one of them to each plan cost more than the request (300 µs
    a 4 KiB read on loopback), and so did the ones between a random read and
    the one before it (a single range from one to the other held a third of
    the cache: 48 blocks a read on average)."""
    start = max(0, min(offset, file_size))
    end = max(start, min(offset + max(size, 0), file_size))
    if start >= end:
        return ()
    if budget <= 0:
        return ((start, end),)
    new = next_stream(stream, start, end)
    near: Horizon
    if new.forward:
        # padding from the read, windows from the stream's head (a straggler's
        # is past the read): neither reaches further than the budget
        near = ((start, max(end, new.last_end) + budget),)
    elif new.backward:
        near = ((start - budget, end),)
    else:
        pad = min(budget, max(SMALL_PAD, MEDIUM_PAD_MAX))
        near = ((start - pad, end + pad),)
    return (*near, (max(0, file_size - MEDIA_TAIL), math.inf))


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
    ahead_slots: int = AHEAD_WINDOWS,
    streams: int = 1,
    media: bool = False,
) -> tuple[ReadPlan, StreamState]:
    """Decide what to fetch for ``read(size, offset)`` of a ``file_size`` file.

    ``cached`` are the spans of this file version held by the block cache,
    ``inflight`` the ones being fetched in the background, ``budget`` the cache
    size in bytes (0: no cache), ``background`` whether read-ahead can run at
    all, ``ahead_slots`` how many more windows this handle may start now
    (``AHEAD_WINDOWS`` minus those it has in flight), ``streams`` how many
    sequential streams share the budget (each plans within its share, so their
    windows never evict each other), ``media`` whether the file is a container
    whose index may be at its end.
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
        left = right = SMALL_PAD if stream.misses < SPARSE_AFTER else SPARSE_PAD
    else:
        left = right = max(MEDIUM_PAD_MIN, min(MEDIUM_PAD_MAX, 2 * needed))
    left = min(left, start)
    right = min(right, file_size - end)
    left, right = _split_padding(
        left, right, max(0, cap - needed), prefer_right=new_stream.forward > 0
    )
    lo, hi = start - left, end + right
    for span in inflight:
        # padding stops where a window in flight (or announced) begins: the
        # requested bytes are fetched now, the windows beyond come in parallel
        # (padding over them fetched up to 8 MiB on one connection while the
        # windows waited, a stall each time a stream caught up with them)
        if span.end > end and span.start < hi:
            hi = max(end, span.start)
        if span.start < start and span.end > lo:
            lo = min(start, span.end)

    fetch = tuple(g for g in gaps(lo, hi, cached) if g.start < end and g.end > start)
    if fetch and not new_stream.forward and not new_stream.backward:
        new_stream = new_stream._replace(misses=stream.misses + 1)

    ahead: list[Span] = []
    if background and ahead_slots > 0:
        known = [*cached, *inflight, *fetch]
        if media_tail_due(media, stream, start, file_size):
            ahead += gaps(file_size - MEDIA_TAIL, file_size, known)[:1]
        if new_stream.forward >= 2:
            # from the stream's head: a straggler (a read that arrived after
            # the one past it) must not plan again windows already read and
            # dropped behind the head
            head = max(end, new_stream.last_end)
            reach = covered_until(head, known)
            if readahead_due(new_stream, head, reach, file_size, cap):
                window = stream_window(new_stream.run_bytes, cap)
                target = min(file_size, head + window)
                piece, room = ahead_piece(window), ahead_room(window)
                ahead += _windows(reach, target, piece, room, known, file_size)
        ahead = ahead[:ahead_slots]
    return ReadPlan(start, end, fetch, tuple(ahead), cap if background else 0), new_stream


def _windows(
    lo: int, hi: int, piece: int, room: int, known: Sequence[Span], file_size: int
) -> list[Span]:
    """``piece``-sized windows over the gaps of ``[lo, hi)``, at most
    ``AHEAD_WINDOWS``; a shorter one where cached bytes or EOF end the gap, or
    where ``hi`` does and it is at least ``room`` (else it waits until the
    stream makes room)."""
    out: list[Span] = []
    for gap in gaps(lo, hi, known):
        pos = gap.start
        while pos < gap.end:
            end = min(pos + piece, gap.end)
            if end - pos < room and end == hi < file_size:
                break
            out.append(Span(pos, end))
            pos = end
            if len(out) >= AHEAD_WINDOWS:
                return out
    return out


def plan_hit(
    offset: int,
    size: int,
    file_size: int,
    stream: StreamState,
    ahead_cap: int,
    inflight: Sequence[Span],
    reach: Callable[[str, int, int], int],
    key: str,
    media: bool = False,
) -> StreamState | None:
    """``plan_read``'s decision for a read the cache holds entirely, cheaply.

    The answer is the handle's next stream state (the read fetches nothing,
    starts nothing), or None when the full planner must run: read-ahead is
    due, the stream was never sized (``ahead_cap < 0``), or a media file's
    tail is to come.  ``inflight`` are the handle's read-ahead windows in
    flight, ``reach(key, pos, limit)`` how far the cache covers ``key``
    contiguously from ``pos`` (looking no further than ``limit``).  At or
    past EOF the stream is returned unchanged (the short read that ends every
    whole-file read).  Positional, no closures: this runs once per cached
    read, the floor under every 4 KiB O_DIRECT read.
    """
    if size <= 0 or offset >= file_size:
        return stream
    end = offset + size
    if end > file_size:
        end = file_size
    if media and media_tail_due(media, stream, offset, file_size):
        return None
    new = next_stream(stream, offset, end)
    if new.forward < 2 or not ahead_cap or len(inflight) >= AHEAD_WINDOWS:
        return new
    if ahead_cap < 0:
        return None
    window = stream_window(new.run_bytes, ahead_cap)
    if new.last_end > end:  # a straggler: plan from the stream's head (plan_read)
        end = new.last_end
    target = end + window
    if target > file_size:
        target = file_size
    pos = reach(key, end, target)
    if inflight:
        pos = _reach_through(pos, target, inflight, reach, key)
    if pos >= file_size:
        return new
    # readahead_due, inlined: room for another window (or up to EOF)
    return None if target - pos >= min(ahead_room(window), file_size - pos) else new


def _reach_through(
    pos: int,
    limit: int,
    inflight: Sequence[Span],
    reach: Callable[[str, int, int], int],
    key: str,
) -> int:
    """Extend a cached reach through windows in flight and the cache beyond them."""
    moved = True
    while moved and pos < limit:
        moved = False
        for span in inflight:
            if span.start <= pos < span.end:
                pos = reach(key, span.end, limit)
                moved = True
    return pos
