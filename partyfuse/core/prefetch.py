"""What to fetch ahead across files and folders: plain decisions, no IO.

``cp -r``, ``tar``, ``rsync``, ``find`` and photo viewers list a folder, then
open its files (or list its subfolders) one after another, and each of those
costs one round trip when nothing is fetched ahead: over a 30 ms link that is
~30 files or folders a second, whatever the bandwidth.  This module watches
what the filesystem is asked (``saw_readdir``, ``saw_open``) and answers, when
asked to ``plan``, which folder listings and which whole small files to fetch
now; ``partyfuse.core.prefetcher`` runs those jobs through the injected
``spawn`` and tells it when they are done.

Signals (a *walk* is a chain of folders the program itself listed):

- folders: a folder ``D/S`` listed while ``D`` was listed a moment before
  (``WALK_MEMORY``) means a walk is under way; the folders the walker will list
  next, in depth-first pre-order from where it is (its subfolders, then the
  folders after it, never above the top folder of the walk), are listed ahead,
  the nearest first.  A listing that lands reveals more subfolders, so the
  frontier moves on as the walker does.
- files: a file opened in a folder the program listed means the program is
  going through that folder; the next ``FILE_WINDOW`` files after it, in
  listing order and then through the folders after it in walk order, are
  fetched whole, the nearest first.  Only files with an exact size of at most
  ``SMALL_FILE_MAX`` (1 MiB) are fetched, in one request each: that is where a
  round trip per file dominates; a larger file is read by a stream whose
  windows grow (``readplan``), where one saved round trip matters little and
  its bytes would take a large share of the budget.

Bounds (the caller passes the budgets, this module keeps the counts):

- at most ``CONCURRENCY`` jobs in flight per mount (listings take at most half
  of them while files are wanted too, so a deep tree does not starve a copy);
- file bytes fetched ahead and not opened yet, plus those in flight, at most
  ``file_budget`` (the filesystem passes half the block cache, or 0 while a
  large file is being streamed, whose windows the planner sized to the whole
  cache);
- listings fetched ahead and not used yet, plus those in flight, at most
  ``dir_room`` (``list_room``: the dir cache less ``WALKER_DIRS`` listings, or
  half of it when it is small, at most ``LIST_AHEAD_MAX``), so they never push
  out the listings the walker is using, and the dir cache pins them until used
  so the walker's own listings do not push them out either;
- what this module remembers is bounded too (``MEMORY`` paths of each kind).

One module of about 450 lines, on purpose: the listing policy
(``_plan_lists``) and the file policy (``_plan_files``) share every count
(slots, jobs in flight, what the program did and when), which a split would
pass back and forth; the walk order both follow is ``walk``'s, pure.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .blockcache import charge
from .model import Entry
from .walk import Listing, files_after, parent_of, walk_order

#: Most prefetch jobs in flight per mount (the spawner needs this many workers).
CONCURRENCY = 8
#: How many files ahead of the one being read are considered.
FILE_WINDOW = 32
#: Files larger than this are never fetched ahead.
SMALL_FILE_MAX = 1 << 20
#: Most files of one folder in one batch (when the transport fetches several
#: files in one request: copyparty's tar of chosen files).  With batches the
#: window is twice this, and a batch the window cut short is started only when
#: it holds at least half this many: otherwise each file opened would start a
#: batch of one, which is a plain request again.
BATCH_MAX = 64
#: Most listings fetched ahead and not used yet, whatever -cdn allows: also the
#: most requests a walk that stops leaves unused.  Not 16, as it was: on a 30 ms
#: link a ``find`` over a bushy tree (1,555 folders, fanout 6) kept that room
#: full of listings the walker had not reached, with half the slots idle; with
#: ``-cdn 48`` (room 40) it took 8.2 s instead of 12.9.
LIST_AHEAD_MAX = 64
#: Listings of the dir cache left to the walker's own (its folder and the ones
#: above it): at least this many, or half the cache when it is smaller.
WALKER_DIRS = 8


def list_room(max_dirs: int) -> int:
    """How many listings fetched ahead and not used yet ``-cdn max_dirs`` allows."""
    return min(LIST_AHEAD_MAX, max(max_dirs // 2, max_dirs - WALKER_DIRS))


#: Seconds a program's readdir (or open) still counts as part of a walk, and a
#: file fetched ahead but never opened still counts against the budget.
WALK_MEMORY = 30.0
#: Files a program may open that were fetched ahead before the file window is
#: scanned again, while the budget is not what stopped the last scan: each such
#: open moves the window by one file, which cannot make a batch (at least half
#: of ``BATCH_MAX``) and adds one job at most, so scanning up to ``2 *
#: BATCH_MAX`` files on every open (a tenth of the daemon's time in a ``cp -r``
#: on loopback) bought nothing.  An open of a file not fetched ahead (the
#: program caught up, or went elsewhere), or any open while the budget is full
#: (it frees room), plans at once.
REPLAN_OPENS = 8
#: Most paths remembered of each kind (listed, opened, walks).
MEMORY = 4096
MAX_WALKS = 4

V = TypeVar("V")


@dataclass(frozen=True)
class ListJob:
    path: str


@dataclass(frozen=True)
class FileJob:
    path: str
    entry: Entry
    """The listing's description of the version to fetch (exact size)."""
    batch: int = 0
    """0: fetched alone; else the batch (one request, one folder, one slot) it is part of."""


