"""The daemon's memory follows -cf, and a run leaks no threads, fds or sockets.

Through a real mount of a real copyparty: a 256 MiB file read sequentially,
then two copies (``cp -r``) of 1,000 files of 32 KiB, with ``-cf 4``.  The
peak RSS must stay under ``rss_bound_mib`` -- the formula README's Reliability
section documents -- and the threads, fds and sockets must stay under their
ceiling and not grow from the first copy to the second.  32 KiB files make
32 MiB per copy: were the transport to keep whole small bodies outside the
block cache's count, the second copy alone would pass the bound.  The
measuring is scripts/measure_rss.py's (its full run: 2 GiB and 10,000 files).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import measure_rss  # noqa: E402
from measure_rss import Handles, Row  # noqa: E402

pytestmark = pytest.mark.linux_only  # /proc, fusermount

CF = 4


@pytest.fixture(scope="module")
def row(tmp_path_factory: pytest.TempPathFactory) -> Row:
    cfg = measure_rss.build(256, 1000, seed=3, cpus=(None, None), small_kb=32)
    (row,) = measure_rss.run(tmp_path_factory.mktemp("rss"), cfg, [CF], copies=2)
    print(measure_rss.table([row]))
    return row


def test_every_byte_read_back_exactly(row: Row) -> None:
    assert row.problems == []
    assert len(row.copy_peaks) == 2


def test_peak_rss_stays_under_the_documented_bound(row: Row) -> None:
    bound = measure_rss.rss_bound_mib(CF)
    assert row.idle_mib > 0 and row.stream_mib > row.idle_mib, "RSS was not sampled"
    assert row.stream_mib <= bound, (row.stream_mib, bound)
    assert row.small_mib <= bound, (row.small_mib, bound)


def test_threads_fds_and_sockets_return_near_where_they_started(row: Row) -> None:
    ceiling = measure_rss.handles_ceiling(row.idle)
    assert row.after is not None
    for what in ("threads", "fds", "sockets"):
        assert getattr(row.after, what) <= getattr(ceiling, what), (what, row.idle, row.after)
        first, second = (getattr(p, what) for p in row.copy_peaks)
        assert second <= first + measure_rss.GROW_SLACK, (what, row.copy_peaks)
    assert row.check() == []


def test_the_check_reports_a_bound_passed_and_handles_that_grow() -> None:
    idle = Handles(3, 5, 1)
    fine = Row(CF, idle=idle, stream_mib=40, small_mib=45, after=Handles(20, 12, 6),
               copy_peaks=[Handles(20, 12, 6), Handles(20, 13, 7)])  # fmt: skip
    assert fine.check() == []
    fat = Row(CF, idle=idle, small_mib=measure_rss.rss_bound_mib(CF) + 1)
    assert [p.split(":")[1].split()[0] for p in fat.check()] == ["peak"]
    leaky = Row(CF, idle=idle, after=Handles(20, 12, 6),
                copy_peaks=[Handles(20, 12, 6), Handles(20, 20, 14)])  # fmt: skip
    assert [p.split()[2] for p in leaky.check()] == ["fds", "sockets"]


def test_the_bound_follows_cf() -> None:
    bounds = [measure_rss.rss_bound_mib(cf) for cf in (0, 4, 12, 64, 256)]
    assert bounds == sorted(bounds) and len(set(bounds)) == len(bounds)
    # past the largest read, each MiB of -cf adds the cache's and fetch-ahead's share
    assert measure_rss.rss_bound_mib(65) - measure_rss.rss_bound_mib(64) == pytest.approx(
        measure_rss.PER_CF
    )
