"""Counters the filesystem keeps so tests and benchmarks can see what it cost.

Plain integers, bumped under the filesystem's lock: cheap enough to keep on
in production, and the only honest way for a test to prove that a read was
served from cache or that a sequential stream did not fetch a byte twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Stats:
    requests: int = 0
    """Every transport call (listings, ranges, probes), failed ones included."""
    list_requests: int = 0
    range_requests: int = 0
    probe_requests: int = 0
    readahead_requests: int = 0
    """Range requests issued in the background (a subset of range_requests)."""
    bytes_fetched: int = 0
    """Body bytes received from read_range (foreground and read-ahead)."""
    bytes_served: int = 0
    """Bytes returned to the kernel by read()."""
    hits: int = 0
    """Reads answered entirely from cached blocks."""
    misses: int = 0
    """Reads that needed at least one range fetch."""
    prefetch_files: int = 0
    """Whole small files fetched ahead of the program (range requests too)."""
    prefetch_bytes: int = 0
    """Bytes of those files (counted in bytes_fetched too)."""
    prefetch_used: int = 0
    """Files fetched ahead that the program then opened."""
    prefetch_lists: int = 0
    """Folders listed ahead of a walk (list requests too)."""
    changed_retries: int = 0
    """Times a read met Changed: the file's blocks and its parent's listing were
    dropped, and the read was retried once (or failed with EIO the second time)."""

    def snapshot(self) -> dict[str, int]:
        return asdict(self)
