#!/usr/bin/env python3
"""Side-by-side benchmark: partyfuse vs upstream partyfuse.py vs raw HTTP, in one run.

Why one run: absolute numbers depend on the machine, so the useful output is the
*ratio* of partyfuse to the two references measured minutes apart on the same box,
the same server process and the same tree:

- ``raw``: the orchestrator talks HTTP straight to copyparty (persistent stdlib
  connection, no FUSE) -- the ceiling a filesystem client can approach.
- ``upstream``: the partyfuse.py that ships inside the copyparty package
  (single-threaded, ``nothreads=True``).
- ``partyfuse``: ``python -m partyfuse``.

Fairness rules: copyparty is pinned to CPU 0, every client (FUSE daemon *and* the
process issuing the reads) to CPU 1; each measurement gets a fresh mount (so no
daemon-side cache survives) and the page cache is dropped before it (so no kernel
FUSE page survives either; tmpfs-backed source files are not dropped, so the server
side is equally warm for everyone).  Every result is checked against the source
tree; a wrong byte fails the run instead of producing a fast number.

This is a measuring tool, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import mmap
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLIENTS = ("raw", "upstream", "partyfuse")
MiB = 1 << 20
KiB = 1 << 10

# copyparty's -lo log has one line per request, e.g.
#   "@2026-1121-100752.676  LOG [127.0.0.1 59812      ] GET  /big.bin @* [0-4095]"
REQ_LINE = re.compile(rb"\] (GET|HEAD|POST|PUT|OPTIONS|PROPFIND) +(\S+)")
# ... and a ranged request ends in the Range it asked for: "[first-last]", "[first-]", "[-n]"
RANGE_TAIL = re.compile(rb" \[(\d*)-(\d*)\]\s*$")


class BenchError(Exception):
    """A setup, mount or verification failure: printed as one line, exit status 2."""


# --------------------------------------------------------------------------- config


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


# --------------------------------------------------------------------------- tree


def _digest_files(items: list[tuple[str, bytes]]) -> str:
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
        small_digest=_digest_files(small_items),
        small_count=len(small_items),
        small_tops=sorted(p.name for p in (root / "small").iterdir() if p.is_dir()),
        deep_listing=sorted(deep),
    )


def tree_dirs(tree: Tree) -> int:
    return 1 + sum(1 for _, d, _ in tree.deep_listing if d)


# --------------------------------------------------------------------------- processes


class Cleanup:
    """Everything started is stopped by PID and every mount unmounted, even on Ctrl-C."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.mounts: list[Path] = []

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        with contextlib.suppress(ValueError):
            self.procs.remove(proc)

    def unmount(self, mnt: Path) -> None:
        if is_mounted(mnt):
            r = subprocess.run(["fusermount", "-u", str(mnt)], capture_output=True)
            if r.returncode != 0 and is_mounted(mnt):
                subprocess.run(["fusermount", "-uz", str(mnt)], capture_output=True)
        with contextlib.suppress(ValueError):
            self.mounts.remove(mnt)

    def all(self) -> None:
        for mnt in list(self.mounts):
            with contextlib.suppress(Exception):
                self.unmount(mnt)
        for proc in list(self.procs):
            with contextlib.suppress(Exception):
                self.stop(proc)


def is_mounted(mnt: Path) -> bool:
    target = os.fsencode(os.path.realpath(mnt))
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 4 and fields[4].replace(b"\\040", b" ") == target:
                return True
    return False


def wait_until(
    cond: Callable[[], bool],
    deadline_s: float,
    what: str,
    alive: subprocess.Popen[bytes] | None = None,
) -> None:
    end = time.monotonic() + deadline_s
    while not cond():
        if alive is not None and alive.poll() is not None:
            raise BenchError(f"{what}: process exited with status {alive.returncode}")
        if time.monotonic() > end:
            raise BenchError(f"{what}: not ready after {deadline_s:.0f}s")
        time.sleep(0.02)


