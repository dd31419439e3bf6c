"""The fetch-ahead policy on plain values: which listings and files, in what order, how many."""

from __future__ import annotations

from collections.abc import Mapping

from partyfuse.core.blockcache import charge
from partyfuse.core.model import Entry
from partyfuse.core.prefetch import (
    BATCH_MAX,
    CONCURRENCY,
    FILE_WINDOW,
    REPLAN_OPENS,
    SMALL_FILE_MAX,
    WALK_MEMORY,
    FileJob,
    ListJob,
    Prefetch,
    files_after,
    walk_order,
)
from partyfuse.core.walk import Listing

KiB = 1 << 10
MiB = 1 << 20


def f(name: str, size: int | None = 4 * KiB) -> Entry:
    return Entry(name, False, size, 1.0)


def d(name: str) -> Entry:
    return Entry(name, True, None, 1.0)


class Tree:
    """Listings the dir cache holds: folder -> entries (absent = not listed)."""

    def __init__(self, held: Mapping[str, list[Entry]]) -> None:
        self.held = {k: {e.name: e for e in v} for k, v in held.items()}

    def __call__(self, path: str) -> Mapping[str, Entry] | None:
        return self.held.get(path)


def never(path: str, entry: Entry) -> bool:
    return False


def paths(jobs: list[FileJob | ListJob]) -> list[str]:
    return [j.path for j in jobs]


class CountedTree(Tree):
    """A Tree that counts the listings a plan looks at (``looks``)."""

    def __init__(self, held: Mapping[str, list[Entry]]) -> None:
        super().__init__(held)
        self.looks = 0

    def __call__(self, path: str) -> Mapping[str, Entry] | None:
        self.looks += 1
        return super().__call__(path)


def reading_ahead(listing: Listing) -> tuple[Prefetch, list[str]]:
    """A program listed folder p and opened p/f000; every job planned since has
    landed at once, until nothing more is due.  The policy, and what it fetched."""
    pf = Prefetch()
    pf.saw_readdir("p", 0.0)
    pf.saw_open("p/f000", 0.0)
    fetched: list[str] = []
    while jobs := pf.plan(listing, never, now=0.0, file_budget=64 * MiB, dir_room=8):
        for job in jobs:
            fetched.append(job.path)
            pf.finished(job, True, 0.0)
    return pf, fetched


def test_walk_order_is_depth_first_from_the_walker_and_stays_under_the_top() -> None:
    tree = Tree(
        {
            "": [d("top"), d("other")],
            "top": [d("a"), d("b"), d("c"), f("x")],
            "top/a": [d("a1"), d("a2")],
            "top/a/a1": [],
            "top/b": [d("b1")],
        }
    )
    order = list(walk_order(tree, "top/a", "top"))
    # a's subfolders (a1 listed: nothing below it), then a's later siblings, b's below
    assert order == [
        ("top/a/a1", True),
        ("top/a/a2", False),
        ("top/b", True),
        ("top/b/b1", False),
        ("top/c", False),
    ]
    # never above the top of the walk: "other" is part of a walk from the root only
    assert ("other", False) in list(walk_order(tree, "top/a", ""))


def test_files_after_the_reader_then_through_the_folders_after_it() -> None:
    tree = Tree(
        {
            "r": [f("1"), d("s"), f("2"), f("3")],
            "r/s": [f("4"), d("t")],
            "r/s/t": [f("5")],
        }
    )
    got = [p for p, _ in files_after(tree, "r/1", "r")]
    assert got == ["r/2", "r/3", "r/s/4", "r/s/t/5"]
    assert [p for p, _ in files_after(tree, "r/3", "r")] == ["r/s/4", "r/s/t/5"]


def test_an_open_in_a_listed_folder_fetches_the_next_files_within_the_concurrency_cap() -> None:
    names = [f"f{i:02d}" for i in range(40)]
    tree = Tree({"p": [f(n) for n in names]})
    pf = Prefetch()
    pf.saw_readdir("p", 0.0)
    assert not pf.saw_open("p/f00", 0.0)
    jobs = pf.plan(tree, never, now=0.0, file_budget=8 * MiB, dir_room=8)
    assert paths(jobs) == [f"p/{n}" for n in names[1 : 1 + CONCURRENCY]]
    assert all(isinstance(j, FileJob) for j in jobs)
    # nothing more while they are in flight
    assert pf.plan(tree, never, now=0.0, file_budget=8 * MiB, dir_room=8) == []
    pf.finished(jobs[0], True, 0.0)
    more = pf.plan(tree, never, now=0.0, file_budget=8 * MiB, dir_room=8)
    assert paths(more) == [f"p/{names[1 + CONCURRENCY]}"]


