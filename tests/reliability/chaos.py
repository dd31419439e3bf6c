"""A chaos run: a real copyparty behind the fault proxy, partyfuse mounted on
it, several readers at once, and the kernel's page cache dropped now and
then so reads keep reaching the network.  Used by test_chaos.py (a quick
seeded run, and a long one behind the ``soak`` marker) and scripts/soak.py.

What is checked, and what ``Report`` holds:

* every read returns the exact bytes or an error (EIO/ETIMEDOUT): ``wrong``
  counts reads that returned anything else (other bytes, a short read before
  EOF, a wrong size, a listing with other names) -- it must stay 0;
* no system call blocks longer than ``Settings.bound(n)`` for the n FUSE
  requests it may cost (the call timeout each, plus a second): ``over_bound``
  lists those that did (it must stay empty), ``longest`` is the longest one;
* when the faults stop, no daemon thread is left waiting on a socket, and the
  whole tree reads back exactly.
"""

from __future__ import annotations

import errno
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from fakes.faultproxy import FaultProxy, Schedule
from tests.support.mounts import TEST_ENV, teardown
from tests.support.wait import wait_for

#: Errors a read may end with while the server misbehaves.
ALLOWED = frozenset({errno.EIO, errno.ETIMEDOUT})
#: Kernel waits a socket shows in /proc/PID/task/TID/wchan.
SOCKET_WAITS = ("wait_woken", "sk_wait_data", "sk_stream_wait_memory", "inet_wait_for_connect")
SIZES = [0, 1, 17, 4095, 4096, 4097, 65535, 65536, 131073, 200_000, 1 << 20, (1 << 20) + 3,
         3_000_000]  # fmt: skip


@dataclass
class Tree:
    root: Path
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def dirs(self) -> set[str]:
        out = {""}
        for rel in self.files:
            parts = rel.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                out.add("/".join(parts[:i]))
        return out

    def names(self, rel: str) -> set[str]:
        prefix = f"{rel}/" if rel else ""
        out = set()
        for path in [*self.files, *self.dirs]:
            if path and path.startswith(prefix) and "/" not in path[len(prefix) :]:
                out.add(path[len(prefix) :])
        return out


def make_tree(root: Path, seed: int = 7) -> Tree:
    """Files of many sizes at the top and in ``big/``; small ones in ``d0``..``d4``."""
    rng = random.Random(seed)
    tree = Tree(root)
    for i, size in enumerate(SIZES):
        tree.files[f"big/s{i:02d}-{size}.bin"] = rng.randbytes(size)
    for d in range(5):
        for i in range(8):
            tree.files[f"d{d}/sub/f{i}.dat" if i % 3 == 0 else f"d{d}/f{i}.dat"] = rng.randbytes(
                rng.choice([0, 1, 100, 3000, 4096, 9000, 20_000])
            )
    tree.files["top.txt"] = b"top level file\n" * 100
    for rel, data in tree.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return tree


@dataclass
class Settings:
    seed: int = 1
    seconds: float = 25.0
    """How long the faults go on."""
    call_timeout: float = 3.0
    rate: float = 0.12
    cf: int = 4
    cds: float = 0.5
    stall: float = 0.0
    """Seconds a stall lasts (0: twice the call timeout)."""
    outage: float = 1.0
    trickle_delay: float = 0.005
    debug: bool = False
    """Run the daemon with -d (every request in its log: slow, for hunting a failure)."""

    def bound(self, requests: int = 1) -> float:
        """Longest a system call that costs up to ``requests`` FUSE requests may
        block: the call timeout per request (each FUSE request is one bounded
        operation, see fuse_adapter._guard), plus a second of slack each and two
        for a loaded machine's scheduler."""
        return requests * (self.call_timeout + 1.0) + 2.0


def read_requests(offset: int, size: int) -> int:
    """FUSE requests a read may cost: one per 128 KiB page-aligned piece, and
    one more for the kernel's read-ahead."""
    first, last = offset // 4096, (offset + max(size, 1) - 1) // 4096
    return (last - first) // 32 + 2


def path_requests(rel: str) -> int:
    """A lookup per path component, and the operation itself."""
    return rel.count("/") + 2


