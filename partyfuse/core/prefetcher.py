"""Running the fetch-ahead jobs ``prefetch.Prefetch`` plans, through the injected ``spawn``.

The filesystem tells this class what the program did (``saw_readdir``,
``saw_open``, ``released``); each signal asks the policy for jobs and hands
them to ``spawn``.  Nothing here blocks a foreground call: planning is a few
dictionary looks under the filesystem's lock, ``spawn`` only queues, and a
job does its transport call with the lock released.

Consistency rides on what the core already guarantees:

- a file fetched ahead lands in the block cache tied to the ``FileVersion``
  of the listing entry it was fetched for (and the transport refuses another
  version: ``Changed``), and only if the dir cache still shows that version
  when it lands; a read asks the cache for its own handle's version, and a
  listing that shows another version drops the blocks (``Namespace.seen``), so
  bytes fetched ahead are served only while the listing still matches them;
- a file job is announced to the ``Fetcher`` like a read-ahead (a ``Pending``
  whose gate the job holds while it fetches), so a read that needs the file
  meanwhile waits for it instead of fetching it twice, and a job that finds
  the file cached or being read skips it;
- a listing job holds a gate too: a foreground listing of the same folder
  waits for it instead of listing twice; the listing enters the dir cache with
  the time it was asked (``-cds`` counts from then) and goes through the same
  ``store`` as a foreground one (drops blocks of changed or deleted files).

When the transport fetches several files in one request (``BatchTransport``:
copyparty's tar of chosen files), the policy groups the small files of one
folder into batches and a batch runs as one job: each of its files is still
announced and gated on its own and lands by the same rule as a single file
(the version it was asked for, only while the listing still shows it); a file
the batch did not bring (changed, cut short) has its gate opened and is left
to the foreground read.

A job that fails is logged at debug level and forgotten for a while; the
foreground call that needs the same thing meets the error itself.

Memory: what the jobs hold is counted in the policy's budgets (file bytes in
flight count against half the block cache; listings against the dir cache less
the walker's share, pinned there until used), so fetch-ahead adds no bound of
its own beyond at most ``CONCURRENCY`` listings being parsed at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from .blockcache import same_version
from .fetcher import Fetcher, Pending
from .handles import STREAM_IDLE
from .model import Entry
from .prefetch import BATCH_MAX, SMALL_FILE_MAX, FileJob, Job, ListJob, Prefetch, list_room
from .shared import Shared
from .spans import Span
from .walk import parent_of

log = logging.getLogger(__name__)

#: Seconds an idle policy goes without its listings ahead and the streams
#: being checked again (a listing going stale, a stream ending: neither is
#: urgent, and anything the program does plans at once).
RECHECK = 1.0
#: Seconds between looks at whether the listings fetched ahead are still
#: fresh.  One gone stale meanwhile only holds its place in the room (and its
#: pin) a little longer; looking at every plan, twice per folder a walk lists,
#: was two thirds of the dir cache lookups a ``find`` cost.
AHEAD_RECHECK = 0.25

Store = Callable[[str, list[Entry], float], object]
"""Keeps a listing of a folder asked for at a time (``Namespace.store``)."""


class _ListGate:
    __slots__ = ("gate", "started", "claimed")

    def __init__(self, gate: AbstractContextManager[Any]) -> None:
        self.gate = gate
        self.started = False
        self.claimed = False
        """The program asked for the folder before the job started, and lists it itself."""


class Prefetcher:
    def __init__(self, shared: Shared, fetcher: Fetcher, store: Store) -> None:
        self.policy = Prefetch()
        self._shared = shared
        self._fetcher = fetcher
        self._store = store
        self._listing: dict[str, _ListGate] = {}
        self._evictions = -1
        self._full_due = float("-inf")
        self._ahead_due = float("-inf")

    # ---- what the program did (call without the lock) --------------------

    def saw_readdir(self, path: str) -> None:
        if self._shared.spawn is None:
            return
        with self._shared.lock:
            self.policy.saw_readdir(path, self._shared.clock())
            self._shared.dirs.unpin(path)
        self.pump()

    def saw_open(self, path: str, entry: Entry) -> None:
        if self._shared.spawn is None:
            return
        with self._shared.lock:
            held = self._held(path, entry)
            if self.policy.saw_open(path, self._shared.clock(), held):
                self._shared.stats.prefetch_used += 1
        self.pump()

    # ---- what the filesystem asks (under the lock) -----------------------

    def listing_used(self, path: str) -> None:
        """A held listing answered a foreground call.  Call under the lock."""
        self.policy.saw_listing_used(path)
        self._shared.dirs.unpin(path)

    def released(self, path: str, version: Any, still_open: bool) -> None:
        """A handle on ``path`` closed: a file fetched ahead and read goes first
        out of the cache (a copy does not read it again; drop-behind, as for
        streams), so it never pushes out files fetched ahead and not read yet.
        Call under the lock."""
        if still_open or path not in self.policy.consumed:
            return
        del self.policy.consumed[path]
        self._shared.blocks.demote(path, [s for s, _ in self._shared.blocks.spans(path, version)])

    def listing_gate(self, path: str) -> AbstractContextManager[Any] | None:
        """The gate of a listing of ``path`` being fetched ahead right now, if
        any: wait on it instead of listing again.  Call under the lock."""
        held = self._listing.get(path)
        if held is None:
            return None
        if not held.started:
            # still queued behind other jobs: the caller lists the folder now
            # and the job, when its turn comes, does not list it a second time
            held.claimed = True
            return None
        return held.gate

    # ---- jobs ------------------------------------------------------------

    def pump(self) -> None:
        """Start the jobs the policy wants now.  Never blocks on the network."""
        if self._shared.spawn is None:
            return
        with self._shared.lock:
            planned = self._plan()
        batches: dict[int, list[tuple[FileJob, Pending]]] = {}
        for job, token in planned:
            if isinstance(job, FileJob) and job.batch:
                batches.setdefault(job.batch, []).append((job, token))
            else:
                self._start(job, token)
        for members in batches.values():
            if len(members) == 1:
                self._start(*members[0])  # one file: a plain request is cheaper
            else:
                self._start_batch(members)

    def _plan(self) -> list[tuple[Job, Any]]:
        shared, policy = self._shared, self.policy
        now = shared.clock()
        blocks, dirs = shared.blocks, shared.dirs
        if policy.idle() and blocks.evictions == self._evictions and now < self._full_due:
            # nothing happened that a plan could act on: skip the checks below
            # too (each listing held ahead, every handle), which cost more than
            # the plan itself on every open of a cached file
            return []
        self._full_due = now + RECHECK
        if blocks.evictions != self._evictions:
            self._evictions = blocks.evictions
            for path in policy.unread():
                if blocks.version_of(path) is None:
                    policy.forget(path, now)  # pushed out before the program opened it
        if now >= self._ahead_due:
            self._ahead_due = now + AHEAD_RECHECK
            for path in policy.ahead_dirs():
                if dirs.fresh(path, now) is None:
                    policy.forget_dir(path)
                    dirs.unpin(path)
        # a large file being streamed has read windows sized to the whole cache
        streaming = shared.handles.streaming_over(SMALL_FILE_MAX, now - STREAM_IDLE)
        file_budget = 0 if blocks.max_blocks == 0 or streaming else blocks.bound // 2
        dir_room = list_room(dirs.max_dirs)
        fresh = dirs.fresh

        def listing(path: str) -> dict[str, Entry] | None:
            return fresh(path, now)

        batch = BATCH_MAX if self._fetcher.batches() else 1
        jobs = policy.plan(
            listing, self._held, now=now, file_budget=file_budget, dir_room=dir_room, batch=batch
        )
        planned: list[tuple[Job, Any]] = []
        for job in jobs:
            if isinstance(job, FileJob):
                size = job.entry.size or 0
                _, (pending,) = self._fetcher.announce(
                    job.path, job.entry.version(), (), (Span(0, size),)
                )
                planned.append((job, pending))
            else:
                gate = self._listing[job.path] = _ListGate(self._shared.lock_factory())
                planned.append((job, gate))
        return planned

    def _held(self, path: str, entry: Entry) -> bool:
        """Whether the cache holds all of ``path`` at ``entry``'s version."""
        kept = self._shared.blocks.version_of(path)
        size = entry.size or 0
        return (
            kept is not None
            and same_version(kept, entry.version())
            and self._shared.blocks.reach(path, 0, size) >= size
        )

    def _start(self, job: Job, token: Any) -> None:
        def run() -> None:
            landed = False
            folders = False  # a listing that landed shows subfolders
            try:
                if isinstance(job, FileJob):
                    landed = self._fetch_file(job, token)
                else:
                    shown = self._list(job, token)
                    landed, folders = shown is not None, bool(shown)
            except Exception as e:  # the foreground call will meet it and report it
                log.debug("fetch-ahead of /%s failed: %r", job.path, e)
            finally:
                with self._shared.lock:
                    self.policy.finished(job, landed, self._shared.clock(), folders=folders)
                    if landed and isinstance(job, ListJob):
                        # counted against the room until used: out of the LRU's reach
                        self._shared.dirs.pin(job.path)
            self.pump()

        self._shared.start(run, lambda: self._abandon(job, token))  # not started: forget it

    def _abandon(self, job: Job, token: Any) -> None:
        if isinstance(job, FileJob):
            token.gate.__enter__()  # a fresh gate: never blocks
            self._fetcher.release(job.path, [token])
        else:
            with self._shared.lock:
                self._listing.pop(job.path, None)
        with self._shared.lock:
            self.policy.finished(job, False, self._shared.clock())

    def _abandon_all(self, members: list[tuple[FileJob, Pending]]) -> None:
        for job, pending in members:
            self._abandon(job, pending)

    def _current(self, path: str, entry: Entry) -> bool:
        """Whether the dir cache still shows ``entry``'s version of ``path``.
        Call under the lock."""
        folder = parent_of(path)
        held = None if folder is None else self._shared.dirs.peek(folder)
        seen = None if held is None else held.get(entry.name)
        return seen is not None and same_version(entry.version(), seen.version())

    def _wanted(self, job: FileJob, pending: Pending) -> bool:
        """Whether ``job``'s file is still worth fetching: nobody else is, the
        listing still shows its version and the cache lacks it.  Call under the lock."""
        pending.started = True
        path, entry = job.path, job.entry
        busy = any(
            p.started and p is not pending for p in self._fetcher.pending(path, pending.version)
        )
        return not busy and self._current(path, entry) and not self._held(path, entry)

    def _land(self, job: FileJob, pending: Pending, data: bytes) -> bool:
        """Keep a file fetched ahead, if the listing still shows the version it
        was fetched for.  Call under the lock."""
        self._shared.stats.prefetch_files += 1
        self._shared.stats.prefetch_bytes += len(data)
        kept = self._shared.blocks.version_of(job.path)
        if not self._current(job.path, job.entry) or kept not in (None, pending.version):
            return False  # another version was seen meanwhile
        self._shared.blocks.insert(job.path, pending.version, 0, data)
        return True

    def _fetch_file(self, job: FileJob, pending: Pending) -> bool:
        path, entry = job.path, job.entry
        size = entry.size or 0
        pending.gate.__enter__()  # a fresh gate: never blocks
        try:
            with self._shared.lock:
                wanted = self._wanted(job, pending)
            if not wanted:
                return False
            log.debug("fetch-ahead /%s (%d bytes)", path, size)
            data = self._fetcher.fetch(path, entry, Span(0, size), "prefetch")
            with self._shared.lock:
                return self._land(job, pending, data)
        finally:
            self._fetcher.release(path, [pending])

    # ---- batches ---------------------------------------------------------

    def _start_batch(self, members: list[tuple[FileJob, Pending]]) -> None:
        def run() -> None:
            landed: set[str] = set()
            try:
                self._fetch_batch(members, landed)
            except Exception as e:  # what did not land is read in the foreground
                log.debug("fetch-ahead batch in /%s failed: %r", parent_of(members[0][0].path), e)
            finally:
                with self._shared.lock:
                    now = self._shared.clock()
                    for job, _ in members:
                        self.policy.finished(job, job.path in landed, now)
            self.pump()

        self._shared.start(run, lambda: self._abandon_all(members))  # not started: forget them

    def _fetch_batch(self, members: list[tuple[FileJob, Pending]], landed: set[str]) -> None:
        """One request for the files of ``members`` (one folder); each gate is
        opened as soon as its file landed, and every gate by the end."""
        for _, pending in members:
            pending.gate.__enter__()  # fresh gates: never block
        waiting = {job.entry.name: (job, pending) for job, pending in members}
        try:
            with self._shared.lock:
                skip = [name for name, (job, p) in waiting.items() if not self._wanted(job, p)]
            for name in skip:
                job, pending = waiting.pop(name)
                self._fetcher.release(job.path, [pending])
            if not waiting:
                return
            folder = parent_of(members[0][0].path) or ""
            asked = [job.entry for job, _ in waiting.values()]
            log.debug("fetch-ahead batch of %d files in /%s", len(asked), folder)
            files = self._fetcher.read_files(folder, asked)
            for entry, data in files:
                held = waiting.get(entry.name)
                if held is None or held[0].entry != entry:
                    continue
                job, pending = waiting.pop(entry.name)
                log.debug("fetch-ahead /%s (%d bytes, batched)", job.path, len(data))
                try:
                    with self._shared.lock:
                        self._shared.stats.bytes_fetched += len(data)
                        if len(data) == (entry.size or 0) and self._land(job, pending, data):
                            landed.add(job.path)
                finally:
                    self._fetcher.release(job.path, [pending])
        finally:
            for job, pending in waiting.values():
                self._fetcher.release(job.path, [pending])

    def _list(self, job: ListJob, gate: _ListGate) -> bool | None:
        """List a folder ahead: whether it shows subfolders, None if it did not land."""
        path = job.path
        gate.gate.__enter__()  # a fresh gate: never blocks
        try:
            with self._shared.lock:
                if gate.claimed:
                    return None
                gate.started = True
                held = self._shared.dirs.fresh(path) is not None
            if held:
                return None
            log.debug("list ahead /%s", path)
            asked_at = self._shared.clock()
            entries = self._fetcher.list_dir(path)
            with self._shared.lock:
                self._shared.stats.prefetch_lists += 1
            self._store(path, entries, asked_at)
            return any(e.is_dir for e in entries)
        finally:
            with self._shared.lock:
                if self._listing.get(path) is gate:
                    del self._listing[path]
            gate.gate.__exit__(None, None, None)