def copy_started(names: list[str]) -> tuple[CountedTree, Prefetch, list[FileJob | ListJob]]:
    """A program listed folder p (``names``) and opened its first file: the
    tree, the policy and the jobs of its first plan (every slot taken)."""
    tree = CountedTree({"p": [f(n) for n in names]})
    pf = Prefetch()
    pf.saw_readdir("p", 0.0)
    pf.saw_open(f"p/{names[0]}", 0.0)
    return tree, pf, pf.plan(tree, never, now=0.0, file_budget=64 * MiB, dir_room=8)


def test_a_landing_that_frees_a_slot_takes_the_next_file_without_a_new_scan() -> None:
    # the first scan ran out of slots: what it found due waits for them, so each
    # landing starts the next file in the same order a scan would, looking at no listing
    names = [f"f{i:02d}" for i in range(40)]
    tree, pf, jobs = copy_started(names)
    assert len(jobs) == CONCURRENCY
    started = paths(jobs)
    for n in range(FILE_WINDOW - CONCURRENCY):
        tree.looks = 0
        pf.finished(jobs[n], True, 0.0)
        more = pf.plan(tree, never, now=0.0, file_budget=64 * MiB, dir_room=8)
        assert len(more) == 1 and tree.looks == 0
        jobs += more
        started += paths(more)
    assert started == [f"p/{n}" for n in names[1 : 1 + FILE_WINDOW]]
    # the window is used up: the next landing scans, and finds nothing more due
    pf.finished(jobs[FILE_WINDOW - CONCURRENCY], True, 0.0)
    assert pf.plan(tree, never, now=0.0, file_budget=64 * MiB, dir_room=8) == []


def test_files_waiting_for_a_slot_are_checked_again_when_their_turn_comes() -> None:
    names = [f"f{i:02d}" for i in range(40)]
    tree, pf, jobs = copy_started(names)
    nxt = f"p/{names[1 + CONCURRENCY]}"
    after = f"p/{names[2 + CONCURRENCY]}"

    def cached(path: str, entry: Entry) -> bool:
        return path == nxt  # read by the program meanwhile

    pf.finished(jobs[0], True, 0.0)
    assert paths(pf.plan(tree, cached, now=0.0, file_budget=64 * MiB, dir_room=8)) == [after]
    # a budget that no longer fits the next file: nothing starts
    pf.finished(jobs[1], True, 0.0)
    assert pf.plan(tree, never, now=0.0, file_budget=64 * MiB, dir_room=8) != []
    pf.finished(jobs[2], True, 0.0)
    assert pf.plan(tree, never, now=0.0, file_budget=4 * KiB, dir_room=8) == []


def test_the_window_ends_files_ahead_of_the_reader() -> None:
    _, fetched = reading_ahead(Tree({"p": [f(f"f{i:03d}") for i in range(100)]}))
    assert fetched == [f"p/f{i:03d}" for i in range(1, 1 + FILE_WINDOW)]


def test_a_file_opened_without_listing_its_folder_fetches_nothing() -> None:
    tree = Tree({"p": [f("a"), f("b")]})
    pf = Prefetch()
    pf.saw_open("p/a", 0.0)  # `cat p/a`: a lookup, no readdir
    assert pf.plan(tree, never, now=0.0, file_budget=8 * MiB, dir_room=8) == []
    # a listing long ago does not count either
    pf.saw_readdir("p", 0.0)
    pf.saw_open("p/a", WALK_MEMORY + 1)
    assert pf.plan(tree, never, now=WALK_MEMORY + 1, file_budget=8 * MiB, dir_room=8) == []


def test_only_small_files_with_an_exact_size_not_opened_or_held_are_fetched() -> None:
    entries = [
        f("a"),
        f("big", SMALL_FILE_MAX + 1),
        f("nosize", None),
        f("empty", 0),
        f("seen"),
        f("cached"),
        f("edge", SMALL_FILE_MAX),
    ]
    tree = Tree({"p": entries})
    pf = Prefetch()
    pf.saw_readdir("p", 0.0)
    pf.saw_open("p/seen", 0.0)
    pf.saw_open("p/a", 0.0)

    def held(path: str, entry: Entry) -> bool:
        return path == "p/cached"

    jobs = pf.plan(tree, held, now=0.0, file_budget=8 * MiB, dir_room=8)
    assert paths(jobs) == ["p/edge"]


