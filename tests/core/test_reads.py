"""Reading files: exact bytes, short reads at EOF, padding, partial hits, sequential windows."""

from __future__ import annotations

import os

import pytest

from partyfuse.core.blockcache import MIN_CHARGE
from tests.support.fs import KiB, MiB, assert_disjoint, memory_fs, payload, ranges, read_all


def test_empty_file_reads_empty_without_a_request() -> None:
    fs, t, _ = memory_fs({"e": b""})
    fh = fs.open("/e", os.O_RDONLY)
    assert fs.read("/e", 4096, 0, fh) == b""
    assert fs.read("/e", 4096, 100, fh) == b""
    assert t.requests("range") == []


@pytest.mark.parametrize("file_blocks", [0, 1, 12])
def test_reads_at_and_past_eof_are_short_and_never_ask_past_eof(file_blocks: int) -> None:
    data = payload(100 * KiB + 7)
    fs, t, _ = memory_fs({"f": data}, file_blocks=file_blocks)
    fh = fs.open("/f", os.O_RDONLY)
    size = len(data)
    assert fs.read("/f", 4096, size - 10, fh) == data[-10:]
    assert fs.read("/f", 4096, size, fh) == b""
    assert fs.read("/f", 4096, size + 5000, fh) == b""
    assert fs.read("/f", 1 << 20, 0, fh) == data
    assert all(0 <= s < e <= size for s, e in ranges(t.log))


def test_cf_zero_reads_exactly_what_was_asked() -> None:
    data = payload(3 * MiB)
    fs, t, _ = memory_fs({"f": data}, file_blocks=0)
    fh = fs.open("/f", os.O_RDONLY)
    assert fs.read("/f", 5000, 100, fh) == data[100:5100]
    assert fs.read("/f", 5000, 100, fh) == data[100:5100]
    assert fs.read("/f", 5000, len(data) - 1000, fh) == data[-1000:]
    assert ranges(t.log) == [(100, 5100), (100, 5100), (len(data) - 1000, len(data))]
    assert fs.cached_bytes == 0


def test_small_read_is_padded_64k_each_side_clamped_to_the_file() -> None:
    data = payload(4 * MiB)
    fs, t, _ = memory_fs({"f": data})
    fh = fs.open("/f", os.O_RDONLY)
    assert fs.read("/f", 4096, 1 * MiB, fh) == data[MiB : MiB + 4096]
    assert ranges(t.log) == [(MiB - 64 * KiB, MiB + 4096 + 64 * KiB)]
    assert fs.read("/f", 4096, 0, fh) == data[:4096]
    assert ranges(t.log)[-1] == (0, 4096 + 64 * KiB)


def test_medium_read_is_padded_at_least_256k() -> None:
    data = payload(8 * MiB)
    fs, t, _ = memory_fs({"f": data})
    fh = fs.open("/f", os.O_RDONLY)
    assert fs.read("/f", 100 * KiB, 4 * MiB, fh) == data[4 * MiB : 4 * MiB + 100 * KiB]
    assert ranges(t.log) == [(4 * MiB - 256 * KiB, 4 * MiB + 100 * KiB + 256 * KiB)]


def test_partial_hit_at_the_end_fetches_only_the_missing_part() -> None:
    data = payload(4 * MiB)
    fs, t, _ = memory_fs({"f": data})
    a = fs.open("/f", os.O_RDONLY)
    fs.read("/f", 4096, 0, a)  # caches [0, 68K)
    b = fs.open("/f", os.O_RDONLY)  # a fresh handle: no stream pattern
    assert fs.read("/f", 64 * KiB, 32 * KiB, b) == data[32 * KiB : 96 * KiB]
    first, second = ranges(t.log)
    assert first == (0, 68 * KiB)
    assert second[0] == 68 * KiB  # starts right where the cache ends
    assert second[1] >= 96 * KiB
    assert_disjoint(ranges(t.log))


def test_partial_hit_at_the_start_fetches_only_the_missing_part() -> None:
    data = payload(4 * MiB)
    fs, t, _ = memory_fs({"f": data})
    a = fs.open("/f", os.O_RDONLY)
    fs.read("/f", 4096, 2 * MiB, a)  # caches [2M-64K, 2M+68K)
    b = fs.open("/f", os.O_RDONLY)
    lo = 2 * MiB - 64 * KiB
    assert fs.read("/f", 4096, lo - 2048, b) == data[lo - 2048 : lo + 2048]
    second = ranges(t.log)[1]
    assert second[1] == lo  # ends right where the cache begins; padding grew backwards
    assert second[0] < lo - 2048
    assert_disjoint(ranges(t.log))


