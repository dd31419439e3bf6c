"""Shared by the benchmark modules: its configuration and the tree every client reads."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

CLIENTS = ("raw", "upstream", "partyfuse")
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


@dataclass
class Tree:
    root: Path
    big: Path
    big_sha256: str
    big_size: int
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


def make_tree(root: Path, cfg: Config) -> Tree:
    """Write the benchmark tree once; every client reads the same bytes."""
    rng = random.Random(cfg.seed)
    root.mkdir(parents=True, exist_ok=True)
    big = root / "big.bin"
    h = hashlib.sha256()
    with open(big, "wb") as f:
        left = cfg.big_mb * MiB
        while left:
            n = min(left, 8 * MiB)
            chunk = rng.randbytes(n)
            h.update(chunk)
            f.write(chunk)
            left -= n

    # small files: spread over two directory levels, ~10 files per leaf, like a
    # source tree or a photo library
    small_items: list[tuple[str, bytes]] = []
    per_leaf = 10
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
        root=root,
        big=big,
        big_sha256=h.hexdigest(),
        big_size=cfg.big_mb * MiB,
        small_dir="small",
        deep_dir="deep",
        small_digest=digest_files(small_items),
        small_count=len(small_items),
        small_tops=sorted(p.name for p in (root / "small").iterdir() if p.is_dir()),
        deep_listing=sorted(deep),
    )


def tree_dirs(tree: Tree) -> int:
    return 1 + sum(1 for _, d, _ in tree.deep_listing if d)