def test_the_byte_budget_counts_files_in_flight_and_fetched_but_not_opened() -> None:
    tree = Tree({"p": [f(f"f{i}", 100 * KiB) for i in range(10)]})
    pf = Prefetch()
    pf.saw_readdir("p", 0.0)
    pf.saw_open("p/f0", 0.0)
    budget = 3 * charge(100 * KiB)
    jobs = pf.plan(tree, never, now=0.0, file_budget=budget, dir_room=8)
    assert paths(jobs) == ["p/f1", "p/f2", "p/f3"]
    for job in jobs:
        pf.finished(job, True, 0.0)
    # landed and unread: still counted
    assert pf.plan(tree, never, now=0.0, file_budget=budget, dir_room=8) == []
    # the program opens one: its bytes now belong to the reader, room for one more
    assert pf.saw_open("p/f1", 0.0)
    (job,) = pf.plan(tree, never, now=0.0, file_budget=budget, dir_room=8)
    assert job.path == "p/f4"
    pf.finished(job, True, 0.0)
    # a file fetched ahead but never opened stops counting after a while
    later = WALK_MEMORY + 1
    pf.saw_readdir("p", later)
    pf.saw_open("p/f5", later)
    got = paths(pf.plan(tree, never, now=later, file_budget=budget, dir_room=8))
    assert got == ["p/f6", "p/f7", "p/f8"]


def test_a_budget_of_zero_fetches_no_files() -> None:
    tree = Tree({"p": [f("a"), f("b")]})
    pf = Prefetch()
    pf.saw_readdir("p", 0.0)
    pf.saw_open("p/a", 0.0)
    assert pf.plan(tree, never, now=0.0, file_budget=0, dir_room=8) == []


def test_a_walk_lists_ahead_bounded_by_the_room_and_moves_on_as_listings_land() -> None:
    top = [d(f"s{i}") for i in range(10)]
    tree = Tree({"": [d("top")], "top": top, "top/s0": [d("x")]})
    pf = Prefetch()
    pf.saw_readdir("top", 0.0)
    # one folder listed: no walk yet
    assert pf.plan(tree, never, now=0.0, file_budget=0, dir_room=4) == []
    pf.saw_readdir("top/s0", 0.0)
    jobs = pf.plan(tree, never, now=0.0, file_budget=0, dir_room=4)
    assert paths(jobs) == ["top/s0/x", "top/s1", "top/s2", "top/s3"]
    assert all(isinstance(j, ListJob) for j in jobs)
    for job in jobs:
        tree.held[job.path] = {}
        pf.finished(job, True, 0.0)
    # four listed ahead, none used: the room is full
    assert pf.plan(tree, never, now=0.0, file_budget=0, dir_room=4) == []
    # the walker uses two of them: two more
    pf.saw_readdir("top/s0/x", 0.0)
    pf.saw_readdir("top/s1", 0.0)
    assert paths(pf.plan(tree, never, now=0.0, file_budget=0, dir_room=4)) == ["top/s4", "top/s5"]


def test_listings_leave_half_the_slots_to_files_when_files_are_wanted() -> None:
    top = [d(f"s{i}") for i in range(20)]
    tree = Tree({"top": top, "top/s0": [f("g")] + [f(f"f{i}") for i in range(20)]})
    pf = Prefetch()
    pf.saw_readdir("top", 0.0)
    pf.saw_readdir("top/s0", 0.0)
    pf.saw_open("top/s0/g", 0.0)
    jobs = pf.plan(tree, never, now=0.0, file_budget=8 * MiB, dir_room=16)
    lists = [j for j in jobs if isinstance(j, ListJob)]
    files = [j for j in jobs if isinstance(j, FileJob)]
    assert len(jobs) == CONCURRENCY
    assert len(lists) == CONCURRENCY // 2 and len(files) == CONCURRENCY // 2


def test_a_failed_job_is_not_tried_again_for_a_while() -> None:
    tree = Tree({"p": [f("a"), f("b"), f("c")]})
    pf = Prefetch()
    pf.saw_readdir("p", 0.0)
    pf.saw_open("p/a", 0.0)
    jobs = pf.plan(tree, never, now=0.0, file_budget=MiB, dir_room=0)
    assert paths(jobs) == ["p/b", "p/c"]
    pf.finished(jobs[0], False, 0.0)  # failed: the foreground read meets the error itself
    pf.finished(jobs[1], True, 0.0)
    pf.forget("p/c", 0.0)  # evicted before it was opened: not fetched again at once
    assert pf.plan(tree, never, now=1.0, file_budget=MiB, dir_room=0) == []
    later = WALK_MEMORY + 1
    pf.saw_readdir("p", later)
    pf.saw_open("p/a", later)
    assert paths(pf.plan(tree, never, now=later, file_budget=MiB, dir_room=0)) == ["p/b", "p/c"]


