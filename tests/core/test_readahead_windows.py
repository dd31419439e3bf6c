"""Several read-ahead windows in flight, the media tail, and the hit path asking the planner."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from partyfuse.core.readplan import (
    AHEAD_PIECE_MAX,
    AHEAD_WINDOWS,
    MEDIA_TAIL,
    ReadPlan,
    Span,
    StreamState,
    gaps,
    is_media,
    plan_hit,
    plan_read,
)
from tests.support.fs import KiB, MiB, assert_disjoint, payload, queued_fs, ranges

BUDGET = 12 * MiB
CHUNK = 128 * KiB


def _stream_plans(
    file_size: int, *, media: bool = False, land: bool = False, reads: int = 64
) -> tuple[list[ReadPlan], list[Span]]:
    """Plans of a forward 128 KiB stream whose read-ahead stays in flight
    (``land``: each window lands before the next read)."""
    stream = StreamState()
    cached: list[Span] = []
    inflight: list[Span] = []
    plans = []
    for k in range(reads):
        plan, stream = plan_read(
            k * CHUNK,
            CHUNK,
            file_size,
            cached,
            stream,
            budget=BUDGET,
            inflight=inflight,
            background=True,
            ahead_slots=AHEAD_WINDOWS - len(inflight),
            media=media,
        )
        plans.append(plan)
        cached += plan.fetch
        inflight += plan.ahead
        if land:
            cached += inflight
            inflight = []
    return plans, cached + inflight


def test_a_stream_keeps_several_windows_in_flight_never_more() -> None:
    plans, _ = _stream_plans(256 * MiB)
    in_flight = [s for p in plans for s in p.ahead]
    assert len(in_flight) == AHEAD_WINDOWS  # nothing landed: the slots fill, then stop
    assert_disjoint([(s.start, s.end) for s in in_flight])
    # all four were in flight together while the reader went on reading
    fourth = next(k for k, p in enumerate(plans) if in_flight[-1] in p.ahead)
    assert fourth < len(plans) - 1
    assert all(p.ahead == () for p in plans[fourth + 1 :])


def test_windows_in_flight_never_cover_a_byte_twice_and_stay_in_the_budget() -> None:
    plans, everything = _stream_plans(64 * MiB, land=True, reads=400)
    spans = [(s.start, s.end) for p in plans for s in (*p.fetch, *p.ahead)]
    assert_disjoint(spans)
    assert gaps(0, 400 * CHUNK, everything) == []
    for plan in plans:
        ahead_bytes = sum(len(s) for s in plan.ahead)
        assert ahead_bytes <= BUDGET // 2
        # a few blocks each: one request, handed over block by block (no copy)
        assert all(len(s) <= AHEAD_PIECE_MAX for s in plan.ahead)
        assert all(s.end <= 64 * MiB for s in plan.ahead)


def test_a_media_stream_fetches_its_last_window_early() -> None:
    size = 100 * MiB + 12345
    plans, _ = _stream_plans(size, media=True, reads=4)
    tail = Span(size - MEDIA_TAIL, size)
    assert plans[0].ahead == (tail,)  # at the first read, before the stream is known
    assert all(tail not in p.ahead for p in plans[1:])  # once
    plain, _ = _stream_plans(size, media=False, reads=4)
    assert all(s.end < size for p in plain for s in p.ahead)


def test_the_media_tail_is_not_fetched_when_cached_small_or_synchronous() -> None:
    size = 100 * MiB
    tail = Span(size - MEDIA_TAIL, size)
    kw = {"budget": BUDGET, "background": True, "media": True}
    plan, _ = plan_read(0, CHUNK, size, [tail], StreamState(), **kw)  # type: ignore[arg-type]
    assert plan.ahead == ()
    plan, _ = plan_read(0, CHUNK, 2 * MEDIA_TAIL, [], StreamState(), **kw)  # type: ignore[arg-type]
    assert plan.ahead == ()  # a small file: the head read's padding covers most of it
    plan, _ = plan_read(0, CHUNK, size, [], StreamState(), budget=BUDGET, media=True)
    assert plan.ahead == ()  # no background pool: no read-ahead at all
    plan, _ = plan_read(
        0, CHUNK, size, [], StreamState(), budget=BUDGET, background=True, media=True, ahead_slots=0
    )
    assert plan.ahead == ()


def test_media_extensions_are_the_containers_with_an_index_at_the_end() -> None:
    for name in ["a/b.mp4", "x.MOV", "y.m4v", "z.m4a", "c.3gp", "d.mkv", "e.webm"]:
        assert is_media(name), name
    for name in ["a.mp3", "b.flac", "mp4", "dir.mp4/file", "f.txt", ".mkv.part"]:
        assert not is_media(name), name


@given(
    file_size=st.integers(1, 40 * MiB),
    offset=st.integers(0, 40 * MiB),
    size=st.integers(0, 2 * MiB),
    cached=st.lists(st.tuples(st.integers(0, 40 * MiB), st.integers(1, 4 * MiB)), max_size=6),
    inflight=st.lists(st.tuples(st.integers(0, 40 * MiB), st.integers(1, MiB)), max_size=3),
    last=st.tuples(st.integers(-1, 40 * MiB), st.integers(1, 2 * MiB), st.integers(0, 5)),
    media=st.booleans(),
)
def test_plan_hit_agrees_with_plan_read_on_every_cached_read(
    file_size: int,
    offset: int,
    size: int,
    cached: list[tuple[int, int]],
    inflight: list[tuple[int, int]],
    last: tuple[int, int, int],
    media: bool,
) -> None:
    """One decider: whenever the hit path answers, the full planner would have
    fetched nothing, started no read-ahead and moved the stream the same way."""
    spans = [Span(s, min(s + n, file_size)) for s, n in cached if s < file_size]
    flying = [
        Span(s, min(s + n, file_size))
        for s, n in inflight
        if s < file_size and not gaps(s, s + n, spans) == []
    ]
    flying = [f for f in flying if gaps(f.start, f.end, spans) == [f]]
    start, length, streak = last
    stream = StreamState(start, start + length if start >= 0 else -1, streak, 0, length * streak)
    common = {"budget": BUDGET, "background": True, "media": media}
    full, after = plan_read(
        offset,
        size,
        file_size,
        spans,
        stream,
        inflight=flying,
        ahead_slots=AHEAD_WINDOWS - len(flying),
        **common,  # type: ignore[arg-type]
    )

    def reach(_key: str, pos: int, limit: int) -> int:
        from partyfuse.core.readplan import covered_until

        return min(max(pos, covered_until(pos, spans)), max(pos, limit))

    cap = full.ahead_cap
    quick = plan_hit(offset, size, file_size, stream, cap, flying, reach, "f", media)
    if full.end > full.start and gaps(full.start, full.end, spans):
        return  # not a hit: the hit path never gets here (the cache had no bytes)
    if quick is not None:
        assert full.fetch == () and full.ahead == ()
        assert quick == after


def test_the_hit_path_still_starts_windows_in_time() -> None:
    # cached reads take the short path; the planner decides when a window is due
    data = payload(40 * MiB)
    fs, t, _, jobs = queued_fs({"f": data})
    fh = fs.open("/f", os.O_RDONLY)
    for pos in range(0, 32 * MiB, CHUNK):
        assert fs.read("/f", CHUNK, pos, fh) == data[pos : pos + CHUNK]
        while jobs:
            jobs.pop(0)()
    assert fs.stats.misses <= 2  # the first reads, before the stream is known
    assert fs.stats.readahead_requests > 8
    assert_disjoint(ranges(t.log))
    assert fs.cached_bytes <= fs.cache_bound


def test_media_file_read_through_remotefs_fetches_the_tail_once() -> None:
    data = payload(30 * MiB)
    fs, t, _, jobs = queued_fs({"v.mkv": data, "v.bin": data})
    for name in ("v.mkv", "v.bin"):
        fh = fs.open("/" + name, os.O_RDONLY)
        before = len(t.log)
        assert fs.read("/" + name, 4096, 0, fh) == data[:4096]
        while jobs:
            jobs.pop(0)()
        got = ranges(t.log[before:])
        tail_fetched = (len(data) - MEDIA_TAIL, len(data)) in got
        assert tail_fetched == (name == "v.mkv"), (name, got)
        # the player's seek to the index is then a cache hit
        hits = fs.stats.hits
        end = len(data) - 64 * KiB
        assert fs.read("/" + name, 64 * KiB, end, fh) == data[end:]
        assert (fs.stats.hits > hits) == (name == "v.mkv")
        fs.release("/" + name, fh)
