"""A read's plan looks only at the cached spans within its horizon: handing
the planner just those (what the reader does, so a random reader of a big file
does not pass hundreds of far-away blocks to every plan) gives the same plan."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from partyfuse.core.blockcache import BlockCache
from partyfuse.core.model import FileVersion
from partyfuse.core.readplan import Span, StreamState, plan_horizon, plan_read

KiB, MiB = 1 << 10, 1 << 20
UNIT = 64 * KiB  # spans on a coarse grid, so hypothesis finds adjacent and touching ones


@st.composite
def cached_spans(draw: st.DrawFn, file_size: int) -> list[Span]:
    cuts = sorted(set(draw(st.lists(st.integers(0, file_size // UNIT), max_size=40))))
    spans = []
    for a, b in zip(cuts[::2], cuts[1::2], strict=False):  # an odd cut is left over
        if b > a and draw(st.booleans()):
            spans.append(Span(a * UNIT, min(file_size, b * UNIT)))
    return spans


@st.composite
def streams(draw: st.DrawFn, file_size: int) -> StreamState:
    if draw(st.booleans()):
        return StreamState()
    last_start = draw(st.integers(0, file_size))
    last_end = draw(st.integers(last_start, min(file_size, last_start + 4 * MiB)))
    return StreamState(
        last_start,
        last_end,
        draw(st.integers(0, 6)),
        draw(st.integers(0, 3)),
        draw(st.integers(0, 16 * MiB)),
        draw(st.integers(0, 6)),
    )


@settings(max_examples=300)
@given(st.data())
def test_the_horizon_leaves_the_plan_unchanged(data: st.DataObject) -> None:
    file_size = data.draw(st.integers(1, 200 * MiB), label="file_size")
    cached = data.draw(cached_spans(file_size), label="cached")
    stream = data.draw(streams(file_size), label="stream")
    offset = data.draw(st.integers(0, file_size + KiB), label="offset")
    size = data.draw(st.sampled_from([1, 4 * KiB, 128 * KiB, MiB, 3 * MiB]), label="size")
    budget = data.draw(st.sampled_from([0, MiB, 4 * MiB, 12 * MiB, 64 * MiB]), label="budget")
    inflight = data.draw(st.lists(st.sampled_from(cached or [Span(0, 1)]), max_size=3))
    kw = dict(
        budget=budget,
        inflight=inflight,
        background=data.draw(st.booleans()),
        ahead_slots=data.draw(st.integers(0, 4)),
        media=data.draw(st.booleans()),
    )
    lo, hi, tail = plan_horizon(offset, size, file_size, stream, budget)
    near = [s for s in cached if (s.end > lo and s.start < hi) or s.end > tail]
    full = plan_read(offset, size, file_size, cached, stream, **kw)  # type: ignore[arg-type]
    cut = plan_read(offset, size, file_size, near, stream, **kw)  # type: ignore[arg-type]
    assert cut == full


@given(st.lists(st.integers(0, 300), max_size=60), st.integers(0, 300), st.integers(0, 300))
def test_spans_over_gives_the_blocks_reaching_into_the_range_or_past_the_tail(
    starts: list[int], lo: int, width: int
) -> None:
    cache = BlockCache(max_blocks=10_000)
    v = FileVersion(400 * KiB, 1.0)
    for s in sorted(set(starts)):
        cache.insert("f", v, s * KiB, b"x" * KiB)  # blocks of 1 KiB, some touching
    hi, tail = lo + width, 250
    got = cache.spans_over("f", v, lo * KiB, hi * KiB, tail * KiB)
    every = cache.spans("f", v)
    want = [
        (s, d)
        for s, d in every
        if (s + len(d) > lo * KiB and s < hi * KiB) or s + len(d) > tail * KiB
    ]
    assert got == want