def test_a_landing_with_the_window_full_costs_no_walk_through_the_listings() -> None:
    tree = CountedTree({"p": [f(f"f{i:03d}") for i in range(100)]})
    pf, _ = reading_ahead(tree)
    tree.looks = 0
    assert pf.plan(tree, never, now=0.0, file_budget=64 * MiB, dir_room=8) == []
    assert tree.looks == 0  # nothing happened since the last scan found nothing
    # the program opens the next files, each fetched ahead: the window moves
    # by one file each time, which is not worth a scan until REPLAN_OPENS of them
    for i in range(1, REPLAN_OPENS):
        assert pf.saw_open(f"p/f{i:03d}", 0.0)
        assert pf.plan(tree, never, now=0.0, file_budget=64 * MiB, dir_room=8) == []
    assert tree.looks == 0
    assert pf.saw_open(f"p/f{REPLAN_OPENS:03d}", 0.0)
    got = pf.plan(tree, never, now=0.0, file_budget=64 * MiB, dir_room=8)
    due = range(1 + FILE_WINDOW, 1 + REPLAN_OPENS + FILE_WINDOW)
    assert paths(got) == [f"p/f{i:03d}" for i in due] and tree.looks > 0


def test_opens_of_files_already_cached_plan_like_opens_of_files_fetched_ahead() -> None:
    # a second copy of a folder the cache still holds: nothing was fetched ahead
    # this time, and nothing needs catching up, so no scan per open
    tree = CountedTree({"p": [f(f"f{i:03d}") for i in range(100)]})

    def always(path: str, entry: Entry) -> bool:
        return True

    pf = Prefetch()
    pf.saw_readdir("p", 0.0)
    pf.saw_open("p/f000", 0.0, held=True)
    assert pf.plan(tree, always, now=0.0, file_budget=64 * MiB, dir_room=8) == []
    tree.looks = 0
    for i in range(1, REPLAN_OPENS):
        assert not pf.saw_open(f"p/f{i:03d}", 0.0, held=True)  # not a fetch-ahead hit
        assert pf.plan(tree, always, now=0.0, file_budget=64 * MiB, dir_room=8) == []
    assert tree.looks == 0
    pf.saw_open(f"p/f{REPLAN_OPENS:03d}", 0.0, held=True)
    pf.plan(tree, always, now=0.0, file_budget=64 * MiB, dir_room=8)
    assert tree.looks > 0
    tree.looks = 0
    pf.saw_open("p/f050", 0.0)  # not held: the program is ahead of the cache, plan at once
    pf.plan(tree, never, now=0.0, file_budget=64 * MiB, dir_room=8)
    assert tree.looks > 0


def test_an_open_the_prefetch_did_not_see_coming_plans_at_once() -> None:
    tree = Tree({"p": [f(f"f{i:03d}") for i in range(100)]})
    pf, _ = reading_ahead(tree)
    assert not pf.saw_open("p/f060", 0.0)  # a jump past the window: a miss
    got = pf.plan(tree, never, now=0.0, file_budget=64 * MiB, dir_room=8)
    assert paths(got)[0] == "p/f061"


def test_an_open_of_a_file_in_flight_is_no_miss_and_costs_no_scan() -> None:
    # on loopback the program keeps catching up with the fetches: the file it
    # opens is still on its way, which says nothing new about what is due
    tree = CountedTree({"p": [f(f"f{i:03d}") for i in range(4)]})
    pf = Prefetch()
    pf.saw_readdir("p", 0.0)
    pf.saw_open("p/f000", 0.0)
    jobs = pf.plan(tree, never, now=0.0, file_budget=64 * MiB, dir_room=0)
    assert paths(jobs) == ["p/f001", "p/f002", "p/f003"]
    tree.looks = 0
    assert not pf.saw_open("p/f001", 0.0)  # in flight: not fetched ahead yet
    assert pf.plan(tree, never, now=0.0, file_budget=64 * MiB, dir_room=0) == []
    assert tree.looks == 0
    pf.saw_open("p/other", 0.0)  # neither fetched nor in flight: the program went elsewhere
    pf.plan(tree, never, now=0.0, file_budget=64 * MiB, dir_room=0)
    assert tree.looks > 0


