"""Block cache unit behaviour: bound, LRU, merging, versions, no overlap."""

from __future__ import annotations

from partyfuse.core.blockcache import MIN_CHARGE, BlockCache
from partyfuse.core.model import BLOCK_SIZE, FileVersion
from tests.support.fs import KiB, MiB, payload

V1 = FileVersion(8 * MiB, 1.0)
V2 = FileVersion(8 * MiB, 2.0)


def _layout(cache: BlockCache, path: str = "f", version: FileVersion = V1) -> list[tuple[int, int]]:
    return [(s, s + len(d)) for s, d in cache.spans(path, version)]


def test_big_insert_is_cut_into_blocks_of_at_most_1mib_and_bounded() -> None:
    data = payload(5 * MiB + 3)
    cache = BlockCache(4)
    cache.insert("f", V1, 7, data)
    assert cache.nblocks == 4 and cache.nbytes <= 4 * BLOCK_SIZE
    layout = _layout(cache)
    assert all(e - s <= BLOCK_SIZE for s, e in layout)
    # the oldest (first) blocks were evicted, the newest kept
    assert layout[-1][1] == 7 + len(data)
    for s, d in cache.spans("f", V1):
        assert d == data[s - 7 : s - 7 + len(d)]


def test_adjacent_small_pieces_merge_into_one_block() -> None:
    data = payload(2 * MiB)
    cache = BlockCache(2)
    for off in range(0, 640 * KiB, 128 * KiB):
        cache.insert("f", V1, off, data[off : off + 128 * KiB])
    assert _layout(cache) == [(0, 640 * KiB)]
    # a piece just before a block with room merges too
    cache.insert("f", V1, 640 * KiB + 64 * KiB, data[704 * KiB : 800 * KiB])
    cache.insert("f", V1, 640 * KiB, data[640 * KiB : 704 * KiB])
    assert _layout(cache) == [(0, 800 * KiB)]
    assert cache.spans("f", V1)[0][1] == data[: 800 * KiB]


def test_overlapping_insert_only_adds_the_missing_bytes() -> None:
    data = payload(MiB)
    cache = BlockCache(8)
    cache.insert("f", V1, 100, data[100:200])
    cache.insert("f", V1, 0, data[:300])
    assert cache.nbytes == 300
    joined = b"".join(d for _, d in cache.spans("f", V1))
    assert joined == data[:300]


def test_lru_evicts_the_least_recently_used_block() -> None:
    cache = BlockCache(2)
    cache.insert("a", V1, 0, b"a" * BLOCK_SIZE)
    cache.insert("b", V1, 0, b"b" * BLOCK_SIZE)
    cache.touch("a", [0])
    cache.insert("c", V1, 0, b"c" * BLOCK_SIZE)
    assert cache.spans("a", V1) and not cache.spans("b", V1) and cache.spans("c", V1)


def test_another_version_replaces_the_files_blocks() -> None:
    cache = BlockCache(4)
    cache.insert("f", V1, 0, b"old")
    assert cache.spans("f", V2) == []  # asking for another version forgets the old one
    assert cache.nbytes == 0
    cache.insert("f", V1, 0, b"old")
    cache.insert("f", V2, 0, b"new")
    assert cache.spans("f", V2) == [(0, b"new")] and cache.nbytes == 3
    cache.retain("f", FileVersion(None, 2.0))  # a listing without size cannot contradict
    assert cache.nbytes == 3
    cache.retain("f", FileVersion(None, 3.0))
    assert cache.nbytes == 0


def test_zero_blocks_keeps_nothing() -> None:
    cache = BlockCache(0)
    cache.insert("f", V1, 0, b"abc")
    assert cache.nbytes == 0 and cache.spans("f", V1) == []


def test_slice_answers_from_one_or_several_blocks_and_refuses_holes() -> None:
    data = payload(4 * MiB)
    cache = BlockCache(8)
    cache.insert("f", V1, 7, data[7 : 3 * MiB])  # blocks at 7, 1M+7, 2M+7
    cache.insert("f", V1, 3 * MiB + 4 * KiB, data[3 * MiB + 4 * KiB :])  # a hole before it
    assert cache.slice("f", V1, 7, 7 + 4 * KiB) == (data[7 : 7 + 4 * KiB], [7])
    # across two block boundaries, exact bytes, every block named
    got = cache.slice("f", V1, MiB - 5, 2 * MiB + 100)
    assert got == (data[MiB - 5 : 2 * MiB + 100], [7, MiB + 7, 2 * MiB + 7])
    assert cache.slice("f", V1, 3 * MiB - 10, 3 * MiB + 10) is None  # runs into the hole
    assert cache.slice("f", V1, 0, 10) is None  # starts before the first block
    assert cache.slice("f", V2, 7, 20) is None  # another version
    assert cache.slice("g", V1, 7, 20) is None


def test_reach_follows_contiguous_blocks_up_to_a_limit() -> None:
    data = payload(4 * MiB)
    cache = BlockCache(8)
    cache.insert("f", V1, 0, data[: 3 * MiB])
    cache.insert("f", V1, 3 * MiB + 1, data[3 * MiB + 1 :])
    assert cache.reach("f", 100, 10 * MiB) == 3 * MiB  # stops at the hole
    assert cache.reach("f", 100, MiB) == MiB  # looked no further than needed
    assert cache.reach("f", 3 * MiB, 10 * MiB) == 3 * MiB  # at the hole: nothing
    assert cache.reach("g", 5, 10) == 5


def test_the_bound_counts_bytes_so_a_small_file_does_not_cost_a_whole_slot() -> None:
    # -cf 1: one MiB of budget holds 200 files of 4 KiB, not one
    cache = BlockCache(1)
    for i in range(200):
        cache.insert(f"f{i}", V1, 0, bytes([i]) * (4 * KiB))
    assert all(cache.spans(f"f{i}", V1) for i in range(200))
    assert cache.nbytes == 200 * 4 * KiB <= cache.bound
    # a full block still fits exactly: the budget is the data, not data plus overhead
    big = BlockCache(1)
    big.insert("b", V1, 0, payload(BLOCK_SIZE))
    assert big.nbytes == BLOCK_SIZE and big.charged == BLOCK_SIZE


def test_tiny_blocks_are_charged_a_minimum_so_their_count_stays_bounded() -> None:
    cache = BlockCache(1)
    for i in range(10_000):
        cache.insert(f"f{i}", V1, 0, b"x")
    assert cache.charged <= cache.bound
    assert cache.nblocks == cache.bound // MIN_CHARGE
    # the newest survive: least recently used went first
    assert cache.spans("f9999", V1) and not cache.spans("f0", V1)