def proc_cpu(pid: int) -> float:
    """utime + stime of a whole process from /proc/PID/stat, in seconds."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    # fields[0] is the state (field 3 of proc(5)); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def self_cpu() -> float:
    t = os.times()
    return t.user + t.system


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cmd: list[str], cpu: int | None) -> list[str]:
    return ["taskset", "-c", str(cpu), *cmd] if cpu is not None else cmd


def drop_caches(enabled: bool) -> None:
    """Drop the page cache so no FUSE page from an earlier run is served by the kernel.

    Remounting already gives a fresh inode cache; this also covers a daemon that
    sets FOPEN_KEEP_CACHE.  The source tree lives on tmpfs, which drop_caches
    leaves alone, so the server side stays equally warm for every client.
    """
    if not enabled:
        return
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


class Server:
    def __init__(self, cfg: Config, tree: Tree, work: Path, cleanup: Cleanup) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.root = tree.root
        self.log = work / "copyparty.log"
        self.out = open(work / "copyparty.out", "wb")  # noqa: SIM115 - lives as long as the server
        cmd = [
            cfg.python,
            "-m",
            "copyparty",
            "-i",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-v",
            f"{tree.root}::r",
            "-q",
            "--no-thumb",
            "--hist",
            str(work / "hist"),
            "-lo",
            str(self.log),
            "--flo",
            "2",
        ]
        self.proc = subprocess.Popen(
            pinned(cmd, cfg.server_cpu),
            stdout=self.out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        cleanup.procs.append(self.proc)

        def up() -> bool:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/big.bin", headers={"Range": "bytes=0-0"})
                ok = c.getresponse().status == 206
                c.close()
                return ok
            except OSError:
                return False

        wait_until(up, 60, "copyparty", self.proc)

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def requests_since(self, offset: int) -> dict[str, int]:
        """Count requests logged after `offset`; waits for the log to settle first."""
        last, stable_since = -1, time.monotonic()
        end = time.monotonic() + 5
        while time.monotonic() < end:
            size = self.log_size()
            if size != last:
                last, stable_since = size, time.monotonic()
            elif time.monotonic() - stable_since > 0.3:
                break
            time.sleep(0.05)
        with open(self.log, "rb") as f:
            f.seek(offset)
            text = f.read()
        counts = {"requests": 0, "listings": 0, "ranged": 0, "file_bytes": 0}
        for line in text.splitlines():
            m = REQ_LINE.search(line)
            if not m:
                continue
            counts["requests"] += 1
            target = m.group(2)
            if b"?ls" in target:
                counts["listings"] += 1
                continue
            size = self._file_size(target)
            r = RANGE_TAIL.search(line, m.end())
            if r:
                counts["ranged"] += 1
                if not r.group(1):  # suffix range: the last n bytes
                    counts["file_bytes"] += min(int(r.group(2) or 0), size)
                else:
                    first = int(r.group(1))
                    last = int(r.group(2)) if r.group(2) else size - 1
                    counts["file_bytes"] += max(0, min(last, size - 1) - first + 1)
            elif m.group(1) == b"GET":
                counts["file_bytes"] += size
        return counts

    def _file_size(self, target: bytes) -> int:
        """Size of the served file a request names (0 for directories and unknowns)."""
        rel = urllib.parse.unquote(target.split(b"?", 1)[0].decode("utf-8", "replace"))
        p = self.root / rel.lstrip("/")
        try:
            return p.stat().st_size if p.is_file() else 0
        except OSError:
            return 0


# --------------------------------------------------------------------------- clients


class MountClient:
    """A FUSE client started fresh for every measurement (no cache survives)."""

    def __init__(
        self,
        name: str,
        cmd: list[str],
        url: str,
        args: list[str],
        work: Path,
        cfg: Config,
        cleanup: Cleanup,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name, self.cfg, self.cleanup, self.env = name, cfg, cleanup, env
        self.work = work
        self.url, self.args, self.cmd = url, args, cmd
        self.mnt = work / f"mnt-{name}"
        self.mnt.mkdir(exist_ok=True)
        self.logpath = work / f"{name}.out"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_start = 0
        self.mount_seconds: list[float] = []

    def last_error(self) -> str:
        """The last lines the client logged during the latest mount (its complaint)."""
        with contextlib.suppress(OSError):
            with open(self.logpath, "rb") as f:
                f.seek(self.log_start)
                lines = [ln for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]
            return " | ".join(ln.strip() for ln in lines[-3:]) or "(nothing logged)"
        return "(no log)"

    def cpu(self) -> float:
        """CPU seconds (user + system, all threads) the daemon has used so far."""
        assert self.proc is not None
        return proc_cpu(self.proc.pid)

    @contextlib.contextmanager
    def mounted(self) -> Iterator[Path]:
        drop_caches(self.cfg.drop_caches)
        self.log_start = self.logpath.stat().st_size if self.logpath.exists() else 0
        started = time.monotonic()
        logf = open(self.logpath, "ab")  # noqa: SIM115 - closed in finally
        self.proc = subprocess.Popen(
            # URL MNT first, flags after: both CLIs document it in that order
            pinned([*self.cmd, self.url, str(self.mnt), *self.args], self.cfg.client_cpu),
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=self.env,
            # not the repo: `python -m` puts the cwd first on sys.path
            cwd=self.work,
        )
        self.cleanup.procs.append(self.proc)
        self.cleanup.mounts.append(self.mnt)
        try:
            try:
                wait_until(lambda: is_mounted(self.mnt), 30, f"mount {self.name}", self.proc)
                self.mount_seconds.append(time.monotonic() - started)
            except BenchError as e:
                tail = self.logpath.read_bytes()[-800:].decode(errors="replace")
                raise BenchError(f"{e}; log tail: {tail.strip()!r}") from None
            yield self.mnt
        finally:
            self.cleanup.unmount(self.mnt)
            proc = self.proc
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
            self.cleanup.stop(proc)
            logf.close()
            self.proc = None


class RawClient:
    """Plain HTTP over one keep-alive connection: what a client could do without FUSE."""

    name = "raw"

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    @contextlib.contextmanager
    def connected(self) -> Iterator[RawClient]:
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            yield self
        finally:
            self.conn.close()
            self.conn = None

    def get(self, path: str, rng: tuple[int, int] | None = None) -> http.client.HTTPResponse:
        assert self.conn is not None
        headers = {"Range": f"bytes={rng[0]}-{rng[1] - 1}"} if rng else {}
        self.conn.request("GET", urllib.parse.quote(path), headers=headers)
        resp = self.conn.getresponse()
        if resp.status not in (200, 206):
            raise BenchError(f"raw GET {path}: HTTP {resp.status}")
        return resp

    def listdir(self, path: str) -> tuple[list[str], list[tuple[str, int]]]:
        assert self.conn is not None
        self.conn.request("GET", urllib.parse.quote(path.rstrip("/") + "/") + "?ls")
        resp = self.conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise BenchError(f"raw ls {path}: HTTP {resp.status}")
        js = json.loads(body)
        dirs = [urllib.parse.unquote(d["href"]).rstrip("/") for d in js["dirs"]]
        files = [(urllib.parse.unquote(f["href"]), int(f["sz"])) for f in js["files"]]
        return dirs, files


# --------------------------------------------------------------------------- workloads
#
# Each workload returns (amount, seconds, evidence); evidence is compared with the
# source tree *after* the clock stops, so checking never slows the measurement.


Outcome = tuple[float, float, Any]  # (amount, seconds, evidence)
MountFn = Callable[[Path, "Tree", "Config"], Outcome]
RawFn = Callable[["RawClient", "Tree", "Config"], Outcome]


@dataclass
class Metric:
    name: str
    unit: str
    help: str
    on_mount: Callable[[Path, Tree, Config], tuple[float, float, Any]]
    on_raw: Callable[[RawClient, Tree, Config], tuple[float, float, Any]]
    check: Callable[[Any, Tree, Config], str | None]


def _seq_mount(bufsize: int, limit_mb: Callable[[Tree, Config], int] | None = None) -> MountFn:
    def run(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
        limit = tree.big_size if limit_mb is None else min(tree.big_size, limit_mb(tree, cfg) * MiB)
        buf = bytearray(bufsize)
        view = memoryview(buf)
        got = 0
        t0 = time.perf_counter()
        with open(root / "big.bin", "rb", buffering=0) as f:
            while got < limit:
                n = f.readinto(view[: min(bufsize, limit - got)])
                if not n:
                    break
                got += n
        dt = time.perf_counter() - t0
        return got / MiB, dt, (got, limit)

    return run


def _seq_raw(bufsize: int, limit_mb: Callable[[Tree, Config], int] | None = None) -> RawFn:
    def run(raw: RawClient, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
        limit = tree.big_size if limit_mb is None else min(tree.big_size, limit_mb(tree, cfg) * MiB)
        buf = bytearray(bufsize)
        view = memoryview(buf)
        got = 0
        t0 = time.perf_counter()
        resp = raw.get("/big.bin", (0, limit) if limit < tree.big_size else None)
        while got < limit:
            n = resp.readinto(view[: min(bufsize, limit - got)])
            if not n:
                break
            got += n
        resp.read()
        dt = time.perf_counter() - t0
        return got / MiB, dt, (got, limit)

    return run


def _direct_mount(bufsize: int) -> MountFn:
    """O_DIRECT reads bypass the page cache and kernel readahead, so the daemon sees
    every 4 KiB / 64 KiB request -- the pattern WinFsp delivers on Windows."""

    def run(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
        limit = min(tree.big_size, cfg.direct_mb * MiB)
        mm = mmap.mmap(-1, bufsize)  # page-aligned, as O_DIRECT wants
        got = 0
        fd = os.open(root / "big.bin", os.O_RDONLY | os.O_DIRECT)
        try:
            t0 = time.perf_counter()
            while got < limit:
                n = os.preadv(fd, [mm], got)
                if not n:
                    break
                got += n
            dt = time.perf_counter() - t0
        finally:
            os.close(fd)
            mm.close()
        return got / MiB, dt, (got, limit)

    return run


def _check_len(ev: Any, tree: Tree, cfg: Config) -> str | None:
    got, limit = ev
    return None if got == limit else f"read {got} bytes, expected {limit}"


def _offsets(tree: Tree, cfg: Config) -> list[int]:
    rng = random.Random(cfg.seed + 1)
    blocks = tree.big_size // 4096
    return [rng.randrange(blocks) * 4096 for _ in range(cfg.random_reads)]


def _random_mount(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    offs = _offsets(tree, cfg)
    out = []
    fd = os.open(root / "big.bin", os.O_RDONLY)
    try:
        t0 = time.perf_counter()
        for o in offs:
            out.append(os.pread(fd, 4096, o))
        dt = time.perf_counter() - t0
    finally:
        os.close(fd)
    return len(offs), dt, out


def _random_raw(raw: RawClient, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    offs = _offsets(tree, cfg)
    out = []
    t0 = time.perf_counter()
    for o in offs:
        out.append(raw.get("/big.bin", (o, o + 4096)).read())
    dt = time.perf_counter() - t0
    return len(offs), dt, out


def _check_random(ev: Any, tree: Tree, cfg: Config) -> str | None:
    with open(tree.big, "rb") as f:
        for o, data in zip(_offsets(tree, cfg), ev, strict=True):
            f.seek(o)
            if f.read(4096) != data:
                return f"random read at offset {o} returned wrong bytes"
    return None


def _small_mount(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    base = root / tree.small_dir
    items = []
    t0 = time.perf_counter()
    for dirpath, _dirs, files in os.walk(base):
        for fn in files:
            p = os.path.join(dirpath, fn)
            with open(p, "rb") as f:
                items.append((os.path.relpath(p, base), f.read()))
    dt = time.perf_counter() - t0
    return len(items), dt, items


def _small_raw(raw: RawClient, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    items = []
    t0 = time.perf_counter()
    stack = [""]
    while stack:
        rel = stack.pop()
        dirs, files = raw.listdir(f"/{tree.small_dir}/{rel}")
        stack.extend(f"{rel}{d}/" for d in dirs)
        for name, _size in files:
            items.append((rel + name, raw.get(f"/{tree.small_dir}/{rel}{name}").read()))
    dt = time.perf_counter() - t0
    return len(items), dt, items


def _check_small(ev: Any, tree: Tree, cfg: Config) -> str | None:
    if len(ev) != tree.small_count:
        return f"copied {len(ev)} small files, expected {tree.small_count}"
    if _digest_files(ev) != tree.small_digest:
        return "small-file contents differ from the source"
    return None


def _in_threads(n: int, job: Callable[[int], list[Any]]) -> tuple[float, list[Any]]:
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


def _par_small_mount(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    base = root / tree.small_dir
    tops = sorted(tree.small_tops)

    def job(k: int) -> list[tuple[str, bytes]]:
        items = []
        for top in tops[k :: cfg.parallel]:
            for dirpath, _dirs, files in os.walk(base / top):
                for fn in files:
                    p = os.path.join(dirpath, fn)
                    with open(p, "rb") as f:
                        items.append((os.path.relpath(p, base), f.read()))
        return items

    dt, items = _in_threads(cfg.parallel, job)
    return len(items), dt, items


def _par_small_raw(raw: RawClient, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    tops = sorted(tree.small_tops)

    def job(k: int) -> list[tuple[str, bytes]]:
        own = RawClient(raw.port)
        items = []
        with own.connected():
            stack = [f"{t}/" for t in tops[k :: cfg.parallel]]
            while stack:
                rel = stack.pop()
                dirs, files = own.listdir(f"/{tree.small_dir}/{rel}")
                stack.extend(f"{rel}{d}/" for d in dirs)
                for name, _size in files:
                    items.append((rel + name, own.get(f"/{tree.small_dir}/{rel}{name}").read()))
        return items

    dt, items = _in_threads(cfg.parallel, job)
    return len(items), dt, items


def _quarters(tree: Tree, cfg: Config) -> list[tuple[int, int]]:
    step = -(-tree.big_size // cfg.parallel)
    return [(o, min(o + step, tree.big_size)) for o in range(0, tree.big_size, step)]


def _par_seq_mount(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    parts = _quarters(tree, cfg)

    def job(k: int) -> list[tuple[int, int, int]]:
        lo, hi = parts[k]
        buf = bytearray(MiB)
        view = memoryview(buf)
        crc, pos = 0, lo
        with open(root / "big.bin", "rb", buffering=0) as f:
            f.seek(lo)
            while pos < hi:
                n = f.readinto(view[: min(MiB, hi - pos)])
                if not n:
                    break
                crc = zlib.crc32(view[:n], crc)
                pos += n
        return [(k, pos - lo, crc)]

    dt, got = _in_threads(min(cfg.parallel, len(parts)), job)
    return sum(n for _, n, _ in got) / MiB, dt, got


def _par_seq_raw(raw: RawClient, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
    parts = _quarters(tree, cfg)

    def job(k: int) -> list[tuple[int, int, int]]:
        lo, hi = parts[k]
        own = RawClient(raw.port)
        buf = bytearray(MiB)
        view = memoryview(buf)
        crc, got = 0, 0
        with own.connected():
            resp = own.get("/big.bin", (lo, hi))
            while got < hi - lo:
                n = resp.readinto(view[: min(MiB, hi - lo - got)])
                if not n:
                    break
                crc = zlib.crc32(view[:n], crc)
                got += n
            resp.read()
        return [(k, got, crc)]

    dt, got = _in_threads(min(cfg.parallel, len(parts)), job)
    return sum(n for _, n, _ in got) / MiB, dt, got


def _check_par_seq(ev: Any, tree: Tree, cfg: Config) -> str | None:
    parts = _quarters(tree, cfg)
    with open(tree.big, "rb") as f:
        for k, n, crc in sorted(ev):
            lo, hi = parts[k]
            f.seek(lo)
            if n != hi - lo:
                return f"reader {k} got {n} bytes of [{lo}, {hi})"
            if zlib.crc32(f.read(hi - lo)) != crc:
                return f"reader {k} got wrong bytes in [{lo}, {hi})"
    return None


def _walk_mount(root: Path, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
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


def _walk_raw(raw: RawClient, tree: Tree, cfg: Config) -> tuple[float, float, Any]:
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


def _check_walk(ev: Any, tree: Tree, cfg: Config) -> str | None:
    got = sorted(ev)
    if got != tree.deep_listing:
        missing = set(tree.deep_listing) - set(got)
        extra = set(got) - set(tree.deep_listing)
        return (
            f"traversal differs: {len(missing)} missing (e.g. {sorted(missing)[:2]}), "
            f"{len(extra)} unexpected (e.g. {sorted(extra)[:2]})"
        )
    return None


def _direct_limit(tree: Tree, cfg: Config) -> int:
    return cfg.direct_mb


METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric(
            "seq_1m",
            "MB/s",
            "sequential read of the big file, 1 MiB buffer",
            _seq_mount(MiB),
            _seq_raw(MiB),
            _check_len,
        ),
        Metric(
            "seq_128k",
            "MB/s",
            "sequential read of the big file, 128 KiB buffer",
            _seq_mount(128 * KiB),
            _seq_raw(128 * KiB),
            _check_len,
        ),
        Metric(
            "small_files",
            "files/s",
            "walk + read every small file",
            _small_mount,
            _small_raw,
            _check_small,
        ),
        Metric(
            "traverse",
            "dirs/s",
            "os.walk + lstat of every entry in the deep tree",
            _walk_mount,
            _walk_raw,
            _check_walk,
        ),
        Metric(
            "random_4k",
            "reads/s",
            "4 KiB preads at random aligned offsets",
            _random_mount,
            _random_raw,
            _check_random,
        ),
        Metric(
            "seq_4k",
            "MB/s",
            "dd bs=4k of the big file (page cache, kernel readahead)",
            _seq_mount(4 * KiB),
            _seq_raw(4 * KiB),
            _check_len,
        ),
        Metric(
            "seq_64k",
            "MB/s",
            "dd bs=64k of the big file (page cache, kernel readahead)",
            _seq_mount(64 * KiB),
            _seq_raw(64 * KiB),
            _check_len,
        ),
        Metric(
            "direct_4k",
            "MB/s",
            "O_DIRECT 4 KiB sequential reads (Windows-like: every read reaches the daemon)",
            _direct_mount(4 * KiB),
            _seq_raw(4 * KiB, _direct_limit),
            _check_len,
        ),
        Metric(
            "direct_64k",
            "MB/s",
            "O_DIRECT 64 KiB sequential reads (Windows-like: every read reaches the daemon)",
            _direct_mount(64 * KiB),
            _seq_raw(64 * KiB, _direct_limit),
            _check_len,
        ),
        Metric(
            "par_seq",
            "MB/s",
            "N threads each read one Nth of the big file (1 MiB buffer, --parallel)",
            _par_seq_mount,
            _par_seq_raw,
            _check_par_seq,
        ),
        Metric(
            "par_small",
            "files/s",
            "N threads walk + read disjoint parts of the small files (--parallel)",
            _par_small_mount,
            _par_small_raw,
            _check_small,
        ),
    ]
}


# --------------------------------------------------------------------------- running


@dataclass
class Result:
    runs: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    requests: list[dict[str, int]] = field(default_factory=list)
    daemon_cpu: list[float] = field(default_factory=list)
    reader_cpu: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def cpu_median(self) -> float | None:
        """Median client CPU seconds per run (FUSE daemon + the reading process).

        CPU time barely moves when other work shares the machine, so it is the
        steadiest number here when wall-clock rates are noisy.
        """
        if not self.reader_cpu:
            return None
        daemon = self.daemon_cpu or [0.0] * len(self.reader_cpu)
        return statistics.median(d + r for d, r in zip(daemon, self.reader_cpu, strict=True))

    @property
    def median(self) -> float | None:
        return statistics.median(self.runs) if self.runs else None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(MiB):
            h.update(chunk)
    return h.hexdigest()


REPO = Path(__file__).resolve().parent.parent


def partyfuse_source(rev: str, work: Path) -> tuple[dict[str, str], str]:
    """The environment that makes `python -m partyfuse` run `rev` of this repo.

    The default is a committed revision exported to the work dir, never the
    live working tree: other sessions edit (and mutation-test) that tree while
    a benchmark runs, and a number for code nobody committed means nothing.
    PYTHONPATH wins over the editable install's finder.
    """
    env = dict(os.environ)
    if rev == "worktree":
        src, label = REPO, f"working tree {REPO}"
    else:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--verify", rev + "^{commit}"],
            capture_output=True,
            text=True,
        )
        if commit.returncode != 0:
            raise BenchError(f"--partyfuse-rev {rev}: not a commit in {REPO}")
        sha = commit.stdout.strip()
        src = work / "partyfuse-src"
        src.mkdir(exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", sha, "partyfuse"],
            capture_output=True,
        )
        if archive.returncode != 0:
            raise BenchError(f"git archive {sha}: {archive.stderr.decode(errors='replace')}")
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
        label = f"commit {sha[:12]} ({rev})"
    env["PYTHONPATH"] = os.pathsep.join([str(src), *filter(None, [env.get("PYTHONPATH")])])
    return env, label


def partyfuse_runnable(python: str, env: dict[str, str], cwd: Path) -> str | None:
    """None if `python -m partyfuse` can be started, else why not."""
    r = subprocess.run(
        [python, "-m", "partyfuse", "--help"], capture_output=True, timeout=60, env=env, cwd=cwd
    )
    if r.returncode == 0:
        return None
    tail = (r.stderr or r.stdout).decode(errors="replace").strip().splitlines()
    return tail[-1] if tail else f"exit status {r.returncode}"


def machine_info(python: str) -> dict[str, Any]:
    """Enough about the box to read the numbers later (they only compare within one run)."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cpp = subprocess.run(
        [python, "-c", "import copyparty.__version__ as v; print(v.S_VERSION)"],
        capture_output=True,
        text=True,
    )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "kernel": os.uname().release,
        "python": sys.version.split()[0],
        "copyparty": cpp.stdout.strip() or None,
    }


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_bench(cfg: Config) -> dict[str, Any]:
    cleanup = Cleanup()
    made_work = cfg.workdir is None
    if cfg.workdir is None:
        shm = Path("/dev/shm")
        base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
        work = Path(tempfile.mkdtemp(prefix="partyfuse-bench-", dir=base))
    else:
        work = cfg.workdir
        work.mkdir(parents=True, exist_ok=True)

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old_term = signal.signal(signal.SIGTERM, on_term)
    try:
        pf_env: dict[str, str] | None = None
        pf_source = None
        load_before = os.getloadavg()[0]
        if "partyfuse" in cfg.clients:
            pf_env, pf_source = partyfuse_source(cfg.partyfuse_rev, work)
            log(f"bench: partyfuse from {pf_source}")
            why = partyfuse_runnable(cfg.python, pf_env, work)
            if why is not None:
                if not cfg.partyfuse_optional:
                    raise BenchError(f"python -m partyfuse does not start: {why}")
                log(f"bench: python -m partyfuse does not start ({why}); skipping it")
                cfg.clients.remove("partyfuse")
        log(f"bench: building tree in {work} ...")
        tree = make_tree(work / "src", cfg)
        server = Server(cfg, tree, work, cleanup)
        log(f"bench: copyparty on {server.url} (pid {server.proc.pid}, cpu {cfg.server_cpu})")
        if cfg.client_cpu is not None:
            # the process issuing the reads is part of the client side
            os.sched_setaffinity(0, {cfg.client_cpu})

        mounts: dict[str, MountClient] = {}
        if "upstream" in cfg.clients:
            mounts["upstream"] = MountClient(
                "upstream",
                [cfg.python, str(cfg.upstream)],
                server.url,
                cfg.upstream_args,
                work,
                cfg,
                cleanup,
            )
        if "partyfuse" in cfg.clients:
            mounts["partyfuse"] = MountClient(
                "partyfuse",
                [cfg.python, "-m", "partyfuse"],
                server.url,
                cfg.partyfuse_args,
                work,
                cfg,
                cleanup,
                env=pf_env,
            )
        raw = RawClient(server.port)

        # correctness first: a fast wrong answer is no answer
        verify: dict[str, str] = {}
        for name, mc in mounts.items():
            with mc.mounted() as root:
                got = sha256_file(root / "big.bin")
            verify[name] = "ok" if got == tree.big_sha256 else f"sha256 mismatch: {got}"
            log(f"bench: verify {name}: big.bin sha256 {verify[name]}")
        if "raw" in cfg.clients:
            with raw.connected():
                h = hashlib.sha256()
                resp = raw.get("/big.bin")
                while chunk := resp.read(MiB):
                    h.update(chunk)
            verify["raw"] = "ok" if h.hexdigest() == tree.big_sha256 else "sha256 mismatch"

        results: dict[str, dict[str, Result]] = {m: {} for m in cfg.metrics}
        for mname in cfg.metrics:
            metric = METRICS[mname]
            for cname in cfg.clients:
                results[mname][cname] = Result()
            # clients take turns within each run, so a load change on the machine
            # hits every column alike instead of one client's three runs
            for i in range(cfg.runs):
                for cname in cfg.clients:
                    res = results[mname][cname]
                    if res.error:
                        continue
                    before = server.log_size()
                    try:
                        if cname == "raw":
                            with raw.connected():
                                c0 = self_cpu()
                                amount, dt, ev = metric.on_raw(raw, tree, cfg)
                                res.reader_cpu.append(self_cpu() - c0)
                        else:
                            mc = mounts[cname]
                            with mc.mounted() as root:
                                before = server.log_size()  # mount-time probes are not the workload
                                d0, c0 = mc.cpu(), self_cpu()
                                amount, dt, ev = metric.on_mount(root, tree, cfg)
                                res.reader_cpu.append(self_cpu() - c0)
                                res.daemon_cpu.append(mc.cpu() - d0)
                    except (OSError, BenchError, http.client.HTTPException) as e:
                        res.error = f"{type(e).__name__}: {e}"
                        verify[cname] = f"{mname}: {res.error}"
                        log(f"bench: {mname} {cname} run {i + 1}: FAILED {res.error}")
                        if cname in mounts:
                            log(f"bench: {cname} log tail: {mounts[cname].last_error()}")
                        continue
                    res.requests.append(server.requests_since(before))
                    problem = metric.check(ev, tree, cfg)
                    if problem:
                        res.error = problem
                        verify[cname] = f"{mname}: {problem}"
                        log(f"bench: {mname} {cname} run {i + 1}: WRONG DATA {problem}")
                        continue
                    rate = amount / dt if dt > 0 else float("inf")
                    res.runs.append(rate)
                    res.seconds.append(dt)
                    log(
                        f"bench: {mname:12s} {cname:10s} run {i + 1}: {rate:10.1f} "
                        f"{metric.unit} ({dt:.2f}s, {res.requests[-1]['requests']} requests)"
                    )
        rep = report(cfg, tree, results, verify)
        rep["config"]["partyfuse_source"] = pf_source
        rep["config"]["loadavg_before"] = load_before
        rep["config"]["loadavg_after"] = os.getloadavg()[0]
        rep["config"]["machine"] = machine_info(cfg.python)
        # start to mounted: interpreter start-up, imports, the first listing, FUSE init
        rep["mount_seconds"] = {
            name: statistics.median(mc.mount_seconds)
            for name, mc in mounts.items()
            if mc.mount_seconds
        }
        return rep
    finally:
        signal.signal(signal.SIGTERM, old_term)
        cleanup.all()
        if made_work and not cfg.keep:
            shutil.rmtree(work, ignore_errors=True)
        elif cfg.keep:
            log(f"bench: kept {work}")


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def report(
    cfg: Config, tree: Tree, results: dict[str, dict[str, Result]], verify: dict[str, str]
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "config": {
            "big_mb": cfg.big_mb,
            "small_count": cfg.small_count,
            "small_kb": cfg.small_kb,
            "tree_dirs": tree_dirs(tree),
            "random_reads": cfg.random_reads,
            "direct_mb": cfg.direct_mb,
            "parallel": cfg.parallel,
            "runs": cfg.runs,
            "seed": cfg.seed,
            "server_cpu": cfg.server_cpu,
            "client_cpu": cfg.client_cpu,
            "drop_caches": cfg.drop_caches,
            "clients": cfg.clients,
            "upstream_args": cfg.upstream_args,
            "partyfuse_args": cfg.partyfuse_args,
        },
        "verify": verify,
        "metrics": {},
    }
    for mname, per in results.items():
        m = METRICS[mname]
        entry: dict[str, Any] = {"unit": m.unit, "help": m.help, "clients": {}}
        for cname, r in per.items():
            entry["clients"][cname] = {
                "median": r.median,
                "runs": r.runs,
                "seconds": r.seconds,
                "requests": r.requests[-1] if r.requests else None,
                "cpu_median": r.cpu_median,
                "daemon_cpu": r.daemon_cpu,
                "reader_cpu": r.reader_cpu,
                "error": r.error,
            }
        med = {c: r.median for c, r in per.items()}
        entry["partyfuse_over_upstream"] = _ratio(med.get("partyfuse"), med.get("upstream"))
        entry["partyfuse_over_raw"] = _ratio(med.get("partyfuse"), med.get("raw"))
        entry["upstream_over_raw"] = _ratio(med.get("upstream"), med.get("raw"))
        cpu = {c: r.cpu_median for c, r in per.items()}
        entry["cpu_partyfuse_over_upstream"] = _ratio(cpu.get("partyfuse"), cpu.get("upstream"))
        out["metrics"][mname] = entry
    return out


