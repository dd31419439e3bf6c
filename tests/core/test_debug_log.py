"""`-d` shows the cache decisions: directory hits/misses/staleness, block hits
and misses with the spans fetched, read-ahead; and nothing is formatted when
DEBUG is off (the read path must not pay for logging it does not do)."""

from __future__ import annotations

import logging
import os

import pytest

from partyfuse.core import fetcher
from tests.support.fs import KiB, MiB, memory_fs, payload, queued_fs, read_until_queued

CORE = "partyfuse.core"


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    out = []
    for r in caplog.records:
        assert r.name.startswith(CORE + "."), r.name
        assert r.levelno == logging.DEBUG
        out.append(r.getMessage())
    return out


def test_dir_cache_hit_miss_and_stale(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=CORE)
    fs, _, clock = memory_fs({"a/b.txt": b"x"}, dir_ttl=1.0)
    fs.getattr("/a/b.txt")
    assert "dir cache miss /a" in messages(caplog)
    caplog.clear()
    fs.getattr("/a/b.txt")
    assert messages(caplog) == ["dir cache hit /a"]
    caplog.clear()
    clock.advance(1.5)
    fs.getattr("/a/b.txt")
    assert "dir cache stale /a (1.5 s old, ttl 1.0 s)" in messages(caplog)
    assert "dir cache miss /a" not in messages(caplog)
    caplog.clear()
    fs.readdir("/")
    assert "dir cache miss /" in messages(caplog)


def test_block_cache_hit_and_miss_show_the_fetched_spans(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=CORE)
    data = payload(4 * MiB)
    fs, _, _ = memory_fs({"f": data})
    fh = fs.open("/f", os.O_RDONLY)
    caplog.clear()
    assert fs.read("/f", 4 * KiB, MiB, fh) == data[MiB : MiB + 4 * KiB]
    # a small random read is padded 64 KiB either side
    lo, hi = MiB - 64 * KiB, MiB + 68 * KiB
    assert messages(caplog) == [f"read /f [{MiB}+{4 * KiB}): block cache miss, fetch [{lo}-{hi})"]
    caplog.clear()
    assert fs.read("/f", 4 * KiB, MiB + 8 * KiB, fh) == data[MiB + 8 * KiB : MiB + 12 * KiB]
    assert messages(caplog) == [f"read /f [{MiB + 8 * KiB}+{4 * KiB}): block cache hit"]


def test_readahead_decisions_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=CORE)
    data = payload(8 * MiB)
    fs, _, _, jobs = queued_fs({"f": data})
    fh = fs.open("/f", os.O_RDONLY)
    pos = read_until_queued(fs, "/f", data, fh, jobs)
    planned = [m for m in messages(caplog) if "read-ahead" in m]
    assert len(planned) == 1 and planned[0].startswith("read /f read-ahead [")
    spans = planned[0].removeprefix("read /f read-ahead ").split(" ")
    assert len(spans) == len(jobs)  # one job per window in flight
    for span in spans:
        lo, hi = (int(x) for x in span.strip("[)").split("-"))
        assert pos <= lo < hi <= len(data)
    caplog.clear()
    for job in jobs:
        job()
    assert messages(caplog) == [f"read-ahead /f {span} fetched {span}" for span in spans]


def test_nothing_is_formatted_when_debug_is_off(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger=CORE)

    def forbidden(*_a: object) -> str:
        raise AssertionError("debug text built while DEBUG is off")

    monkeypatch.setattr(fetcher, "spans_text", forbidden)
    data = payload(8 * MiB)
    fs, _, clock, jobs = queued_fs({"f": data})
    fh = fs.open("/f", os.O_RDONLY)
    for pos in range(0, 4 * MiB, 128 * KiB):
        assert fs.read("/f", 128 * KiB, pos, fh) == data[pos : pos + 128 * KiB]
    for job in jobs:
        job()
    clock.advance(5)
    fs.getattr("/f")
    assert caplog.records == []