@dataclass
class Report:
    settings: Settings = field(default_factory=Settings)
    over_bound: list[str] = field(default_factory=list)
    reads: int = 0
    bytes_read: int = 0
    listings: int = 0
    short_reads: int = 0
    wrong: int = 0
    wrong_what: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    """Errors other than EIO/ETIMEDOUT (an existing file said ENOENT, ...)."""
    errors: Counter[str] = field(default_factory=Counter)
    faults: dict[str, int] = field(default_factory=dict)
    on_kept_alive: int = 0
    longest: float = 0.0
    longest_what: str = ""
    peak_rss_kib: int = 0
    threads: tuple[int, int] = (0, 0)
    sockets: tuple[int, int] = (0, 0)
    fds: tuple[int, int] = (0, 0)
    peak: tuple[int, int, int] = (0, 0, 0)
    """Most threads, sockets and open fds seen at once during the run."""
    stuck: list[str] = field(default_factory=list)
    readback_ok: bool = False
    seconds: float = 0.0
    log_tail: str = field(default="", repr=False)
    log_text: str = field(default="", repr=False)
    evidence: list[str] = field(default_factory=list, repr=False)
    """The proxy's last exchanges when something went wrong."""
    proxy: FaultProxy | None = field(default=None, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def timed(self, what: str, requests: int, fn, *args):  # type: ignore[no-untyped-def]
        """``fn(*args)``, timed against the bound for a call that costs up to
        ``requests`` FUSE requests (see Settings.bound)."""
        t0 = time.monotonic()
        try:
            return fn(*args)
        finally:
            secs = time.monotonic() - t0
            if secs > self.longest or secs > self.settings.bound(requests):
                with self.lock:
                    if secs > self.longest:
                        self.longest, self.longest_what = secs, what
                    if secs > self.settings.bound(requests):
                        self.over_bound.append(f"{what}: {secs:.1f} s")

    def error(self, e: OSError, what: str) -> None:
        name = errno.errorcode.get(e.errno or 0, str(e.errno))
        with self.lock:
            self.errors[name] += 1
            if e.errno not in ALLOWED:
                self.unexpected.append(f"{what}: {e!r}")
                self._witness(what)

    def bad(self, what: str) -> None:
        with self.lock:
            self.wrong += 1
            self.wrong_what.append(what)
            self._witness(what)

    def _witness(self, what: str) -> None:
        if self.proxy is not None and len(self.evidence) < 2000:
            self.evidence += [f"--- {what}", *list(self.proxy.recent)[-60:]]

    def read_ok(self, n: int) -> None:
        with self.lock:
            self.reads += 1
            self.bytes_read += n

    def text(self) -> str:
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items()))
        errors = ", ".join(f"{k} {v}" for k, v in sorted(self.errors.items())) or "none"
        return "\n".join([
            f"run:                 {self.seconds:.0f} s of faults",
            f"reads:               {self.reads} ({self.bytes_read / 1e6:.1f} MB), "
            f"{self.listings} listings, {self.short_reads} short reads",
            f"faults injected:     {sum(self.faults.values())} ({faults}); "
            f"{self.on_kept_alive} on kept-alive connections",
            f"errors surfaced:     {sum(self.errors.values())} ({errors})",
            f"wrong bytes:         {self.wrong}",
            f"unexpected errors:   {len(self.unexpected)}"
            + "".join(f"\n  {u}" for u in self.unexpected[:5]),
            f"longest blocked call: {self.longest:.2f} s ({self.longest_what}); "
            f"{len(self.over_bound)} past their bound",
            f"peak RSS of daemon:  {self.peak_rss_kib / 1024:.1f} MiB",
            f"threads before/after: {self.threads[0]} / {self.threads[1]}",
            f"sockets before/after: {self.sockets[0]} / {self.sockets[1]}",
            f"open fds before/after: {self.fds[0]} / {self.fds[1]}",
            f"peak during the run: {self.peak[0]} threads, {self.peak[1]} sockets, "
            f"{self.peak[2]} fds",
            f"stuck threads:       {len(self.stuck)}",
            f"tree read back:      {'exact' if self.readback_ok else 'FAILED'}",
        ])  # fmt: skip


# -- the daemon ----------------------------------------------------------------


def cli_has_timeout() -> bool:
    from partyfuse.cli import build_parser

    return any("--timeout" in a.option_strings for a in build_parser()._actions)


