"""Shared by the benchmark modules: its configuration and the tree every client reads."""

from __future__ import annotations

import hashlib
import random
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linkemu import LinkSpec

# table order; upstream_full is copyparty's bin/partyfuse.py when --upstream-full names it
CLIENTS = ("raw", "upstream", "upstream_full", "rclone", "partyfuse", "ceiling")
UPSTREAMS = ("upstream", "upstream_full")
MiB = 1 << 20
KiB = 1 << 10


class BenchError(Exception):
    """A setup, mount or verification failure: printed as one line, exit status 2."""


@dataclass
class Config:
    big_mb: int
    small_count: int
    small_kb: int
    tree_fanout: int
    tree_depth: int
    tree_files: int
    random_reads: int
    direct_mb: int
    parallel: int
    runs: int
    seed: int
    clients: list[str]
    metrics: list[str]
    server_cpu: int | None
    client_cpu: int | None
    upstream: Path
    upstream_args: list[str]
    partyfuse_args: list[str]
    partyfuse_rev: str
    partyfuse_optional: bool
    python: str
    drop_caches: bool
    workdir: Path | None
    keep: bool
    small_per_dir: int = 10
    links: list[str] = field(default_factory=lambda: ["loopback"])
    link_mode: bool = False  # --link given: per-profile data sets, the link metrics
    random_seconds: float | None = None  # stop random_4k after this long (rclone: ~1 read/s)
    upstream_full: Path | None = None
    upstream_full_args: list[str] = field(default_factory=list)
    rclone: str | None = None  # path of the rclone binary, if installed
    rclone_args: list[str] = field(default_factory=list)
    profile: str = "loopback"  # the profile this copy of the config measures
    servers: list[str] = field(default_factory=lambda: ["copyparty"])  # --server, in order
    server: str = "copyparty"  # the server this copy of the config measures
    custom_link: LinkSpec | None = None  # --rtt-ms/--mbit: the "custom" profile
    skipped: list[str] = field(default_factory=list)  # clients left out, and why
    quick: bool = False
    overrides: dict[str, int | None] = field(default_factory=dict)  # sizes given explicitly

    def dataset_key(self) -> tuple[int, ...]:
        """Profiles whose data sets are equal share one tree on the server."""
        return (
            self.big_mb,
            self.small_count,
            self.small_kb,
            self.small_per_dir,
            self.tree_fanout,
            self.tree_depth,
            self.tree_files,
        )


@dataclass
class Tree:
    root: Path  # the server's root (trees of several profiles may share it)
    big: Path
    big_sha256: str
    big_size: int
    big_crc32: int
    big_rel: str  # URL path / mount path of the big file, relative to the root
    small_dir: str
    deep_dir: str
    small_digest: str  # digest over (relpath, content) of every small file, sorted
    small_count: int
    small_tops: list[str]  # top-level dirs under small/, split between parallel readers
    deep_listing: list[tuple[str, bool, int]]  # (relpath, is_dir, size) sorted


def digest_files(items: list[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for rel, data in sorted(items):
        h.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def make_tree(server_root: Path, cfg: Config, prefix: str = "") -> Tree:
    """Write the benchmark tree once; every client reads the same bytes.

    ``prefix`` ("wan/") puts the tree in a subfolder, so one server holds the data
    sets of several link profiles.
    """
    rng = random.Random(cfg.seed)
    root = server_root / prefix
    root.mkdir(parents=True, exist_ok=True)
    big = root / "big.bin"
    h = hashlib.sha256()
    crc = 0
    with open(big, "wb") as f:
        left = cfg.big_mb * MiB
        while left:
            n = min(left, 8 * MiB)
            chunk = rng.randbytes(n)
            h.update(chunk)
            crc = zlib.crc32(chunk, crc)
            f.write(chunk)
            left -= n

    # small files: spread over two directory levels, ~10 files per leaf, like a
    # source tree or a photo library
    small_items: list[tuple[str, bytes]] = []
    per_leaf = cfg.small_per_dir
    leaves = max(1, (cfg.small_count + per_leaf - 1) // per_leaf)
    top = max(1, int(leaves**0.5))
    for i in range(cfg.small_count):
        leaf = i // per_leaf
        rel = f"small/d{leaf % top:03d}/e{leaf // top:03d}/f{i:05d}.bin"
        data = rng.randbytes(cfg.small_kb * KiB)
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        small_items.append((rel.removeprefix("small/"), data))

    # traversal tree: fanout**1 + ... + fanout**depth directories, a few tiny files each
    deep: list[tuple[str, bool, int]] = []

    def grow(rel: str, level: int) -> None:
        for j in range(cfg.tree_files):
            name = f"{rel}/file{j}.txt" if rel else f"file{j}.txt"
            data = b"x" * (j * 7 + 1)
            (root / "deep" / name).write_bytes(data)
            deep.append((name, False, len(data)))
        if level == cfg.tree_depth:
            return
        for k in range(cfg.tree_fanout):
            name = f"{rel}/dir{k}" if rel else f"dir{k}"
            (root / "deep" / name).mkdir()
            deep.append((name, True, 0))
            grow(name, level + 1)

    (root / "deep").mkdir()
    grow("", 0)
    return Tree(
        root=server_root,
        big=big,
        big_sha256=h.hexdigest(),
        big_size=cfg.big_mb * MiB,
        big_crc32=crc,
        big_rel=f"{prefix}big.bin",
        small_dir=f"{prefix}small",
        deep_dir=f"{prefix}deep",
        small_digest=digest_files(small_items),
        small_count=len(small_items),
        small_tops=sorted(p.name for p in (root / "small").iterdir() if p.is_dir()),
        deep_listing=sorted(deep),
    )


def tree_dirs(tree: Tree) -> int:
    return 1 + sum(1 for _, d, _ in tree.deep_listing if d)


def in_threads(n: int, job: Callable[[int], list[Any]]) -> tuple[float, list[Any]]:
    """Run ``job(k)`` for k in 0..n-1 on n threads; seconds and the joined results.

    An exception in any thread is raised here, so a failed read is never a fast one.
    """
    results: list[list[Any]] = [[] for _ in range(n)]
    errors: list[BaseException] = []
    start = threading.Barrier(n + 1)

    def run(k: int) -> None:
        try:
            start.wait()
            results[k] = job(k)
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,), daemon=True) for k in range(n)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    dt = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return dt, [x for r in results for x in r]