def _fmt(v: float | None, ratio: bool = False) -> str:
    if v is None:
        return "-"
    if ratio:
        return f"{v:.2f}x"
    return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"


def _render(rows: list[list[str]], left: int, markdown: bool) -> list[str]:
    """Aligned text columns (the first ``left`` left-aligned), or a markdown table."""
    if markdown:
        out = ["| " + " | ".join(rows[0]) + " |"]
        out.append(
            "|" + "|".join(":---" if i < left else "---:" for i in range(len(rows[0]))) + "|"
        )
        out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return out
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for j, r in enumerate(rows):
        out.append(
            "  ".join(
                x.ljust(w) if i < left else x.rjust(w)
                for i, (x, w) in enumerate(zip(r, widths, strict=True))
            )
        )
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def _rate_rows(rep: dict[str, Any]) -> list[list[str]]:
    rows = [
        [
            "metric",
            "unit",
            "raw HTTP",
            "upstream",
            "partyfuse",
            "pf/upstream",
            "pf/raw",
            "requests raw/up/pf",
        ]
    ]
    for mname, e in rep["metrics"].items():
        c = e["clients"]

        def med(name: str, c: dict[str, Any] = c) -> str:
            if name not in c:
                return "-"
            return "FAIL" if c[name]["error"] else _fmt(c[name]["median"])

        def reqs(name: str, c: dict[str, Any] = c) -> str:
            r = c.get(name, {}).get("requests")
            return str(r["requests"]) if r else "-"

        rows.append(
            [
                mname,
                e["unit"],
                med("raw"),
                med("upstream"),
                med("partyfuse"),
                _fmt(e["partyfuse_over_upstream"], True),
                _fmt(e["partyfuse_over_raw"], True),
                "/".join(reqs(n) for n in CLIENTS),
            ]
        )
    return rows


