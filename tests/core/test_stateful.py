"""Hypothesis drives RemoteFS like a kernel would and checks every read against the model.

Fetch-ahead is on whenever the machine picks a spawn (inline or queued): folder
copies and listings make it fetch files and listings ahead while files are
replaced on the server, and every read must still match a version.

The model is the list of versions each file had on the "server".  A read must
equal one version's slice ``data[offset:offset+size]`` (a cached listing may
legitimately show the previous version until it goes stale), and once the
filesystem has re-listed after a change it must be the newest -- unless the
handle already returned bytes of an older version: it then stays on that one
or fails with EIO, so a reader never gets two versions' bytes.  Invariants
after every step: cached memory within ``-cf`` * 1 MiB, at most ``-cf`` blocks.

The files are served by a ``Served`` the machine class names: MemoryTransport
(fast, so most examples), or a fake copyparty or nginx (fakes/servers.py)
read through the real HttpTransport (both machines, fetch-ahead too), so the
same rules prove the HTTP layer never hands the core bytes of the wrong
version or range either.
"""

from __future__ import annotations

import errno
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hypothesis import event, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
)

from fakes.clock import FakeClock
from partyfuse.core.blockcache import MIN_CHARGE
from partyfuse.core.errors import FsError
from partyfuse.core.prefetch import CONCURRENCY
from tests.support.fs import KiB, MiB, make_fs
from tests.support.served import MemoryServed, Served, http_served

FILE_SIZES = [0, 1, 64 * KiB - 1, 64 * KiB, 64 * KiB + 1, MiB - 1, MiB, MiB + 1]
FILE_SIZES += [2 * MiB - 1, 2 * MiB, 2 * MiB + 1, 8 * MiB - 1, 8 * MiB + 1]
READ_SIZES = [4 * KiB, 64 * KiB, 128 * KiB, 1, 4095, 4097, 65537, 12345, 131071, MiB]
NAMES = ["a", "d/b", "d/h", "d/e/c"]
TTL = 1.0


def _bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


@dataclass
class OpenFile:
    name: str
    fh: int
    pos: int = 0
    fs_generation: int = 0
    versions: set[int] | None = None
    """Indexes of the versions its bytes so far match (None: nothing returned yet)."""


@dataclass
class Model:
    versions: dict[str, list[bytes]] = field(default_factory=dict)
    settled: set[str] = field(default_factory=set)
    """Files the filesystem has re-listed since their last change: reads must be the newest."""


