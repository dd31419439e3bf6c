"""The read planner is pure data: what it decides can be checked without any IO."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partyfuse.core.readplan import (
    SMALL_PAD,
    SPARSE_AFTER,
    SPARSE_PAD,
    STREAM_WINDOW_MAX,
    ReadPlan,
    Span,
    StreamState,
    gaps,
    plan_read,
)
from partyfuse.core.remotefs import CacheConfig

KiB, MiB = 1 << 10, 1 << 20
BUDGET = 12 * MiB


def test_empty_and_past_eof_reads_plan_nothing() -> None:
    for offset, size, file_size in [(0, 4096, 0), (10, 4096, 10), (99, 1, 10), (0, 0, 10)]:
        plan, _ = plan_read(offset, size, file_size, [], StreamState(), budget=BUDGET)
        assert plan.fetch == () and plan.start == plan.end


def test_budget_zero_fetches_exactly_the_request_clamped_to_eof() -> None:
    plan, _ = plan_read(100, 5000, 1000, [], StreamState(), budget=0)
    assert plan == ReadPlan(100, 1000, (Span(100, 1000),))


@pytest.mark.parametrize("chunk", [4 * KiB, 128 * KiB, 12345])
def test_forward_stream_windows_double_up_to_8mib(chunk: int) -> None:
    stream, pos, sizes = StreamState(), 0, []
    cached: list[Span] = []
    while pos < 64 * MiB:
        plan, stream = plan_read(pos, chunk, 100 * MiB, cached, stream, budget=BUDGET)
        cached += plan.fetch
        sizes += [len(f) for f in plan.fetch]
        pos += chunk
    # never shrinks while the stream lasts (give or take the straddling read)
    assert all(b >= a - chunk for a, b in zip(sizes[1:], sizes[2:], strict=False))
    assert sizes[1] <= 1 * MiB  # a head-only reader does not pull megabytes
    assert max(sizes) == STREAM_WINDOW_MAX
    assert sum(sizes) <= 64 * MiB + STREAM_WINDOW_MAX  # overshoot: at most one window
    assert gaps(0, 64 * MiB, cached) == []


def test_read_ahead_only_in_the_background_and_only_for_streams() -> None:
    stream = StreamState()
    cached: list[Span] = []
    aheads = []
    for pos in range(0, 4 * MiB, 128 * KiB):
        plan, stream = plan_read(
            pos, 128 * KiB, 64 * MiB, cached, stream, budget=BUDGET, background=True
        )
        cached += plan.fetch + plan.ahead
        aheads += plan.ahead
    assert aheads, "a stream in the background gets read-ahead"
    assert all(len(a) <= BUDGET // 2 for a in aheads)
    plan, _ = plan_read(5 * MiB, 4096, 64 * MiB, [], StreamState(), budget=BUDGET, background=True)
    assert plan.ahead == ()  # a random read does not


@given(
    file_size=st.integers(0, 20 * MiB),
    offset=st.integers(0, 21 * MiB),
    size=st.integers(0, 2 * MiB),
    cached=st.lists(st.tuples(st.integers(0, 20 * MiB), st.integers(1, 2 * MiB)), max_size=6),
    blocks=st.sampled_from([0, 1, 2, 4, 12]),
    last=st.tuples(st.integers(-1, 20 * MiB), st.integers(0, 2 * MiB), st.integers(0, 5)),
    background=st.booleans(),
)
def test_plans_cover_the_request_fetch_no_cached_byte_and_stay_in_the_file(
    file_size: int,
    offset: int,
    size: int,
    cached: list[tuple[int, int]],
    blocks: int,
    last: tuple[int, int, int],
    background: bool,
) -> None:
    spans = [Span(s, min(s + n, file_size)) for s, n in cached if s < file_size]
    start, length, streak = last
    stream = StreamState(start, start + length if start >= 0 else -1, streak, 0, length * streak)
    budget = blocks * MiB
    plan, _ = plan_read(
        offset, size, file_size, spans, stream, budget=budget, background=background
    )
    assert plan.start == min(offset, file_size)
    assert plan.end == min(offset + size, file_size)
    fetched = list(plan.fetch)
    # the request is covered by what is cached plus what is fetched now
    assert gaps(plan.start, plan.end, spans + fetched) == []
    for span in fetched + list(plan.ahead):
        assert 0 <= span.start < span.end <= file_size
        assert gaps(span.start, span.end, spans) == [span]  # never a cached byte
    assert gaps(0, file_size, fetched) == gaps(0, file_size, sorted(fetched, key=lambda s: s.start))
    total = sum(len(f) for f in fetched)
    needed = plan.end - plan.start
    if budget == 0:
        assert total <= needed
    else:
        # the transient bound remotefs documents: one read's fetch
        assert total <= max(needed, min(budget, needed + 8 * MiB))
    for span in plan.ahead:
        assert len(span) <= min(8 * MiB, budget // 2)


@pytest.mark.parametrize("bad", [{"dir_max": -1}, {"file_blocks": -2}, {"dir_ttl": -0.5}])
def test_negative_cache_options_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        CacheConfig(**bad)  # type: ignore[arg-type]


def test_a_stream_that_caught_up_with_its_windows_fetches_only_what_it_asked() -> None:
    # a stream 16 MiB in, whose next four windows were announced a moment ago
    # and not started: the read of the first of them fetches that read's bytes,
    # not 6 MiB over all four on one connection while they wait
    run = 16 * MiB
    stream = StreamState(run - MiB, run, 16, 0, run)
    windows = [Span(run + i * MiB, run + (i + 1) * MiB) for i in range(4)]
    plan, _ = plan_read(
        run, MiB, 64 * MiB, [], stream, budget=BUDGET, inflight=windows, background=True
    )
    assert list(plan.fetch) == [Span(run, run + MiB)]
    # without windows in flight the same read pads forward as a stream does
    plan, _ = plan_read(run, MiB, 64 * MiB, [], stream, budget=BUDGET, background=True)
    assert plan.fetch[0].start == run and plan.fetch[-1].end > run + MiB


@given(
    st.integers(0, 40),
    st.lists(st.tuples(st.integers(0, 48), st.integers(1, 4)), max_size=4),
    st.integers(1, 8),
)
def test_padding_never_reaches_into_a_window_in_flight(
    at: int, flying: list[tuple[int, int]], streak: int
) -> None:
    start = at * MiB
    stream = StreamState(start - MiB, start, streak, 0, streak * MiB)
    inflight = [Span(s * 256 * KiB, (s + n) * 256 * KiB) for s, n in flying]
    plan, _ = plan_read(
        start, MiB, 48 * MiB, [], stream, budget=BUDGET, inflight=inflight, background=True
    )
    for span in plan.fetch:
        for window in inflight:
            overlap = max(span.start, window.start), min(span.end, window.end)
            if overlap[0] < overlap[1]:  # only the bytes the read asked for
                assert plan.start <= overlap[0] and overlap[1] <= plan.end


def _shuffled_nearby(n: int, rng: random.Random, reach: int) -> list[int]:
    """0..n-1 in an order where each index arrives at most ``reach`` places late
    or early, as a multi-threaded FUSE loop answers a stream's parallel reads."""
    keys = sorted(range(n), key=lambda i: i + rng.uniform(0, reach))
    return keys