def _cost_rows(rep: dict[str, Any]) -> list[list[str]]:
    """Cost per run: client CPU (steadier than rates on a shared machine) and file
    bytes asked of the server (more than the workload needs = wasted fetches)."""
    rows = [
        [
            "metric",
            "client CPU ms: raw",
            "upstream",
            "partyfuse",
            "pf/upstream CPU",
            "MiB fetched raw/up/pf",
        ]
    ]
    for mname, e in rep["metrics"].items():
        c = e["clients"]

        def ms(name: str, c: dict[str, Any] = c) -> str:
            v = c.get(name, {}).get("cpu_median")
            return "-" if v is None else f"{v * 1000:,.0f}"

        def mib(name: str, c: dict[str, Any] = c) -> str:
            r = c.get(name, {}).get("requests")
            return "-" if not r else f"{r['file_bytes'] / MiB:,.1f}"

        rows.append(
            [
                mname,
                ms("raw"),
                ms("upstream"),
                ms("partyfuse"),
                _fmt(e.get("cpu_partyfuse_over_upstream"), True),
                "/".join(mib(n) for n in CLIENTS),
            ]
        )
    return rows


def format_table(rep: dict[str, Any], markdown: bool = False) -> str:
    lines = _render(_rate_rows(rep), 2, markdown)
    lines.append("")
    lines += _render(_cost_rows(rep), 1, markdown)
    cfg = rep["config"]
    lines.append("")
    notes = [
        f"median of {cfg['runs']} run(s); big file {cfg['big_mb']} MiB, "
        f"{cfg['small_count']} x {cfg['small_kb']} KiB small files, "
        f"{cfg['tree_dirs']} dirs, {cfg['random_reads']} random reads, "
        f"O_DIRECT over {cfg['direct_mb']} MiB; server cpu {cfg['server_cpu']}, "
        f"client cpu {cfg['client_cpu']}; drop_caches={cfg['drop_caches']}"
    ]
    mi = cfg.get("machine")
    if mi:
        notes.append(
            f"machine: {mi['cpus']} x {mi['cpu_model']}, Linux {mi['kernel']}, "
            f"Python {mi['python']}, copyparty {mi['copyparty']}"
        )
    if cfg.get("partyfuse_source"):
        notes.append(f"partyfuse: {cfg['partyfuse_source']}")
    lb, la = cfg.get("loadavg_before"), cfg.get("loadavg_after")
    if lb is not None and la is not None:
        # other work on the box skews absolute numbers; ratios suffer less
        notes.append(f"load average (1 min): {lb:.2f} before, {la:.2f} after")
    if rep.get("mount_seconds"):
        notes.append(
            "median time to mount: "
            + ", ".join(f"{k} {v:.2f}s" for k, v in rep["mount_seconds"].items())
        )
    notes.append("verify: " + ", ".join(f"{k}={v}" for k, v in rep["verify"].items()))
    lines += [f"- {n}" for n in notes] if markdown else notes
    return "\n".join(lines)