def test_a_listing_that_lands_scans_the_file_window_only_when_it_was_not_full() -> None:
    files = [f(f"f{i:03d}") for i in range(100)]
    tree = CountedTree({"p": [*files, d("q")]})
    pf, _ = reading_ahead(tree)  # every file of the window fetched: it is full
    tree.looks = 0
    tree.held["p/q"] = {"g": f("g")}
    pf.finished(ListJob("p/q"), True, 0.0)
    assert pf.plan(tree, never, now=0.0, file_budget=64 * MiB, dir_room=0) == []
    assert tree.looks == 0  # p/q/g is far past the window: no scan for it
    # a short folder: the window reached past it, so the new listing's files are due
    small = CountedTree({"p": [f("f000"), f("f001"), d("q")]})
    pf, fetched = reading_ahead(small)
    assert fetched == ["p/f001"]
    small.held["p/q"] = {"g": f("g")}
    pf.finished(ListJob("p/q"), True, 0.0)
    assert paths(pf.plan(small, never, now=0.0, file_budget=64 * MiB, dir_room=0)) == ["p/q/g"]


def test_with_batches_opens_scan_again_every_quarter_of_the_window() -> None:
    # a batch starts with at least half a batch of files: scanning every
    # REPLAN_OPENS opens of a 2 * BATCH_MAX window found nothing to start
    tree = CountedTree({"p": [f(f"f{i:03d}") for i in range(400)]})
    pf = Prefetch()
    pf.saw_readdir("p", 0.0)
    pf.saw_open("p/f000", 0.0)
    while jobs := pf.plan(tree, never, now=0.0, file_budget=64 * MiB, dir_room=0, batch=BATCH_MAX):
        for job in jobs:
            pf.finished(job, True, 0.0)
    every = 2 * BATCH_MAX // 4
    assert every > REPLAN_OPENS
    tree.looks = 0
    for i in range(1, every):
        assert pf.saw_open(f"p/f{i:03d}", 0.0)
        assert (
            pf.plan(tree, never, now=0.0, file_budget=64 * MiB, dir_room=0, batch=BATCH_MAX) == []
        )
    assert tree.looks == 0
    assert pf.saw_open(f"p/f{every:03d}", 0.0)
    got = pf.plan(tree, never, now=0.0, file_budget=64 * MiB, dir_room=0, batch=BATCH_MAX)
    assert tree.looks > 0 and got and all(isinstance(j, FileJob) and j.batch for j in got)


def walking_top() -> Prefetch:
    """A policy that saw a program list "top", then "top/s0": a walk under way."""
    pf = Prefetch()
    pf.saw_readdir("top", 0.0)
    pf.saw_readdir("top/s0", 0.0)
    return pf


def test_a_listing_that_lands_with_the_room_full_costs_no_walk_through_the_listings() -> None:
    # a find on a fast server: listings ahead land faster than the walker uses
    # them; each landing moves one from in flight to ahead, which frees no room
    tree = CountedTree({"": [d("top")], "top": [d(f"s{i}") for i in range(10)], "top/s0": []})
    pf = walking_top()
    jobs = pf.plan(tree, never, now=0.0, file_budget=0, dir_room=2)
    assert paths(jobs) == ["top/s1", "top/s2"]
    tree.held["top/s1"] = {}
    pf.finished(jobs[0], True, 0.0)
    tree.looks = 0
    assert pf.plan(tree, never, now=0.0, file_budget=0, dir_room=2) == []
    assert tree.looks == 0 and pf.idle()  # nothing to plan until the walker moves
    pf.saw_readdir("top/s1", 0.0)  # it uses one: room for the next folder
    assert paths(pf.plan(tree, never, now=0.0, file_budget=0, dir_room=2)) == ["top/s3"]


def test_a_landing_while_the_slots_were_full_plans_again() -> None:
    tree = Tree({"": [d("top")], "top": [d(f"s{i}") for i in range(40)], "top/s0": []})
    pf = walking_top()
    jobs = pf.plan(tree, never, now=0.0, file_budget=0, dir_room=4 * CONCURRENCY)
    assert len(jobs) == CONCURRENCY  # room left, no slot left
    tree.held[jobs[0].path] = {}
    pf.finished(jobs[0], True, 0.0, folders=False)  # no new folder, but a slot is free again
    assert paths(pf.plan(tree, never, now=0.0, file_budget=0, dir_room=4 * CONCURRENCY)) == [
        f"top/s{CONCURRENCY + 1}"
    ]