Job = ListJob | FileJob
Held = Callable[[str, Entry], bool]
"""Whether the block cache holds a whole file at a listing entry's version."""


@dataclass
class _Walk:
    at: str | None = None
    """The folder the walker listed last (None: only files are being read)."""
    reader: str | None = None
    """The file the program opened last in this walk."""
    seen: float = 0.0


Walks = list[tuple[str, _Walk]]
"""Walks under way by top folder, most recent first."""


class Prefetch:
    """The policy's memory; not thread-safe (the filesystem holds its lock)."""

    def __init__(self) -> None:
        self._listed: OrderedDict[str, float] = OrderedDict()
        """Folders the program listed (readdir), with when."""
        self._opened: OrderedDict[str, float] = OrderedDict()
        """Files the program opened, with when: not fetched ahead again for a while."""
        self._tried: OrderedDict[str, float] = OrderedDict()
        """Paths whose job came to nothing (failed, or its result was dropped):
        not tried again for a while, so a failing server is not hammered and the
        foreground read meets the error itself."""
        self._walks: OrderedDict[str, _Walk] = OrderedDict()
        """Walks under way, by top folder, most recent last."""
        self.inflight: dict[str, Job] = {}
        self._unread: dict[str, tuple[int, float]] = {}
        """Files fetched ahead and not opened yet: charged bytes, when they landed."""
        self._ahead_dirs: dict[str, float] = {}
        """Folders listed ahead and not used yet, with when they landed."""
        self._expired_at = float("-inf")
        self._lists_idle = False
        self._lists_need_room = False
        """The last list scan stopped only because the listings ahead filled the
        room: one landing does not change that (it moves from in flight to
        ahead), the walker using one does."""
        self._lists_need_slot = False
        """The last list scan stopped for want of a slot: any job ending frees one."""
        self._lists_at_limit = False
        """The last list scan stopped at its look limit, which moves with the walker."""
        self._used_ahead: str | None = None
        """The last folder listed ahead that the walker used: its readdir follows."""
        self._lists_cut_at: str | None = None
        """The first folder the last list scan found due and left unlisted for
        want of room: the walker reaching a folder beside it (or above it) is
        heading for it, so the room it frees goes to it at once."""
        self._lists_seen: set[str] = set()
        """Folders the last list scan saw listed, so looked into: the walker
        reaching one shows that scan nothing new.  A folder past its view (an
        order the dir cache cut, a listing landed since) is news."""
        self._room_freed = 0
        """Listings ahead used since the last list scan."""
        self._refill = 1
        """Listings ahead used that make a scan worth it when the room cut the
        last one: a quarter of the room (a scan per listing used found one
        folder to list each time, with three quarters of the room still ahead)."""
        self._files_idle = False
        """A scan found nothing to start and nothing has happened since that could
        change that (the common case when a job lands with the window full): the
        next plan skips it, so a landing costs no walk through the listings."""
        self._budget_seen = -1
        self._opens_unplanned = 0
        """Opens of files fetched ahead since the file window was last scanned."""
        self._replan_opens = REPLAN_OPENS
        """Opens that move the window enough for a scan: with batches, a quarter
        of its files (a batch starts with at least half a batch of them)."""
        self._budget_full = False
        """The last scan stopped at the budget: each file opened frees room."""
        self._window_full = False
        """The last scan filled every reader's file window: a new listing changes
        what comes next only a little, so it waits for the next scan an open
        asks for (a scan per folder listed was a third of them in a ``cp -r``)."""
        self._ready: deque[tuple[str, Entry]] = deque()
        """Files the last scan found due but had no slot for, in its order: a
        job that lands frees a slot for the next of them without a new scan
        (a scan per landing was most of the policy's time in a ``cp -r`` on
        loopback).  Each is checked again when taken; anything that could
        change the order clears them and the next plan scans."""
        self._batches = 0
        self.consumed: OrderedDict[str, None] = OrderedDict()
        """Files fetched ahead and then opened (their blocks go first once released)."""

    # ---- what the filesystem saw ----------------------------------------

    def _stir(self) -> None:
        self._lists_idle = False
        self._rescan_files()

    def _stir_lists(self) -> None:
        """A listing came or was used: the walks go on from it, and the file
        window too unless the last scan filled it."""
        self._lists_idle = False
        if not self._window_full:
            self._rescan_files()

    def _rescan_files(self) -> None:
        self._files_idle = False
        self._ready.clear()

    def idle(self) -> bool:
        """Whether the last plan found nothing to start and nothing has
        happened since that could change that (a plan now returns no job,
        unless time alone expired something)."""
        return self._lists_idle and self._files_idle

    def saw_readdir(self, path: str, now: float) -> None:
        """The program listed ``path``.  A folder listed ahead is no news: the
        walker moved on within what the last scan saw, which, unless room or
        its look limit cut it, found all there was (a find on loopback ran a
        scan per folder this way, and most found nothing); any other folder
        is: a new walk, or a listing the program made itself, whose folders
        and files are new to every window."""
        if self._ahead_dirs.pop(path, None) is not None:
            self._used_listing_ahead(path)
        elif path != self._used_ahead:
            self._stir_lists()
        self._used_ahead = None
        _remember(self._listed, path, now)
        root = self._root(path, now)
        if root != path:
            self._walk(root, now).at = path

    def saw_listing_used(self, path: str) -> None:
        """A held listing answered the program (a lookup in it, a readdir).
        One listed ahead frees room; it adds no file to any window, which
        moves only as files are opened."""
        if self._ahead_dirs.pop(path, None) is not None:
            self._used_ahead = path
            self._used_listing_ahead(path)

    def _used_listing_ahead(self, path: str) -> None:
        """The walker reached ``path``, listed ahead: plan again only if the
        last list scan could find more now (see ``saw_readdir``)."""
        self._room_freed += 1
        if (
            path not in self._lists_seen
            or self._lists_at_limit
            or (
                self._lists_need_room
                and (self._room_freed >= self._refill or _beside(path, self._lists_cut_at))
            )
        ):
            self._lists_idle = False

    def saw_open(self, path: str, now: float, held: bool = False) -> bool:
        """A file was opened; returns whether it had been fetched ahead.

        Only the file window can change (listings ahead follow readdir), and
        it is scanned again at once on a miss (a file neither fetched ahead
        nor in flight: the program went elsewhere), else every
        ``REPLAN_OPENS`` (a quarter of the window with batches).  A file in
        flight is not a miss: with batches on loopback the program keeps
        catching up with the batch being fetched.
        ``held``: the cache has the whole file already (read before, or
        fetched ahead earlier), so the program is not ahead of the fetches and
        the open is planned like a hit (a re-copy of a cached folder scanned
        the window on every open: a quarter of the daemon's time)."""
        _remember(self._opened, path, now)
        folder = parent_of(path)
        if folder is not None and self._recent(folder, now):
            walk = self._walk(self._root(folder, now), now)
            if walk.reader is None:
                self._rescan_files()  # the walk's first file: its window is new
            walk.reader = path
        hit = self._unread.pop(path, None) is not None
        if not hit and not held and path not in self.inflight:
            self._rescan_files()
            return False
        if hit:
            _remember(self.consumed, path, None)
        self._opens_unplanned += 1
        if self._budget_full or self._opens_unplanned >= self._replan_opens:
            self._rescan_files()
        return hit

    def forget(self, path: str, now: float) -> None:
        """``path``'s blocks fetched ahead are gone (evicted, or another version seen)."""
        if self._unread.pop(path, None) is not None:
            _remember(self._tried, path, now)
            self._stir()

    def unread(self) -> list[str]:
        return list(self._unread)

    def ahead_dirs(self) -> list[str]:
        return list(self._ahead_dirs)

    def forget_dir(self, path: str) -> None:
        """A folder listed ahead is no longer held fresh."""
        if self._ahead_dirs.pop(path, None) is not None:
            self._stir()

    # ---- jobs ------------------------------------------------------------

    def plan(
        self,
        listing: Listing,
        held: Held,
        *,
        now: float,
        file_budget: int,
        dir_room: int,
        batch: int = 1,
    ) -> list[Job]:
        """Jobs to start now (recorded as in flight until ``finished``).

        ``held(path, entry)`` says whether the block cache has that whole file
        at that version already.  ``batch`` > 1: the transport fetches up to
        that many files of one folder in one request; such file jobs share a
        ``FileJob.batch`` id and one slot, and hold at most half the budget."""
        self._expire(now)
        slots = CONCURRENCY - self._slots_used()
        if slots <= 0:
            return []
        walks = list(reversed(self._walks.items()))
        readers = any(w.reader is not None for _, w in walks) and file_budget > 0
        # listings take at most half the slots while files are wanted too
        share = CONCURRENCY // 2 if readers else CONCURRENCY
        jobs = self._plan_lists(listing, walks, now, slots, dir_room, share)
        if readers:
            jobs += self._plan_files(
                listing, held, walks, now, slots - len(jobs), file_budget, batch
            )
        elif not any(w.reader is not None for _, w in walks):
            # no walk reads files (a ``find``): only an open can change that,
            # and the first open of a walk scans (saw_open); every window is
            # full, vacuously, so listings landing leave it alone
            self._files_idle = self._window_full = True
        return jobs

    def _plan_lists(
        self, listing: Listing, walks: Walks, now: float, slots: int, room: int, share: int
    ) -> list[Job]:
        """Listings to fetch ahead: the next folders of each walk, nearest first,
        within ``room`` (listings ahead not used yet) and ``share`` (slots)."""
        jobs: list[Job] = []
        if self._lists_idle:
            return jobs
        lists_inflight = sum(isinstance(j, ListJob) for j in self.inflight.values())
        list_slots = min(slots, share - lists_inflight)
        # folders listed ahead or in flight come first in the walk order, and
        # at most ``room`` of them: looking further than a few times that
        # finds nothing the walker needs soon
        limit = 4 * room
        self._refill = max(1, room // 4)
        self._room_freed = 0
        room -= len(self._ahead_dirs) + lists_inflight
        lists_cut = False
        slots_cut = False  # a cut a job ending (a slot freed) could lift
        at_limit = False
        seen = self._lists_seen = set()
        cut_at = None  # the first folder due that the room left unlisted
        for root, walk in walks:
            if walk.at is None:
                continue
            if list_slots <= 0 and room > 0:
                lists_cut = slots_cut = True
                continue
            looks = 0
            for path, listed in walk_order(listing, walk.at, root):
                if looks >= limit:
                    at_limit = True
                    break
                looks += 1
                if listed:
                    seen.add(path)
                    continue
                if path in self.inflight or path in self._ahead_dirs:
                    continue
                if self._lately(self._tried, path, now):
                    continue
                if room <= 0 or list_slots <= 0:
                    lists_cut = True
                    slots_cut |= room > 0
                    cut_at = cut_at or path
                    break
                jobs.append(ListJob(path))
                self.inflight[path] = jobs[-1]
                room -= 1
                list_slots -= 1
        # nothing more until something changes: a slot freed (``finished``),
        # room made (the walker uses a listing ahead), a listing that shows more
        self._lists_need_room = lists_cut and not slots_cut
        self._lists_need_slot = slots_cut
        self._lists_at_limit = at_limit
        self._lists_cut_at = cut_at
        self._lists_idle = True
        return jobs

    def _plan_files(
        self,
        listing: Listing,
        held: Held,
        walks: Walks,
        now: float,
        slots: int,
        budget: int,
        batch: int,
    ) -> list[Job]:
        """Small files to fetch whole: the next ones each reader opens, in
        order, within ``budget`` (alone, or in batches of one folder)."""
        jobs: list[Job] = []
        if budget != self._budget_seen:
            self._budget_seen = budget
            self._rescan_files()
        if self._files_idle:
            return jobs
        if self._ready and batch <= 1:
            jobs = self._take_ready(held, now, slots, budget)
            slots -= len(jobs)
            if self._ready or self._files_idle or slots <= 0:
                return jobs
        self._opens_unplanned = 0
        self._budget_full = False
        reserved = self._reserved()
        files_cut = False
        window = FILE_WINDOW if batch <= 1 else 2 * batch
        self._replan_opens = REPLAN_OPENS if batch <= 1 else max(REPLAN_OPENS, window // 4)
        group: list[FileJob] = []  # the batch being filled: one folder, one slot
        group_bytes = 0
        ready: list[tuple[str, Entry]] = []  # due, no slot left (single files only)
        ready_bytes = reserved
        window_full = True
        for root, walk in walks:
            if walk.reader is None or self._files_idle or reserved >= budget:
                continue
            if slots <= 0:
                files_cut = True
                continue
            group = []
            window_cut = False
            for n, (path, entry) in enumerate(files_after(listing, walk.reader, root)):
                if n >= window:
                    window_cut = True
                    break
                if slots <= 0 and not group and batch > 1:
                    files_cut = True
                    break
                if not self._file_due(path, entry, held, now):
                    continue
                size = entry.size or 0
                if slots <= 0 and batch <= 1:
                    files_cut = True
                    ready_bytes += charge(size)
                    if ready_bytes > budget:
                        break
                    ready.append((path, entry))
                    continue
                if reserved + charge(size) > budget:
                    self._budget_full = True
                    break  # keep the order: never skip ahead past a file that does not fit
                if batch <= 1:
                    job = FileJob(path, entry)
                    slots -= 1
                else:
                    joins = (
                        group
                        and len(group) < batch
                        and parent_of(group[0].path) == parent_of(path)
                        and group_bytes + charge(size) <= budget // 2
                    )
                    if not joins:
                        if slots <= 0:
                            files_cut = True
                            break
                        self._batches += 1
                        slots -= 1
                        group, group_bytes = [], 0
                    job = FileJob(path, entry, self._batches)
                    group.append(job)
                    group_bytes += charge(size)
                jobs.append(job)
                self.inflight[path] = job
                reserved += charge(size)
            window_full = window_full and window_cut
            if window_cut and 0 < len(group) < batch // 2:
                # the window cut this batch short: wait until it can be a real one
                for job in group:
                    del self.inflight[job.path]
                    reserved -= charge(job.entry.size or 0)
                del jobs[len(jobs) - len(group) :]
                slots += 1
            group = []
        if not files_cut:
            self._files_idle = True
        self._window_full = window_full
        self._ready = deque(ready)
        return jobs

    def _take_ready(self, held: Held, now: float, slots: int, budget: int) -> list[Job]:
        """Jobs for the files the last scan found due, in its order, checked
        again as a scan would check them."""
        jobs: list[Job] = []
        reserved = self._reserved()
        ready = self._ready
        while ready and slots > 0:
            path, entry = ready[0]
            if not self._file_due(path, entry, held, now):
                ready.popleft()
                continue
            size = charge(entry.size or 0)
            if reserved + size > budget:
                self._budget_full = self._files_idle = True
                ready.clear()
                break
            ready.popleft()
            job = FileJob(path, entry)
            jobs.append(job)
            self.inflight[path] = job
            reserved += size
            slots -= 1
        return jobs

    def _file_due(self, path: str, entry: Entry, held: Held, now: float) -> bool:
        """Whether a file in the window is worth fetching ahead now: small with
        an exact size, not in flight, fetched, opened or tried lately, nor
        held by the cache (a scan asks, and a file waiting for a slot again)."""
        if path in self.inflight or path in self._unread:
            return False
        if self._lately(self._opened, path, now) or self._lately(self._tried, path, now):
            return False
        size = entry.size
        return size is not None and 0 < size <= SMALL_FILE_MAX and not held(path, entry)

    def finished(self, job: Job, landed: bool, now: float, *, folders: bool = True) -> None:
        """A job is over: ``landed`` says whether its result is now held;
        ``folders``, for a listing, whether it shows subfolders."""
        self.inflight.pop(job.path, None)
        if not landed:
            self._stir()  # a failure frees budget
        elif isinstance(job, FileJob):
            if self._lists_need_slot:
                self._lists_idle = False  # its slot can take a listing now
        elif isinstance(job, ListJob):
            if self._lists_need_slot or (folders and not self._lists_need_room):
                self._stir_lists()  # a new listing shows more, or a slot is free
            elif not self._window_full:
                # nothing new to list (a folder without subfolders, most of a
                # tree; or no room before the walker uses a listing ahead:
                # saw_readdir, saw_listing_used), but its files are new
                self._rescan_files()
        if not landed:
            _remember(self._tried, job.path, now)
            return
        if isinstance(job, FileJob):
            if not self._lately(self._opened, job.path, now):
                size = job.entry.size or 0
                self._unread[job.path] = (charge(size), now)
        else:
            self._ahead_dirs[job.path] = now
            if not folders:
                self._lists_seen.add(job.path)  # nothing in it to look into

    # ---- internals -------------------------------------------------------

    @staticmethod
    def _lately(memo: OrderedDict[str, float], path: str, now: float) -> bool:
        when = memo.get(path)
        return when is not None and now - when < WALK_MEMORY

    def _recent(self, folder: str, now: float) -> bool:
        when = self._listed.get(folder)
        return when is not None and now - when < WALK_MEMORY

    def _root(self, folder: str, now: float) -> str:
        """The top of the chain of recently listed folders that ends at ``folder``."""
        root = folder
        while True:
            up = parent_of(root)
            if up is None or not self._recent(up, now):
                return root
            root = up

    def _walk(self, root: str, now: float) -> _Walk:
        walk = self._walks.get(root)
        if walk is None:
            walk = self._walks[root] = _Walk()
        walk.seen = now
        self._walks.move_to_end(root)
        while len(self._walks) > MAX_WALKS:
            self._walks.popitem(last=False)
        return walk

    def _slots_used(self) -> int:
        """Jobs in flight, a batch counting once."""
        batches = set()
        alone = 0
        for job in self.inflight.values():
            if isinstance(job, FileJob) and job.batch:
                batches.add(job.batch)
            else:
                alone += 1
        return alone + len(batches)

    def _reserved(self) -> int:
        """File bytes fetched ahead and not opened, plus those in flight."""
        total = sum(c for c, _ in self._unread.values())
        for job in self.inflight.values():
            if isinstance(job, FileJob):
                total += charge(job.entry.size or 0)
        return total

    def _expire(self, now: float) -> None:
        if now - self._expired_at < 1.0:
            return  # a second late matters nothing against WALK_MEMORY
        self._expired_at = now
        for root, walk in list(self._walks.items()):
            if now - walk.seen >= WALK_MEMORY:
                del self._walks[root]
        for path, (_, when) in list(self._unread.items()):
            if now - when >= WALK_MEMORY:
                del self._unread[path]
                self._stir()


def _beside(path: str, other: str | None) -> bool:
    """Whether ``other`` is in ``path``'s folder (or below it): the walker at
    ``path`` gets there before it leaves that folder."""
    if other is None:
        return False
    folder = parent_of(path)
    return not folder or other.startswith(folder + "/")


def _remember(memo: OrderedDict[str, V], key: str, value: V) -> None:
    memo[key] = value
    memo.move_to_end(key)
    while len(memo) > MEMORY:
        memo.popitem(last=False)