class RemoteFSMachine(RuleBasedStateMachine):
    handles = Bundle("handles")
    #: Serves the files: (files, clock, unknown sizes) -> Served.
    serve: ClassVar[Callable[[dict[str, bytes], FakeClock, bool], Served]] = MemoryServed

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.model = Model()
        self.jobs: list[Callable[[], None]] = []
        self.generation = 0

    @initialize(
        sizes=st.lists(st.sampled_from(FILE_SIZES), min_size=len(NAMES), max_size=len(NAMES)),
        seed=st.integers(0, 2**16),
        unknown=st.booleans(),
        file_blocks=st.sampled_from([0, 1, 2, 5, 12]),
        dir_max=st.sampled_from([0, 1, 24]),
        spawn=st.sampled_from(["none", "inline", "queued"]),
    )
    def setup(
        self,
        sizes: list[int],
        seed: int,
        unknown: bool,
        file_blocks: int,
        dir_max: int,
        spawn: str,
    ) -> None:
        files = {
            name: _bytes(size, seed + i)
            for i, (name, size) in enumerate(zip(NAMES, sizes, strict=True))
        }
        self.model.versions = {name: [data] for name, data in files.items()}
        self.model.settled = set(files)
        self.served = type(self).serve(files, self.clock, unknown)
        self.spawn_mode = spawn
        self.dir_max = dir_max
        self._build(file_blocks)

    def _build(self, file_blocks: int) -> None:
        self.generation += 1
        self.jobs.clear()
        spawn: Callable[[Callable[[], None]], None] | None = None
        if self.spawn_mode == "inline":
            spawn = self._run_now
        elif self.spawn_mode == "queued":
            spawn = self.jobs.append
        self.file_blocks = file_blocks
        self.fs = make_fs(
            self.served.transport,
            clock=self.clock,
            spawn=spawn,
            dir_max=self.dir_max,
            dir_ttl=TTL,
            file_blocks=file_blocks,
        )
        note(f"fs: -cf {file_blocks} -cdn {self.dir_max} spawn={self.spawn_mode}")

    @staticmethod
    def _run_now(job: Callable[[], None]) -> None:
        job()

    # ---- checking reads --------------------------------------------------

    def _check(self, name: str, offset: int, size: int, got: bytes) -> None:
        versions = self.model.versions[name]
        allowed = versions[-1:] if name in self.model.settled else versions
        expected = [v[offset : offset + size] for v in allowed]
        # compare without handing megabyte operands to pytest's assertion rewriting
        # (it would repr them for every failing example hypothesis shrinks)
        matches = any(got == e for e in expected)
        assert matches, f"read {name} [{offset}:+{size}] got {len(got)} bytes matching no version"
        assert all(0 <= start < end for start, end in self.served.ranges_asked())

    def _read(self, handle: OpenFile, size: int, offset: int) -> bytes | None:
        """A read through ``handle``, checked; None when it failed as promised
        (EIO: the version it had returned bytes of changed on the server)."""
        versions = self.model.versions[handle.name]
        try:
            got = self.fs.read("/" + handle.name, size, offset, handle.fh)
        except FsError as e:
            pinned = handle.versions
            if e.errno == errno.EIO and pinned and min(pinned) < len(versions) - 1:
                return None
            raise
        if handle.versions is None:
            self._check(handle.name, offset, size, got)
            if got:
                handle.versions = {
                    i for i, v in enumerate(versions) if v[offset : offset + size] == got
                }
            return got
        match = {i for i in handle.versions if versions[i][offset : offset + size] == got}
        assert match, f"read {handle.name} [{offset}:+{size}] mixed two versions"
        handle.versions = match
        return got

    # ---- rules -----------------------------------------------------------

    @rule(target=handles, name=st.sampled_from(NAMES))
    def open_file(self, name: str) -> OpenFile:
        fh = self.fs.open("/" + name, os.O_RDONLY)
        # opening lists the parent when stale: the handle now sees the newest version
        return OpenFile(name, fh, 0, self.generation)

    def _live(self, handle: OpenFile) -> bool:
        return handle.fs_generation == self.generation

    @rule(handle=handles, size=st.sampled_from(READ_SIZES))
    def read_sequential(self, handle: OpenFile, size: int) -> None:
        if not self._live(handle):
            return
        got = self._read(handle, size, handle.pos)
        if got is None:
            return
        handle.pos += len(got)

    @rule(handle=handles, size=st.sampled_from(READ_SIZES))
    def read_backward(self, handle: OpenFile, size: int) -> None:
        if not self._live(handle):
            return
        offset = max(0, handle.pos - size)
        if self._read(handle, size, offset) is not None:
            handle.pos = offset

    @rule(handle=handles, size=st.sampled_from(READ_SIZES), where=st.integers(0, 1000))
    def read_random(self, handle: OpenFile, size: int, where: int) -> None:
        if not self._live(handle):
            return
        span = len(self.model.versions[handle.name][-1]) + 64 * KiB
        offset = where * span // 1000
        got = self._read(handle, size, offset)
        if got is not None:
            handle.pos = offset + len(got)

    @rule(
        handle=handles,
        size=st.sampled_from(READ_SIZES),
        where=st.integers(0, 1000),
        fault=st.sampled_from(["transient", "short", "forbidden"]),
    )
    def read_through_a_fault(self, handle: OpenFile, size: int, where: int, fault: str) -> None:
        """A failed fetch is a clean errno, poisons nothing, and the retry is exact."""
        if not self._live(handle):
            return
        span = len(self.model.versions[handle.name][-1]) + 1
        offset = where * span // 1000
        self.served.break_next_read(handle.name, fault)
        try:
            self._read(handle, size, offset)
        except FsError as e:
            assert e.errno == (errno.EACCES if fault == "forbidden" else errno.EIO)
        self.served.clear_faults()
        got = self._read(handle, size, offset)
        if got is not None:
            handle.pos = offset + len(got)

    @rule(handle=consumes(handles))
    def release(self, handle: OpenFile) -> None:
        if self._live(handle):
            self.fs.release("/" + handle.name, handle.fh)

    @rule(seconds=st.sampled_from([0.1, 0.5, TTL, 3 * TTL]))
    def advance_clock(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule(name=st.sampled_from(NAMES))
    def getattr_after_ttl(self, name: str) -> None:
        """Past the TTL a getattr re-lists: the size is the newest and reads follow it."""
        self.clock.advance(TTL)
        assert self.fs.getattr("/" + name).size == len(self.model.versions[name][-1])
        self.model.settled.add(name)

    @rule(directory=st.sampled_from(["", "d", "d/e"]))
    def list_directory(self, directory: str) -> None:
        """readdir shows every name; a size it shows is exact (unknown ones are None)."""
        prefix = directory + "/" if directory else ""
        listed = dict(self.fs.readdir("/" + directory))
        files = {
            n[len(prefix) :] for n in NAMES if n.startswith(prefix) and "/" not in n[len(prefix) :]
        }
        dirs = {n[len(prefix) :].split("/")[0] for n in NAMES if n.startswith(prefix)} - files
        assert set(listed) == files | dirs
        for name in files:
            attrs = listed[name]
            if attrs is not None:
                sizes = {len(v) for v in self.model.versions[prefix + name]}
                assert not attrs.is_dir and attrs.size in sizes
        assert all(listed[d] is not None and listed[d].is_dir for d in dirs)  # type: ignore[union-attr]

    @rule(name=st.sampled_from(NAMES), size=st.sampled_from(FILE_SIZES), seed=st.integers(0, 99))
    def replace_on_server(self, name: str, size: int, seed: int) -> None:
        data = _bytes(size, 10_000 + seed + len(self.model.versions[name]))
        self.served.put(name, data)
        self.model.versions[name].append(data)
        self.model.settled.discard(name)

    @rule(
        handle=handles,
        size=st.sampled_from(READ_SIZES),
        where=st.integers(0, 1000),
        new_size=st.sampled_from(FILE_SIZES),
    )
    def reread_after_server_change(
        self, handle: OpenFile, size: int, where: int, new_size: int
    ) -> None:
        """Cached bytes of the old version are never served once the change was seen."""
        if not self._live(handle):
            return
        span = len(self.model.versions[handle.name][-1]) + 1
        offset = where * span // 1000
        self._read(handle, size, offset)
        self.replace_on_server(handle.name, new_size, where % 100)
        self.getattr_after_ttl(handle.name)
        got = self._read(handle, size, offset)
        if got is not None:
            handle.pos = offset + len(got)

    @rule(file_blocks=st.sampled_from([0, 1, 2, 5, 12, 24]))
    def change_cf(self, file_blocks: int) -> None:
        self._build(file_blocks)
        self.model.settled = set(self.model.versions)  # a new fs lists afresh

    @rule(
        directory=st.sampled_from(["", "d", "d/e"]),
        between=st.sampled_from(["all", "none", "one"]),
        chunk=st.sampled_from([128 * KiB, 65537]),
    )
    def copy_directory(self, directory: str, between: str, chunk: int) -> None:
        """`cp -r` of one folder: list it, read each file whole in listing order,
        with the fetch-ahead jobs (queued mode) running between files or not."""
        prefix = directory + "/" if directory else ""
        for name, _ in self.fs.readdir("/" + directory):
            path = prefix + name
            if path not in self.model.versions:
                continue  # a folder
            handle = OpenFile(path, self.fs.open("/" + path, os.O_RDONLY), 0, self.generation)
            # each read checked; EIO only as promised (its version changed on the server)
            while got := self._read(handle, chunk, handle.pos):
                handle.pos += len(got)
            self.fs.release("/" + path, handle.fh)
            if between == "all":
                self.run_readahead_jobs()
            elif between == "one" and self.jobs:
                self.jobs.pop(0)()

    @rule()
    def run_readahead_jobs(self) -> None:
        jobs, self.jobs = self.jobs[:], []
        for job in jobs:
            job()

    @rule(name=st.sampled_from(NAMES), chunk=st.sampled_from([128 * KiB, 65537, 12345]))
    def sequential_whole_file(self, name: str, chunk: int) -> None:
        """A file read front to back fetches at most ~1.1x its size (its own
        requests: files fetched ahead meanwhile are other files)."""
        self.clock.advance(TTL)
        self.fs.getattr("/" + name)
        self.model.settled.add(name)
        data = self.model.versions[name][-1]
        before = self.served.bytes_requested(name)
        fh = self.fs.open("/" + name, os.O_RDONLY)
        out = bytearray()
        while piece := self.fs.read("/" + name, chunk, len(out), fh):
            out += piece
        self.fs.release("/" + name, fh)
        same = bytes(out) == data
        assert same, f"sequential read of {name} differs ({len(out)} of {len(data)} bytes)"
        fetched = self.served.bytes_requested(name) - before
        note(f"sequential {name}: {len(data)} bytes, fetched {fetched}")
        ratio_ok = fetched <= 1.1 * len(data)
        assert ratio_ok, f"fetched {fetched} bytes for a {len(data)} byte file"

    def teardown(self) -> None:
        if hasattr(self, "served"):
            self.served.close()
        if hasattr(self, "fs"):
            # how often a run fetched ahead (shown by --hypothesis-show-statistics)
            event(f"fetched ahead: {self.fs.stats.prefetch_files > 0}")
            event(f"listed ahead: {self.fs.stats.prefetch_lists > 0}")

    # ---- invariants --------------------------------------------------------

    @invariant()
    def cache_stays_within_its_bound(self) -> None:
        if not hasattr(self, "fs"):
            return
        assert self.fs.cached_bytes <= self.file_blocks * MiB
        # the bound counts bytes; each block costs at least MIN_CHARGE of it
        assert self.fs.cached_charge <= self.file_blocks * MiB
        assert self.fs.cached_blocks <= self.file_blocks * MiB // MIN_CHARGE
        assert self.fs.cache_bound == self.file_blocks * MiB

    @invariant()
    def fetch_ahead_stays_within_its_cap(self) -> None:
        if not hasattr(self, "fs"):
            return
        assert len(self.fs._prefetch.policy.inflight) <= CONCURRENCY


RemoteFSMachine.TestCase.settings = settings(stateful_step_count=25)
TestRemoteFS = RemoteFSMachine.TestCase


SMALL_SIZES = [1, 4095, 64 * KiB, 100 * KiB + 7, MiB - 1, MiB]


class PrefetchMachine(RemoteFSMachine):
    """The same rules where fetch-ahead always runs: sizes exact and mostly
    small, a spawn always given, so folder copies fetch the next files ahead
    while the server replaces them."""

    @initialize(
        sizes=st.lists(
            st.sampled_from(SMALL_SIZES + [2 * MiB + 1]),
            min_size=len(NAMES),
            max_size=len(NAMES),
        ),
        seed=st.integers(0, 2**16),
        file_blocks=st.sampled_from([1, 2, 5, 12]),
        dir_max=st.sampled_from([1, 2, 24]),
        spawn=st.sampled_from(["inline", "queued"]),
    )
    def setup(  # type: ignore[override]
        self, sizes: list[int], seed: int, file_blocks: int, dir_max: int, spawn: str
    ) -> None:
        super().setup.__wrapped__(  # type: ignore[attr-defined]
            self, sizes, seed, False, file_blocks, dir_max, spawn
        )

    # more ways to copy and walk, so hypothesis picks them often

    @rule(between=st.sampled_from(["all", "none", "one"]), replace=st.booleans())
    def copy_d_while_replaced(self, between: str, replace: bool) -> None:
        """Files fetched ahead, then replaced on the server before they are read."""
        self.copy_directory("d", between, 65537)
        if replace:
            self.replace_on_server("d/h", 100 * KiB + 7, 1)
            self.replace_on_server("d/b", 4095, 2)
        self.run_readahead_jobs()
        self.copy_directory("d", between, 128 * KiB)

    @rule(between=st.sampled_from(["all", "none", "one"]))
    def copy_d(self, between: str) -> None:
        self.copy_directory("d", between, 128 * KiB)

    @rule(between=st.sampled_from(["all", "one"]))
    def walk_tree(self, between: str) -> None:
        """`find`: list every folder top-down, the fetch-ahead jobs running between."""
        for directory in ["", "d", "d/e"]:
            self.list_directory(directory)
            if between == "all":
                self.run_readahead_jobs()
            elif self.jobs:
                self.jobs.pop(0)()


PrefetchMachine.TestCase.settings = settings(stateful_step_count=25)
TestRemoteFSWithPrefetch = PrefetchMachine.TestCase


#: Each HTTP example starts a server and moves megabytes through it: fewer of them
#: (the memory machines explore the core; these prove the HTTP layer keeps to it).
HTTP_EXAMPLES = max(1, settings.default.max_examples // 10)


def over_http(machine: type[RemoteFSMachine], kind: str) -> Any:
    """The TestCase of ``machine`` with its files on a fake ``kind`` server
    (fakes/servers.py), read through HttpTransport, with HTTP_EXAMPLES examples."""
    served = type(f"{machine.__name__}Over{kind}", (machine,), {"serve": http_served(kind)})
    served.TestCase.settings = settings(stateful_step_count=25, max_examples=HTTP_EXAMPLES)
    return served.TestCase


TestRemoteFSOverCopyparty = over_http(RemoteFSMachine, "cpp")
TestRemoteFSOverNginx = over_http(RemoteFSMachine, "nginx")
TestRemoteFSWithPrefetchOverCopyparty = over_http(PrefetchMachine, "cpp")
TestRemoteFSWithPrefetchOverNginx = over_http(PrefetchMachine, "nginx")