def test_a_walk_that_opens_its_first_file_scans_the_file_window_at_once() -> None:
    # a find-like walk leaves the file window idle; the first file the program
    # opens, even one the cache holds already, starts it
    tree = Tree({"": [d("top")], "top": [d("s0")], "top/s0": [f("a"), f("b"), f("c")]})
    pf = walking_top()
    assert pf.plan(tree, never, now=0.0, file_budget=MiB, dir_room=0) == []
    assert pf.idle()
    pf.saw_open("top/s0/a", 0.0, held=True)
    assert paths(pf.plan(tree, never, now=0.0, file_budget=MiB, dir_room=0)) == [
        "top/s0/b",
        "top/s0/c",
    ]


def test_a_landing_without_subfolders_costs_no_walk_through_the_listings() -> None:
    # most folders of a tree are leaves: their listing shows nothing new to list
    tree = CountedTree({"": [d("top")], "top": [d(f"s{i}") for i in range(3)], "top/s0": []})
    pf = walking_top()
    jobs = pf.plan(tree, never, now=0.0, file_budget=0, dir_room=4)
    assert paths(jobs) == ["top/s1", "top/s2"]  # all the walk shows, within the room
    tree.held["top/s1"] = {"x": f("x")}
    pf.finished(jobs[0], True, 0.0, folders=False)
    tree.looks = 0
    assert pf.plan(tree, never, now=0.0, file_budget=0, dir_room=4) == []
    assert tree.looks == 0
    # one that shows subfolders does
    tree.held["top/s2"] = {"y": d("y")}
    pf.finished(jobs[1], True, 0.0, folders=True)
    assert paths(pf.plan(tree, never, now=0.0, file_budget=0, dir_room=4)) == ["top/s2/y"]


def test_listings_cut_for_want_of_a_slot_wait_for_a_job_to_end_without_a_scan() -> None:
    # a cp -r: listings have their share of the slots in flight; every open
    # used to walk the listings again to find that none could start
    top = [d(f"s{i}") for i in range(20)]
    tree = CountedTree({"": [d("top")], "top": top, "top/s0": [f("f0"), f("f1")]})
    pf = walking_top()
    pf.saw_open("top/s0/f0", 0.0)
    jobs = pf.plan(tree, never, now=0.0, file_budget=8 * MiB, dir_room=16)
    lists = [j for j in jobs if isinstance(j, ListJob)]
    assert len(lists) == CONCURRENCY // 2 and len(jobs) < CONCURRENCY  # slots left, share not
    tree.looks = 0
    assert pf.plan(tree, never, now=0.0, file_budget=8 * MiB, dir_room=16) == []
    assert tree.looks == 0
    assert pf.idle()  # so the filesystem skips planning at each open (Prefetcher._plan)
    tree.held[lists[0].path] = {}
    pf.finished(lists[0], True, 0.0, folders=False)  # its share is free again
    more = pf.plan(tree, never, now=0.0, file_budget=8 * MiB, dir_room=16)
    assert paths(more) == [f"top/s{CONCURRENCY // 2 + 1}"]


def landed_ahead(pf: Prefetch, tree: Tree, jobs: list[FileJob | ListJob]) -> None:
    """Every listing job in ``jobs`` lands, showing no subfolders."""
    for job in jobs:
        tree.held[job.path] = {}
        pf.finished(job, True, 0.0, folders=False)


def test_the_walker_reading_a_folder_listed_ahead_plans_nothing_the_last_scan_did_not_cut() -> None:
    # a find on a fast server: the walker keeps reaching folders listed ahead;
    # the scan before found every folder it could know of in flight or listed,
    # and the walker moving on within them shows none new (most of the plans a
    # find ran on loopback found nothing)
    tree = CountedTree({"": [d("top")], "top": [d(f"s{i}") for i in range(4)], "top/s0": []})
    pf = walking_top()
    jobs = pf.plan(tree, never, now=0.0, file_budget=0, dir_room=16)
    assert paths(jobs) == ["top/s1", "top/s2", "top/s3"]
    landed_ahead(pf, tree, jobs)
    assert pf.plan(tree, never, now=0.0, file_budget=0, dir_room=16) == []
    tree.looks = 0
    pf.saw_listing_used("top/s1")  # the walker's opendir finds it held
    pf.saw_readdir("top/s1", 0.0)
    assert pf.idle()
    assert pf.plan(tree, never, now=0.0, file_budget=0, dir_room=16) == []
    assert tree.looks == 0
    # a folder the policy did not list ahead is news: plan at once
    tree.held["top/s1"] = {"n": d("n")}
    pf.saw_readdir("top/s1/n", 0.0)
    assert not pf.idle()
    assert paths(pf.plan(tree, never, now=0.0, file_budget=0, dir_room=16)) == []
    tree.held["top/s1/n"] = {"m": d("m")}
    pf.saw_readdir("top/s1/n", 0.0)  # listed by the walker itself again: its subfolders are new
    assert paths(pf.plan(tree, never, now=0.0, file_budget=0, dir_room=16)) == ["top/s1/n/m"]


