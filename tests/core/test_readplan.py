"""The read planner is pure data: what it decides can be checked without any IO."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partyfuse.core.readplan import (
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
