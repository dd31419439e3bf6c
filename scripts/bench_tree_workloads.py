"""The workloads over the trees: small files read one by one or in parallel,
``cp -r``, and folder walks (``os.walk``, ``find``), each on a mount and its
raw-HTTP counterpart, with the check of what they saw.

Apart from bench_workloads.py (the big file's workloads and the METRICS
table), because these measure listings and per-file round trips, not bytes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_clients import RawClient
from bench_common import BenchError, Config, Tree, digest_files, in_threads


def read_tree(base: Path, tops: list[Path] | None = None) -> list[tuple[str, bytes]]:
    """Every file below ``tops`` (all of ``base`` when None), by its path
    relative to ``base``."""
    items = []
    for top in [base] if tops is None else tops:
        for dirpath, _dirs, files in os.walk(top):
            for fn in files:
                p = os.path.join(dirpath, fn)
                with open(p, "rb") as f:
                    items.append((os.path.relpath(p, base), f.read()))
    return items


def fetch_tree(client: RawClient, small_dir: str, stack: list[str]) -> list[tuple[str, bytes]]:
    """Every file below the folders of ``stack`` (relative to ``small_dir``,
    each ending in "/"), listed and fetched over raw HTTP."""
    items = []
    while stack:
        rel = stack.pop()
        dirs, files = client.listdir(f"/{small_dir}/{rel}")
        stack.extend(f"{rel}{d}/" for d in dirs)
        for name, _size in files:
            items.append((rel + name, client.get(f"/{small_dir}/{rel}{name}").read()))
    return items


def small_mount(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    base = root / tree.small_dir
    t0 = time.perf_counter()
    items = read_tree(base)
    dt = time.perf_counter() - t0
    return len(items), dt, items


def small_raw(raw: RawClient, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    t0 = time.perf_counter()
    items = fetch_tree(raw, tree.small_dir, [""])
    dt = time.perf_counter() - t0
    return len(items), dt, items


def check_small(ev: Any, tree: Tree, cfg: Config) -> str | None:
    if len(ev) != tree.small_count:
        return f"copied {len(ev)} small files, expected {tree.small_count}"
    if digest_files(ev) != tree.small_digest:
        return "small-file contents differ from the source"
    return None


def par_small_mount(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    base = root / tree.small_dir
    tops = sorted(tree.small_tops)

    def job(k: int) -> list[tuple[str, bytes]]:
        return read_tree(base, [base / top for top in tops[k :: cfg.parallel]])

    dt, items = in_threads(cfg.parallel, job)
    return len(items), dt, items


def par_small_raw(raw: RawClient, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    tops = sorted(tree.small_tops)

    def job(k: int) -> list[tuple[str, bytes]]:
        own = raw.another()
        with own.connected():
            return fetch_tree(own, tree.small_dir, [f"{t}/" for t in tops[k :: cfg.parallel]])

    dt, items = in_threads(cfg.parallel, job)
    return len(items), dt, items


def walk_mount(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    base = root / tree.deep_dir
    seen = []
    ndirs = 0
    t0 = time.perf_counter()
    for dirpath, dirs, files in os.walk(base):
        ndirs += 1
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            isdir = name in dirs
            seen.append((os.path.relpath(p, base), isdir, 0 if isdir else st.st_size))
    dt = time.perf_counter() - t0
    return ndirs, dt, seen


def walk_raw(raw: RawClient, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    seen = []
    ndirs = 0
    t0 = time.perf_counter()
    stack = [""]
    while stack:
        rel = stack.pop()
        ndirs += 1
        dirs, files = raw.listdir(f"/{tree.deep_dir}/{rel}")
        for d in dirs:
            seen.append((rel + d, True, 0))
            stack.append(f"{rel}{d}/")
        seen.extend((rel + n, False, sz) for n, sz in files)
    dt = time.perf_counter() - t0
    return ndirs, dt, seen


def check_walk(ev: Any, tree: Tree, cfg: Config) -> str | None:
    got = sorted(ev)
    if got != tree.deep_listing:
        missing = set(tree.deep_listing) - set(got)
        extra = set(got) - set(tree.deep_listing)
        return (
            f"traversal differs: {len(missing)} missing (e.g. {sorted(missing)[:2]}), "
            f"{len(extra)} unexpected (e.g. {sorted(extra)[:2]})"
        )
    return None


def cp_r_mount(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    """`cp -r` of the small-files folder into a fresh local folder (tmpfs when the
    work dir is on /dev/shm); the copy is read back and checked after the clock."""
    dst = Path(tempfile.mkdtemp(prefix="cp-r-", dir=root.parent))
    try:
        t0 = time.perf_counter()
        r = subprocess.run(
            ["cp", "-r", str(root / tree.small_dir), str(dst / "copy")],
            capture_output=True,
            text=True,
        )
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            raise BenchError(f"cp -r failed: {r.stderr.strip()[-300:]}")
        items = read_tree(dst / "copy")
    finally:
        shutil.rmtree(dst, ignore_errors=True)
    return len(items), dt, items


def find_mount(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    """`find` printing type and size of every entry (so every entry is lstat'ed)."""
    t0 = time.perf_counter()
    r = subprocess.run(
        ["find", str(root / tree.deep_dir), "-printf", r"%y %s %P\0"],
        capture_output=True,
    )
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise BenchError(f"find failed: {r.stderr.decode(errors='replace').strip()[-300:]}")
    seen = []
    ndirs = 0
    for rec in r.stdout.split(b"\0"):
        if not rec:
            continue
        kind, size, rel = rec.split(b" ", 2)
        if kind == b"d":
            ndirs += 1
        if rel:  # the start folder itself prints an empty %P
            isdir = kind == b"d"
            seen.append((os.fsdecode(rel), isdir, 0 if isdir else int(size)))
    return ndirs, dt, seen