def test_the_walker_reading_a_folder_listed_ahead_plans_again_when_the_room_was_full() -> None:
    tree = Tree({"": [d("top")], "top": [d(f"s{i}") for i in range(10)], "top/s0": []})
    pf = walking_top()
    jobs = pf.plan(tree, never, now=0.0, file_budget=0, dir_room=2)
    landed_ahead(pf, tree, jobs)
    assert pf.plan(tree, never, now=0.0, file_budget=0, dir_room=2) == []
    pf.saw_listing_used("top/s1")
    pf.saw_readdir("top/s1", 0.0)
    assert not pf.idle()
    assert paths(pf.plan(tree, never, now=0.0, file_budget=0, dir_room=2)) == ["top/s3"]


def test_the_walker_reading_a_folder_listed_ahead_plans_again_when_the_scan_hit_its_limit() -> None:
    # a scan looks through at most four times the room: folders held already
    # (listed by the program before) can fill that, and the walker moving on
    # moves the limit with it
    top = [d(f"s{i}") for i in range(12)]
    tree = Tree({"": [d("top")], "top": top, "top/s0": []})
    for i in range(2, 9):
        tree.held[f"top/s{i}"] = {}
    pf = walking_top()
    jobs = pf.plan(tree, never, now=0.0, file_budget=0, dir_room=2)
    assert paths(jobs) == ["top/s1"]  # s2..s8 held: the limit (8) ends the scan before s9
    landed_ahead(pf, tree, jobs)
    assert pf.plan(tree, never, now=0.0, file_budget=0, dir_room=2) == []
    assert pf.idle()
    pf.saw_listing_used("top/s1")
    pf.saw_readdir("top/s1", 0.0)
    assert not pf.idle()
    assert paths(pf.plan(tree, never, now=0.0, file_budget=0, dir_room=2)) == ["top/s9"]


def test_a_listing_used_adds_no_file_to_any_window_and_scans_none() -> None:
    # a cp -r opening the next folder, listed ahead: the file window holds the
    # same files as before (it moves with the files opened), so no scan
    tree = CountedTree(
        {
            "": [d("top")],
            "top": [d("s0"), d("s1")],
            "top/s0": [f("a"), f("b")],
            "top/s1": [f("c")],
        }
    )
    pf = walking_top()
    pf.saw_open("top/s0/a", 0.0)
    while jobs := pf.plan(tree, never, now=0.0, file_budget=MiB, dir_room=16):
        for job in jobs:
            pf.finished(job, True, 0.0, folders=False)
    pf.finished(ListJob("top/s1"), True, 0.0, folders=False)
    assert pf.plan(tree, never, now=0.0, file_budget=MiB, dir_room=16) == []
    tree.looks = 0
    pf.saw_listing_used("top/s1")
    pf.saw_readdir("top/s1", 0.0)
    assert pf.plan(tree, never, now=0.0, file_budget=MiB, dir_room=16) == []
    assert tree.looks == 0


def test_with_the_room_full_listings_ahead_are_refilled_a_quarter_of_the_room_at_a_time() -> None:
    # a find on loopback: listings ahead fill the room, and each one the
    # walker used then planned a scan that found one folder to list
    tree = CountedTree({"": [d("top")], "top": [d("s0"), d("s1"), d("s2")], "top/s0": []})
    pf = walking_top()
    while jobs := pf.plan(tree, never, now=0.0, file_budget=0, dir_room=16):
        for job in jobs:
            kids = (
                [d(f"{job.path[-1]}{i:02d}") for i in range(15)]
                if job.path
                in (
                    "top/s1",
                    "top/s2",
                )
                else []
            )
            tree.held[job.path] = {k.name: k for k in kids}
            pf.finished(job, True, 0.0, folders=bool(kids))
    assert len(pf.ahead_dirs()) == 16  # s1, s2 and s1's folders up to 113
    # the walker enters s1, where the room cut the scan: plan at once
    pf.saw_listing_used("top/s1")
    pf.saw_readdir("top/s1", 0.0)
    assert paths(pf.plan(tree, never, now=0.0, file_budget=0, dir_room=16)) == ["top/s1/114"]
    tree.looks = 0
    # the room cut the scan in s2 now; the walker goes through s1's folders
    for i in range(3):
        pf.saw_listing_used(f"top/s1/1{i:02d}")
        pf.saw_readdir(f"top/s1/1{i:02d}", 0.0)
        assert pf.idle()
        assert pf.plan(tree, never, now=0.0, file_budget=0, dir_room=16) == []
    assert tree.looks == 0
    pf.saw_listing_used("top/s1/103")
    pf.saw_readdir("top/s1/103", 0.0)
    got = pf.plan(tree, never, now=0.0, file_budget=0, dir_room=16)
    assert paths(got) == [f"top/s2/2{i:02d}" for i in range(4)]
    # a small room refills at once
    pf = walking_top()
    tree = Tree({"": [d("top")], "top": [d(f"s{i}") for i in range(40)], "top/s0": []})
    while jobs := pf.plan(tree, never, now=0.0, file_budget=0, dir_room=2):
        landed_ahead(pf, tree, jobs)
    pf.saw_listing_used("top/s1")
    pf.saw_readdir("top/s1", 0.0)
    assert paths(pf.plan(tree, never, now=0.0, file_budget=0, dir_room=2)) == ["top/s3"]


