"""A read's plan looks only at the cached spans within its horizon: handing
the planner just those (what the reader does, so a random reader of a big file
does not pass hundreds of far-away blocks to every plan) gives the same plan."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partyfuse.core.blockcache import BlockCache
from partyfuse.core.model import FileVersion
from partyfuse.core.readplan import Span, StreamState, plan_horizon, plan_read

KiB, MiB = 1 << 10, 1 << 20
UNIT = 64 * KiB  # spans on a coarse grid, so hypothesis finds adjacent and touching ones


def uniform(lo: int, hi: int) -> st.SearchStrategy[int]:
    """An integer drawn evenly from ``[lo, hi]``: ``integers()`` favours the low
    end, which left most examples with no span (and no read) where padding,
    windows and a media tail reach.  The Random is seeded by hypothesis, so a
    failure replays (it shrinks only as far as the seed does)."""
    return st.randoms(use_true_random=True).map(lambda r: r.randint(lo, hi))


@st.composite
def cached_spans(draw: st.DrawFn, file_size: int) -> list[Span]:
    n = draw(uniform(0, 40))
    cuts = sorted({draw(uniform(0, file_size // UNIT)) for _ in range(n)})
    spans = []
    for a, b in zip(cuts[::2], cuts[1::2], strict=False):  # an odd cut is left over
        if b > a and draw(st.booleans()):
            spans.append(Span(a * UNIT, min(file_size, b * UNIT)))
    return spans


@st.composite
def streams(draw: st.DrawFn, file_size: int) -> StreamState:
    if draw(st.booleans()):
        return StreamState()
    last_start = draw(uniform(0, file_size))
    last_end = draw(uniform(last_start, min(file_size, last_start + 4 * MiB)))
    return StreamState(
        last_start,
        last_end,
        draw(uniform(0, 6)),
        draw(uniform(0, 3)),
        draw(uniform(0, 16 * MiB)),
        draw(uniform(0, 6)),
    )


def offsets(
    file_size: int, stream: StreamState, cached: list[Span], size: int
) -> st.SearchStrategy[int]:
    """Anywhere; near the stream's last read (forward, backward, a straggler,
    a repeat: the reads that pad and read ahead the most); or a few MiB from a
    cached span, where padding and windows meet it."""
    marks = [m for m in (stream.last_start, stream.last_end, stream.last_start - size) if m >= 0]
    marks += [m for span in cached for m in (span.start, span.end)]
    anywhere = uniform(0, file_size + KiB)
    if not marks:
        return anywhere
    near = st.tuples(st.sampled_from(marks), uniform(-5 * MiB, 5 * MiB)).map(
        lambda md: min(file_size + KiB, max(0, md[0] + md[1]))
    )
    return st.one_of(anywhere, near, st.sampled_from(marks))


@settings(max_examples=500)
@given(st.data())
def test_the_horizon_leaves_the_plan_unchanged(data: st.DataObject) -> None:
    file_size = data.draw(
        st.sampled_from([16 * MiB, 200 * MiB]).flatmap(lambda top: uniform(1, top)),
        label="file_size",
    )
    cached = data.draw(cached_spans(file_size), label="cached")
    stream = data.draw(streams(file_size), label="stream")
    size = data.draw(st.sampled_from([1, 4 * KiB, 128 * KiB, MiB, 3 * MiB]), label="size")
    offset = data.draw(offsets(file_size, stream, cached, size), label="offset")
    budget = data.draw(st.sampled_from([0, MiB, 4 * MiB, 12 * MiB, 64 * MiB]), label="budget")
    inflight = data.draw(st.lists(st.sampled_from(cached or [Span(0, 1)]), max_size=3))
    kw = dict(
        budget=budget,
        inflight=inflight,
        background=data.draw(st.booleans()),
        ahead_slots=data.draw(st.integers(0, 4)),
        media=data.draw(st.booleans()),
    )
    horizon = plan_horizon(offset, size, file_size, stream, budget)
    near = [s for s in cached if any(s.end > lo and s.start < hi for lo, hi in horizon)]
    full = plan_read(offset, size, file_size, cached, stream, **kw)  # type: ignore[arg-type]
    cut = plan_read(offset, size, file_size, near, stream, **kw)  # type: ignore[arg-type]
    assert cut == full


@given(st.lists(st.integers(0, 300), max_size=60), st.integers(0, 300), st.integers(0, 300))
def test_spans_over_gives_the_blocks_reaching_into_any_range(
    starts: list[int], lo: int, width: int
) -> None:
    cache = BlockCache(max_blocks=10_000)
    v = FileVersion(400 * KiB, 1.0)
    for s in sorted(set(starts)):
        cache.insert("f", v, s * KiB, b"x" * KiB)  # blocks of 1 KiB, some touching
    hi, tail = lo + width, 250
    got = cache.spans_over("f", v, ((lo * KiB, hi * KiB), (tail * KiB, math.inf)))
    every = cache.spans("f", v)
    want = [
        (s, d)
        for s, d in every
        if (s + len(d) > lo * KiB and s < hi * KiB) or s + len(d) > tail * KiB
    ]
    assert got == want


FILE = 200 * MiB
MARK = 64 * MiB
#: Plans random examples seldom build: (offset, size, stream, budget, the
#: cached span that shapes the plan, background and media).
REACHES = {
    # without background read-ahead a stream's window may take the whole budget
    "forward stream": (
        MARK,
        128 * KiB,
        StreamState(MARK - 128 * KiB, MARK, 3, 0, 16 * MiB),
        4 * MiB,
        Span(MARK + 3 * MiB, MARK + 3 * MiB + UNIT),
        False,
        False,
    ),
    "backward stream": (
        MARK - 128 * KiB,
        128 * KiB,
        StreamState(MARK, MARK + 128 * KiB, 0, 3, 16 * MiB),
        4 * MiB,
        Span(MARK - 3 * MiB - UNIT, MARK - 3 * MiB),
        False,
        False,
    ),
    # a read arriving 4 MiB behind its stream's head: windows start at the head
    "straggler": (
        MARK - 4 * MiB,
        128 * KiB,
        StreamState(MARK, MARK + MiB, 3, 0, 16 * MiB),
        4 * MiB,
        Span(MARK + 2 * MiB, MARK + 2 * MiB + UNIT),
        True,
        False,
    ),
    # a random read of 1 MiB pads 2 MiB either side
    "random read": (
        MARK,
        MiB,
        StreamState(),
        12 * MiB,
        Span(MARK + 2 * MiB, MARK + 2 * MiB + UNIT),
        False,
        False,
    ),
    # a media file's tail comes at its first read
    "media tail": (
        0,
        4 * KiB,
        StreamState(),
        12 * MiB,
        Span(FILE - MiB // 2, FILE - MiB // 2 + UNIT),
        True,
        True,
    ),
}


@pytest.mark.parametrize("case", sorted(REACHES))
def test_the_horizon_reaches_what_shapes_the_plan(case: str) -> None:
    offset, size, stream, budget, span, background, media = REACHES[case]
    kw = dict(budget=budget, background=background, media=media)
    horizon = plan_horizon(offset, size, FILE, stream, budget)
    near = [s for s in [span] if any(s.end > lo and s.start < hi for lo, hi in horizon)]
    full = plan_read(offset, size, FILE, [span], stream, **kw)  # type: ignore[arg-type]
    assert full != plan_read(offset, size, FILE, [], stream, **kw)  # type: ignore[arg-type]
    assert plan_read(offset, size, FILE, near, stream, **kw) == full  # type: ignore[arg-type]
