"""Builders shared by the core tests: a RemoteFS over a MemoryTransport and a whole-file reader."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Mapping
from typing import Any

from fakes.clock import FakeClock
from fakes.memory import MemoryTransport, Request
from partyfuse.core.remotefs import CacheConfig, RemoteFS

KiB = 1 << 10
MiB = 1 << 20


def payload(size: int, seed: int = 0) -> bytes:
    """Deterministic bytes that differ at every offset often enough to catch a shifted read."""
    return random.Random(seed * 1_000_003 + size).randbytes(size)


def make_fs(
    files: Mapping[str, bytes],
    *,
    dir_max: int = 24,
    dir_ttl: float = 1.0,
    file_blocks: int = 12,
    spawn: Callable[[Callable[[], None]], None] | None = None,
    **transport_kw: Any,
) -> tuple[RemoteFS, MemoryTransport, FakeClock]:
    clock = FakeClock()
    transport = MemoryTransport(files, clock=clock, **transport_kw)
    fs = RemoteFS(
        transport,
        clock=clock,
        config=CacheConfig(dir_max=dir_max, dir_ttl=dir_ttl, file_blocks=file_blocks),
        spawn=spawn,
    )
    return fs, transport, clock


def read_all(fs: RemoteFS, path: str, chunk: int = 128 * KiB, fh: int | None = None) -> bytes:
    """Read a file front to back the way the kernel does, until a short (empty) read."""
    own = fh is None
    handle = fs.open(path, os.O_RDONLY) if fh is None else fh
    out = bytearray()
    while piece := fs.read(path, chunk, len(out), handle):
        out += piece
    if own:
        fs.release(path, handle)
    return bytes(out)


def ranges(log: list[Request]) -> list[tuple[int, int]]:
    return [(r.start, r.end) for r in log if r.kind == "range"]


def assert_disjoint(spans: list[tuple[int, int]]) -> None:
    """No byte was fetched twice."""
    ordered = sorted(spans)
    for (_, end), (start, _) in zip(ordered, ordered[1:], strict=False):
        assert end <= start, ordered