@given(st.integers(0, 2**32), st.integers(0, 3))
def test_a_stream_of_big_reads_out_of_order_keeps_its_read_ahead(seed: int, reach: int) -> None:
    # 1 MiB reads (the raised kernel read-ahead) answered out of order: the
    # stream stays one (its windows keep coming, so the reads are hits), and
    # no byte is ever fetched twice, straggler or not
    rng = random.Random(seed)
    size = 48 * MiB
    order = _shuffled_nearby(size // MiB, rng, reach)
    stream = StreamState()
    fetched: list[Span] = []
    misses = 0
    for i in order:
        plan, stream = plan_read(
            i * MiB, MiB, size, fetched, stream, budget=64 * MiB, background=True
        )
        new = list(plan.fetch) + list(plan.ahead)
        for span in new:  # windows land at once here: nothing is in flight
            assert gaps(span.start, span.end, fetched) == [span], (span, i)
        fetched = sorted(fetched + new, key=lambda s: s.start)
        misses += bool(plan.fetch)
    assert gaps(0, size, fetched) == []
    assert misses <= 4, misses


def test_a_straggler_plans_no_window_behind_the_streams_head() -> None:
    # reads at 10 and 11 MiB planned; the one at 9 arrives last, after the
    # window at 12 MiB was read and dropped: nothing behind 12 is planned again
    head = StreamState(11 * MiB, 12 * MiB, 6, 0, 12 * MiB)
    cached = [Span(0, 9 * MiB)]  # 9..12 were read and pushed out; 12.. in flight
    inflight = [Span(12 * MiB, 13 * MiB)]
    plan, after = plan_read(
        8 * MiB, MiB, 64 * MiB, cached, head, budget=BUDGET, inflight=inflight, background=True
    )
    assert after == head  # a straggler: the stream is where it was
    assert all(span.start >= 12 * MiB for span in plan.ahead), plan.ahead


def test_padding_that_random_reads_never_use_shrinks_and_comes_back_on_a_hit() -> None:
    # uniformly random 16 KiB reads of a big file: the 64 KiB either side each
    # miss brings are never read; after a few such misses a read brings less
    # (on nginx a 48 KiB answer costs half a 144 KiB one on loopback, and on a
    # 100 Mbit/s link a third of the transfer), and a hit restores the padding
    size = 256 * MiB
    rng = random.Random(3)
    stream, cached, fetched = StreamState(), [], []
    for slot in rng.sample(range(60), SPARSE_AFTER + 3):  # never the same spot twice
        at = slot * 4 * MiB + 2 * MiB
        plan, stream = plan_read(at, 16 * KiB, size, cached, stream, budget=BUDGET)
        fetched.append(sum(len(s) for s in plan.fetch))
        cached += plan.fetch
    assert fetched[:SPARSE_AFTER] == [16 * KiB + 2 * SMALL_PAD] * SPARSE_AFTER
    assert all(n == 16 * KiB + 2 * SPARSE_PAD for n in fetched[SPARSE_AFTER:]), fetched
    # a read the padding brought: it did get used, so full padding again
    hit_at = cached[-1].start
    plan, stream = plan_read(hit_at, 4 * KiB, size, cached, stream, budget=BUDGET)
    assert plan.fetch == ()
    plan, stream = plan_read(62 * 4 * MiB, 16 * KiB, size, cached, stream, budget=BUDGET)
    assert sum(len(s) for s in plan.fetch) == 16 * KiB + 2 * SMALL_PAD