# --------------------------------------------------------------------------- cli


def find_upstream(python: str) -> Path:
    """partyfuse.py as shipped inside the copyparty package that `python` imports."""
    r = subprocess.run(
        [python, "-c", "import copyparty, os; print(os.path.dirname(copyparty.__file__))"],
        capture_output=True,
        text=True,
    )
    return Path(r.stdout.strip() or "copyparty-not-importable") / "web" / "a" / "partyfuse.py"


def parse_args(argv: list[str] | None) -> tuple[Config, argparse.Namespace]:
    ap = argparse.ArgumentParser(
        description="benchmark partyfuse against raw HTTP and upstream partyfuse.py (ratios)"
    )
    ap.add_argument(
        "--quick", action="store_true", help="small sizes, 1 run (a smoke run, not a measurement)"
    )
    ap.add_argument(
        "--only",
        default=None,
        help="comma list of clients: raw,upstream,partyfuse (default: all runnable)",
    )
    ap.add_argument(
        "--metrics", default=None, help="comma list of metrics (default: all): " + ",".join(METRICS)
    )
    ap.add_argument("--big-mb", type=int, default=None, help="big file size (default 256)")
    ap.add_argument("--small-count", type=int, default=None, help="small files (default 2000)")
    ap.add_argument("--small-kb", type=int, default=4, help="small file size (default 4)")
    ap.add_argument("--tree-fanout", type=int, default=None, help="dirs per dir (default 4)")
    ap.add_argument("--tree-depth", type=int, default=None, help="levels (default 5)")
    ap.add_argument("--tree-files", type=int, default=3, help="files per traversal dir")
    ap.add_argument("--random-reads", type=int, default=None, help="default 500")
    ap.add_argument(
        "--direct-mb", type=int, default=None, help="MiB read by the O_DIRECT metrics (default 32)"
    )
    ap.add_argument(
        "--parallel", type=int, default=4, help="readers in the par_* metrics (default 4)"
    )
    ap.add_argument("--runs", type=int, default=None, help="runs per measurement (default 3)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--server-cpu", default="0", help="CPU for copyparty; 'none' = no pinning")
    ap.add_argument("--client-cpu", default="1", help="CPU for clients; 'none' = no pinning")
    ap.add_argument(
        "--upstream",
        type=Path,
        default=None,
        help="path to upstream partyfuse.py (default: the one in the copyparty package)",
    )
    ap.add_argument("--upstream-args", default="-q", help="extra args for upstream")
    ap.add_argument("--partyfuse-args", default="-q", help="extra args for python -m partyfuse")
    ap.add_argument(
        "--partyfuse-rev",
        default="HEAD",
        help="git revision of this repo to benchmark, exported to the work dir; "
        "'worktree' = the live working tree",
    )
    ap.add_argument("--python", default=sys.executable, help="interpreter for every client")
    ap.add_argument(
        "--no-drop-caches",
        action="store_true",
        help="do not write /proc/sys/vm/drop_caches (rely on remounts only)",
    )
    ap.add_argument("--workdir", type=Path, default=None, help="default: a temp dir on /dev/shm")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (logs, tree)")
    ap.add_argument(
        "--json",
        metavar="FILE",
        default=None,
        help="write the JSON report to FILE ('-' = stdout, table goes to stderr)",
    )
    ap.add_argument(
        "--markdown", action="store_true", help="print the tables as markdown (for README/notes)"
    )
    a = ap.parse_args(argv)

    q = a.quick

    def pick(v: int | None, full: int, quick: int) -> int:
        return v if v is not None else (quick if q else full)

    def cpu(v: str) -> int | None:
        if v.lower() == "none" or (os.cpu_count() or 1) < 2 or not shutil.which("taskset"):
            return None
        return int(v)

    if a.only:
        clients = [c.strip() for c in a.only.split(",") if c.strip()]
        bad = [c for c in clients if c not in CLIENTS]
        if bad:
            ap.error(f"unknown client(s) {bad}; choose from {', '.join(CLIENTS)}")
    else:
        clients = list(CLIENTS)
    clients = [c for c in CLIENTS if c in clients]  # table order
    metrics = list(METRICS) if not a.metrics else [m.strip() for m in a.metrics.split(",")]
    bad = [m for m in metrics if m not in METRICS]
    if bad:
        ap.error(f"unknown metric(s) {bad}; choose from {', '.join(METRICS)}")

    cfg = Config(
        big_mb=pick(a.big_mb, 256, 8),
        small_count=pick(a.small_count, 2000, 100),
        small_kb=a.small_kb,
        tree_fanout=pick(a.tree_fanout, 4, 3),
        tree_depth=pick(a.tree_depth, 5, 2),
        tree_files=a.tree_files,
        random_reads=pick(a.random_reads, 500, 50),
        direct_mb=pick(a.direct_mb, 32, 2),
        parallel=a.parallel,
        runs=pick(a.runs, 3, 1),
        seed=a.seed,
        clients=clients,
        metrics=metrics,
        server_cpu=cpu(a.server_cpu),
        client_cpu=cpu(a.client_cpu),
        upstream=a.upstream or find_upstream(a.python),
        upstream_args=a.upstream_args.split(),
        partyfuse_args=a.partyfuse_args.split(),
        partyfuse_rev=a.partyfuse_rev,
        partyfuse_optional=not a.only,
        python=a.python,
        drop_caches=not a.no_drop_caches,
        workdir=a.workdir,
        keep=a.keep,
    )
    return cfg, a


def main(argv: list[str] | None = None) -> int:
    cfg, a = parse_args(argv)
    if cfg.drop_caches and not os.access("/proc/sys/vm/drop_caches", os.W_OK):
        log("bench: /proc/sys/vm/drop_caches not writable; relying on fresh mounts only")
        cfg.drop_caches = False
    if "upstream" in cfg.clients and not cfg.upstream.is_file():
        if a.only:
            print(f"bench: upstream partyfuse.py not found at {cfg.upstream}", file=sys.stderr)
            return 2
        log(f"bench: upstream partyfuse.py not found at {cfg.upstream}; skipping it")
        cfg.clients.remove("upstream")
    try:
        rep = run_bench(cfg)
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted; everything stopped and unmounted", file=sys.stderr)
        return 130
    table = format_table(rep, markdown=a.markdown)
    if a.json == "-":
        print(table, file=sys.stderr)
        json.dump(rep, sys.stdout, indent=2)
        print()
    else:
        print(table)
        if a.json:
            Path(a.json).write_text(json.dumps(rep, indent=2) + "\n")
    bad = {k: v for k, v in rep["verify"].items() if v != "ok"}
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