def test_hole_between_cached_blocks_is_fetched_alone() -> None:
    data = payload(4 * MiB)
    fs, t, _ = memory_fs({"f": data})
    for off in (0, 200 * KiB):
        fs.read("/f", 4096, off, fs.open("/f", os.O_RDONLY))
    # cached: [0, 68K) and [136K, 268K): read across both and the hole
    fh = fs.open("/f", os.O_RDONLY)
    assert fs.read("/f", 128 * KiB, 60 * KiB, fh) == data[60 * KiB : 188 * KiB]
    assert ranges(t.log)[-1] == (68 * KiB, 136 * KiB)


def test_sequential_stream_grows_to_8mib_windows_and_fetches_each_byte_once() -> None:
    data = payload(40 * MiB)
    fs, t, _ = memory_fs({"f": data}, file_blocks=24)
    assert read_all(fs, "/f") == data
    spans = ranges(t.log)
    assert_disjoint(spans)
    assert sum(e - s for s, e in spans) == len(data)
    sizes = [e - s for s, e in spans]
    assert max(sizes) == 8 * MiB
    assert sizes[1:4] == sorted(sizes[1:4])  # the window grows
    assert len(spans) <= 10


def test_stream_window_is_capped_by_the_cache_budget() -> None:
    data = payload(10 * MiB)
    fs, t, _ = memory_fs({"f": data}, file_blocks=3)
    assert read_all(fs, "/f") == data
    assert max(e - s for s, e in ranges(t.log)) <= 3 * MiB
    assert fs.stats.bytes_fetched == len(data)


def test_backward_stream_reads_correctly_with_growing_windows() -> None:
    data = payload(6 * MiB + 123)
    fs, t, _ = memory_fs({"f": data})
    fh = fs.open("/f", os.O_RDONLY)
    chunk = 64 * KiB
    pos = len(data)
    out = []
    while pos > 0:
        start = max(0, pos - chunk)
        out.append(fs.read("/f", pos - start, start, fh))
        pos = start
    assert b"".join(reversed(out)) == data
    assert_disjoint(ranges(t.log))
    assert fs.stats.bytes_fetched == len(data)
    assert max(e - s for s, e in ranges(t.log)) >= 2 * MiB


def test_reopened_file_is_served_from_blocks_kept_after_release() -> None:
    data = payload(3 * MiB)
    fs, t, _ = memory_fs({"f": data})
    assert read_all(fs, "/f") == data
    before = len(t.log)
    assert read_all(fs, "/f") == data
    assert t.log[before:] == []
    assert fs.stats.hits > 0


def test_cache_memory_never_exceeds_cf_mib() -> None:
    files = {f"f{i}": payload(3 * MiB + i, i) for i in range(4)}
    fs, _, _ = memory_fs(files, file_blocks=5)
    for name, data in files.items():
        assert read_all(fs, "/" + name, chunk=200 * KiB) == data
        # the bound counts bytes (a block is charged at least MIN_CHARGE), not blocks
        assert fs.cached_bytes <= 5 * MiB and fs.cached_blocks <= 5 * MiB // MIN_CHARGE
    assert fs.cache_bound == 5 * MiB


def test_read_without_a_known_handle_still_returns_exact_bytes() -> None:
    data = payload(300 * KiB)
    fs, _, _ = memory_fs({"d/f": data})
    assert fs.read("/d/f", 1000, 5000, 0) == data[5000:6000]
    assert fs.read("/d/f", 1000, 5000, 999) == data[5000:6000]


def test_zero_size_read_returns_nothing_and_negative_offset_is_einval() -> None:
    from partyfuse.core.errors import FsError

    fs, t, _ = memory_fs({"f": b"abc"})
    fh = fs.open("/f", os.O_RDONLY)
    assert fs.read("/f", 0, 1, fh) == b""
    with pytest.raises(FsError) as info:
        fs.read("/f", 1, -1, fh)
    assert info.value.errno == 22
    assert t.requests("range") == []


def test_assemble_cuts_exact_bytes_from_any_pieces() -> None:
    from partyfuse.core.errors import FsError
    from partyfuse.core.fetcher import assemble
    from partyfuse.core.readplan import ReadPlan

    data = payload(10 * KiB)
    whole = [(0, data)]
    assert assemble(ReadPlan(0, len(data), ()), whole) is data  # exactly a piece: no copy
    assert assemble(ReadPlan(100, 5000, ()), whole) == data[100:5000]
    split = [(6000, data[6000:]), (0, data[:2000]), (2000, data[2000:6000])]
    assert assemble(ReadPlan(1000, 9000, ()), split) == data[1000:9000]
    overlapping = [(0, data[:5000]), (4000, data[4000:])]
    assert assemble(ReadPlan(10, 10 * KiB, ()), overlapping) == data[10:]
    with pytest.raises(FsError):
        assemble(ReadPlan(0, 7000, ()), [(0, data[:2000]), (3000, data[3000:])])