def test_the_walker_reading_a_folder_listed_ahead_the_last_scan_could_not_see_into_plans() -> None:
    # the walk order climbs through the listings the dir cache holds: one of
    # the walker's folders pushed out (a small cache, a bushy tree) ends it
    # there, so a folder listed ahead before can lie past what the last scan
    # saw; the walker reaching it is news
    tree = Tree({"": [d("top")], "top": [d("a"), d("b")], "top/a": [d("x")]})
    pf = Prefetch()
    pf.saw_readdir("top", 0.0)
    pf.saw_readdir("top/a", 0.0)
    jobs = pf.plan(tree, never, now=0.0, file_budget=0, dir_room=16)
    assert paths(jobs) == ["top/a/x", "top/b"]
    tree.held["top/a/x"] = {}
    pf.finished(jobs[0], True, 0.0, folders=False)
    del tree.held["top"]  # pushed out of the dir cache
    tree.held["top/b"] = {"c": d("c")}
    pf.finished(jobs[1], True, 0.0, folders=True)
    assert pf.plan(tree, never, now=0.0, file_budget=0, dir_room=16) == []  # stops at top/a
    pf.saw_listing_used("top/a/x")
    pf.saw_readdir("top/a/x", 0.0)
    assert pf.plan(tree, never, now=0.0, file_budget=0, dir_room=16) == []
    pf.saw_listing_used("top/b")
    pf.saw_readdir("top/b", 0.0)
    assert paths(pf.plan(tree, never, now=0.0, file_budget=0, dir_room=16)) == ["top/b/c"]


def test_the_walker_entering_the_folder_where_the_room_cut_the_last_scan_plans_at_once() -> None:
    # the room is full of folders further on, and the walker is heading for
    # the first one the room left unlisted: waiting for a quarter of the room
    # to free would leave the walker to list it itself
    ys = [d(f"y{i:02d}") for i in range(20)]
    tree = Tree({"": [d("top")], "top": [d("s0"), d("s1")], "top/s0": []})
    pf = walking_top()
    (job,) = pf.plan(tree, never, now=0.0, file_budget=0, dir_room=16)
    assert job.path == "top/s1"
    tree.held["top/s1"] = {y.name: y for y in ys}
    pf.finished(job, True, 0.0, folders=True)
    while jobs := pf.plan(tree, never, now=0.0, file_budget=0, dir_room=16):
        landed_ahead(pf, tree, jobs)
    assert sorted(pf.ahead_dirs()) == ["top/s1"] + [f"top/s1/y{i:02d}" for i in range(15)]
    pf.saw_listing_used("top/s1")
    pf.saw_readdir("top/s1", 0.0)
    assert paths(pf.plan(tree, never, now=0.0, file_budget=0, dir_room=16)) == ["top/s1/y15"]


def test_the_walker_beside_the_folder_the_room_left_at_the_top_of_the_mount_plans_at_once() -> None:
    # a walk of the whole mount: its top folders have no parent path
    tree = Tree({"": [d(f"t{i}") for i in range(40)], "t0": []})
    pf = Prefetch()
    pf.saw_readdir("", 0.0)
    pf.saw_readdir("t0", 0.0)
    while jobs := pf.plan(tree, never, now=0.0, file_budget=0, dir_room=16):
        landed_ahead(pf, tree, jobs)
    assert len(pf.ahead_dirs()) == 16  # t1..t16; the room left t17
    pf.saw_listing_used("t1")
    pf.saw_readdir("t1", 0.0)
    assert paths(pf.plan(tree, never, now=0.0, file_budget=0, dir_room=16)) == ["t17"]