def mount_command(url: str, mnt: Path, call_timeout: float, *extra: str) -> list[str]:
    """partyfuse with every call bounded by ``call_timeout`` (its --timeout once
    the CLI has it; until then tests/reliability/launch.py)."""
    if cli_has_timeout():
        return [sys.executable, "-m", "partyfuse", url, str(mnt), "--timeout", str(call_timeout),
                *extra]  # fmt: skip
    return [sys.executable, "-m", "tests.reliability.launch", str(call_timeout), url, str(mnt),
            *extra]  # fmt: skip


class Daemon:
    """A mounted partyfuse process; ``stop()`` always unmounts."""

    def __init__(self, url: str, mnt: Path, log_dir: Path, call_timeout: float, *extra: str):
        mnt.mkdir(parents=True, exist_ok=True)
        log_dir.mkdir(parents=True, exist_ok=True)
        self.mnt = mnt
        self.log = log_dir / "partyfuse.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                mount_command(url, mnt, call_timeout, *extra),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **TEST_ENV},
                cwd=str(log_dir),
            )
        try:
            wait_for(lambda: os.path.ismount(mnt) or self.proc.poll() is not None, 30, "mount")
            if not os.path.ismount(mnt):
                raise AssertionError(f"partyfuse exited {self.proc.returncode}:\n{self.log_text()}")
        except BaseException:
            self.stop()
            raise

    def log_text(self, limit: int = 20000) -> str:
        return self.log.read_bytes().decode("utf-8", "replace")[-limit:]

    def stop(self) -> None:
        teardown(self.mnt, self.proc)

    def _proc(self, *parts: str) -> Path:
        return Path("/proc", str(self.proc.pid), *parts)

    def threads(self) -> int:
        return len(os.listdir(self._proc("task")))

    def sockets(self) -> int:
        n = 0
        for fd in os.listdir(self._proc("fd")):
            try:
                n += os.readlink(self._proc("fd", fd)).startswith("socket:")
            except OSError:
                pass
        return n

    def fds(self) -> int:
        return len(os.listdir(self._proc("fd")))

    def sample(self) -> tuple[int, int, int]:
        """(threads, sockets, open fds), or zeros once the process is gone."""
        try:
            return self.threads(), self.sockets(), self.fds()
        except OSError:
            return 0, 0, 0

    def peak_rss_kib(self) -> int:
        for line in self._proc("status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0

    def socket_waiters(self) -> list[str]:
        """Threads blocked on a socket (none should be, once the server is quiet)."""
        out = []
        for tid in os.listdir(self._proc("task")):
            try:
                wchan = self._proc("task", tid, "wchan").read_text().strip()
                comm = self._proc("task", tid, "comm").read_text().strip()
            except OSError:
                continue
            if wchan in SOCKET_WAITS:
                out.append(f"{tid} {comm} {wchan}")
        return out


# -- readers -------------------------------------------------------------------


def drop_page_cache(fd: int | None = None) -> None:
    """Make the next read of the mount reach partyfuse (and so the network)."""
    if fd is not None:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError:
        pass  # not root: the readers' fadvise still does it per file


class Readers:
    """Sequential, random, whole-small-file and ``find`` readers, each checking
    every answer against the tree, until ``stop`` is set."""

    def __init__(self, tree: Tree, mnt: Path, report: Report, seed: int) -> None:
        self.tree = tree
        self.mnt = mnt
        self.report = report
        self.stop = threading.Event()
        self.seed = seed
        self.big = sorted(r for r, d in tree.files.items() if len(d) > 100_000)
        self.small = sorted(r for r, d in tree.files.items() if len(d) <= 100_000)
        self.threads: list[threading.Thread] = []

    def start(
        self, sequential: int = 2, random_: int = 2, small: int = 1, find: int = 1, stat: int = 1
    ) -> None:
        jobs = (
            [self._sequential] * sequential
            + [self._random] * random_
            + [self._small] * small
            + [self._find] * find
            + [self._stat] * stat
            + [self._dropper]
        )
        for i, job in enumerate(jobs):
            t = threading.Thread(target=self._loop, args=(job, i), name=job.__name__, daemon=True)
            self.threads.append(t)
            t.start()

    def join(self, timeout: float) -> list[str]:
        """Stop them; the names of any still running after ``timeout``."""
        self.stop.set()
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return [t.name for t in self.threads if t.is_alive()]

    def _loop(self, job, i: int) -> None:  # type: ignore[no-untyped-def]
        rng = random.Random(self.seed * 100 + i)
        while not self.stop.is_set():
            try:
                job(rng)
            except Exception as e:  # a reader's own bug must fail the run, not vanish
                self.report.bad(f"reader {job.__name__} crashed: {e!r}")
                return

    def _open(self, rel: str) -> int | None:
        r = self.report
        try:
            return r.timed(f"open {rel}", path_requests(rel), os.open, self.mnt / rel, os.O_RDONLY)
        except OSError as e:
            r.error(e, f"open {rel}")
            return None

    def _check(self, rel: str, offset: int, want: int, data: bytes) -> bool:
        """Whether ``data`` is what the server holds there.  A short read is
        allowed (the kernel splits a read into several FUSE requests and
        returns what came before one that failed), but not an early EOF: the
        caller reads on from where a short read stopped."""
        expect = self.tree.files[rel]
        if data != expect[offset : offset + len(data)]:
            self.report.bad(f"read {rel} [{offset}+{want}]: {len(data)} bytes, not the server's")
            return False
        if not data and want and offset < len(expect):
            self.report.bad(f"read {rel} [{offset}+{want}]: EOF before the end ({len(expect)})")
            return False
        if len(data) < want and offset + len(data) < len(expect):
            with self.report.lock:
                self.report.short_reads += 1
        self.report.read_ok(len(data))
        return True

    def _read_through(self, rel: str, step: int) -> None:
        fd = self._open(rel)
        if fd is None:
            return
        r = self.report
        try:
            size = len(self.tree.files[rel])
            try:
                st = r.timed(f"fstat {rel}", 1, os.fstat, fd)
            except OSError as e:  # with -cds 0 every fstat asks the server
                r.error(e, f"fstat {rel}")
            else:
                if st.st_size != size:
                    r.bad(f"fstat {rel}: size {st.st_size}, not {size}")
            pos = 0
            while not self.stop.is_set():
                try:
                    data = r.timed(
                        f"read {rel} @{pos}", read_requests(pos, step), os.pread, fd, step, pos
                    )
                except OSError as e:
                    r.error(e, f"read {rel} @{pos}")
                    return
                if not self._check(rel, pos, step, data) or not data:
                    return
                pos += len(data)
        finally:
            drop_page_cache(fd)
            os.close(fd)

    def _sequential(self, rng: random.Random) -> None:
        self._read_through(rng.choice(self.big), rng.choice([4096, 65536, 131072]))

    def _small(self, rng: random.Random) -> None:
        rel = rng.choice(self.small)
        self._read_through(rel, 1 << 20)

    def _random(self, rng: random.Random) -> None:
        rel = rng.choice(self.big)
        fd = self._open(rel)
        if fd is None:
            return
        size = len(self.tree.files[rel])
        try:
            for _ in range(20):
                if self.stop.is_set():
                    return
                off = rng.randrange(max(1, size + 100))
                want = rng.choice([1, 100, 4096, 50_000, 300_000])
                while want > 0:
                    try:
                        data = self.report.timed(
                            f"pread {rel} @{off}", read_requests(off, want), os.pread, fd, want, off
                        )
                    except OSError as e:
                        self.report.error(e, f"pread {rel} @{off}")
                        break
                    if not self._check(rel, off, want, data) or off + len(data) >= size:
                        break
                    off, want = off + len(data), want - len(data)  # on after a short read
                drop_page_cache(fd)
        finally:
            os.close(fd)

    def _find(self, rng: random.Random) -> None:
        r = self.report
        for rel in sorted(self.tree.dirs):
            if self.stop.is_set():
                return
            try:
                names = r.timed(
                    f"listdir {rel or '/'}", path_requests(rel) + 2, os.listdir, self.mnt / rel
                )
            except OSError as e:
                r.error(e, f"listdir {rel}")
                continue
            with r.lock:
                r.listings += 1
            if set(names) != self.tree.names(rel):
                r.bad(f"listdir {rel}: {sorted(names)}")
            for name in names:
                path = f"{rel}/{name}" if rel else name
                if path in self.tree.files:
                    self._stat_file(path)

    def _stat(self, rng: random.Random) -> None:
        """stat() files again and again: each asks the server once -cds has passed."""
        self._stat_file(rng.choice(sorted(self.tree.files)))
        self.stop.wait(0.01)

    def _stat_file(self, rel: str) -> None:
        """One timed stat() of a file: an error, or its size must be the tree's."""
        r = self.report
        try:
            st = r.timed(f"stat {rel}", path_requests(rel), os.stat, self.mnt / rel)
        except OSError as e:
            r.error(e, f"stat {rel}")
            return
        if st.st_size != len(self.tree.files[rel]):
            r.bad(f"stat {rel}: size {st.st_size}")

    def _dropper(self, rng: random.Random) -> None:
        drop_page_cache()
        self.stop.wait(rng.uniform(0.3, 1.0))


def read_back(tree: Tree, mnt: Path) -> list[str]:
    """Every file and folder, read whole: what differs from the tree (empty: all exact)."""
    drop_page_cache()
    bad = []
    for rel in sorted(tree.dirs):
        try:
            if set(os.listdir(mnt / rel)) != tree.names(rel):
                bad.append(f"listing {rel}")
        except OSError as e:
            bad.append(f"listing {rel}: {e!r}")
    for rel, data in sorted(tree.files.items()):
        try:
            if (mnt / rel).read_bytes() != data:
                bad.append(rel)
        except OSError as e:
            bad.append(f"{rel}: {e!r}")
    return bad


# -- the run -------------------------------------------------------------------


def run(cpp_port: int, tree: Tree, work: Path, settings: Settings) -> Report:
    """The whole run against a copyparty on ``cpp_port`` serving ``tree``."""
    s = settings
    report = Report(settings)
    schedule = Schedule(s.seed, rate=s.rate)
    proxy = FaultProxy(
        ("127.0.0.1", cpp_port),
        schedule,
        stall=s.stall or 2 * s.call_timeout,
        outage=s.outage,
        trickle_delay=s.trickle_delay,
    )
    report.proxy = proxy
    proxy.enabled.clear()  # mount and take the baseline on a quiet server
    proxy.start()
    daemon = None
    try:
        daemon = Daemon(proxy.url, work / "mnt", work / "log", s.call_timeout,
                        "-cf", str(s.cf), "-cds", str(s.cds), "-cdn", "4",
                        *(["-d"] if s.debug else []))  # fmt: skip
        os.listdir(daemon.mnt)
        threads0, sockets0, fds0 = daemon.sample()
        sampling = threading.Event()

        def sampler() -> None:
            while not sampling.wait(0.5):
                (t, k, f), (pt, pk, pf) = daemon.sample(), report.peak
                report.peak = (max(t, pt), max(k, pk), max(f, pf))

        watcher = threading.Thread(target=sampler, daemon=True)
        watcher.start()
        readers = Readers(tree, daemon.mnt, report, s.seed)
        proxy.enabled.set()
        t0 = time.monotonic()
        readers.start()
        readers.stop.wait(s.seconds)
        proxy.enabled.clear()  # the schedule ends: a plain proxy from now on
        report.seconds = time.monotonic() - t0
        stuck_readers = readers.join(settings.bound(8) + 10)
        report.stuck += [f"reader {n}" for n in stuck_readers]
        # every call the faults started is over within one bound
        time.sleep(s.call_timeout + 1)
        report.stuck += daemon.socket_waiters()
        bad = read_back(tree, daemon.mnt)
        report.readback_ok = not bad
        if bad:
            report.wrong_what += [f"read back: {b}" for b in bad[:20]]
        report.faults = proxy.counts()
        report.on_kept_alive = proxy.on_kept_alive
        report.peak_rss_kib = daemon.peak_rss_kib()
        time.sleep(s.cds + 0.5)
        sampling.set()
        watcher.join(5)
        threads1, sockets1, fds1 = daemon.sample()
        report.threads, report.sockets, report.fds = (
            (threads0, threads1), (sockets0, sockets1), (fds0, fds1)
        )  # fmt: skip
        if daemon.proc.poll() is not None:
            report.stuck.append(f"daemon exited {daemon.proc.returncode}")
        return report
    finally:
        if daemon is not None:
            daemon.stop()
            report.log_text = daemon.log_text(10_000_000)
            report.log_tail = report.log_text[-4000:]
        proxy.stop()
