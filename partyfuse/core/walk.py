"""Where a program walking a tree goes next: pure functions over the listings held.

``cp -r``, ``tar``, ``rsync`` and ``find`` walk depth-first, in listing order,
the files of a folder before its subfolders.  Given where such a walker is,
``walk_order`` yields the folders it lists next and ``files_after`` the files
it opens next; ``prefetch.Prefetch`` picks from them what to fetch ahead.
Generated lazily: a plan looks only as far as its budget reaches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from .model import Entry

#: Most folders a plan looks through for files (the walk order is generated lazily).
SCAN_LIMIT = 64

Listing = Callable[[str], Mapping[str, Entry] | None]
"""A fresh listing of a folder held by the dir cache (name -> entry), or None."""


def parent_of(path: str) -> str | None:
    if not path:
        return None
    return path.rpartition("/")[0]


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def walk_order(listing: Listing, at: str, root: str) -> Iterator[tuple[str, bool]]:
    """Folders a depth-first pre-order walker at ``at`` lists next, within
    ``root``: ``(path, listed)``; the subfolders of an unlisted folder are not
    known yet, so it is yielded but not descended into."""
    yield from _below(listing, at)
    node = at
    while node != root:
        up = parent_of(node)
        if up is None:
            return
        held = listing(up)
        if held is None:
            return
        name = node.rpartition("/")[2]
        later = False
        for entry in held.values():
            if not entry.is_dir:
                continue
            if later:
                path = _join(up, entry.name)
                sub = listing(path)
                yield path, sub is not None
                if sub is not None:
                    yield from _below(listing, path, sub)
            elif entry.name == name:
                later = True
        node = up


def _below(
    listing: Listing, folder: str, held: Mapping[str, Entry] | None = None
) -> Iterator[tuple[str, bool]]:
    """The folders under ``folder`` in walk order; ``held``: its listing, if
    the caller has it already (each folder's listing is looked up once)."""
    if held is None:
        held = listing(folder)
        if held is None:
            return
    for entry in held.values():
        if entry.is_dir:
            path = _join(folder, entry.name)
            sub = listing(path)
            yield path, sub is not None
            if sub is not None:
                yield from _below(listing, path, sub)


def files_after(listing: Listing, reader: str, root: str) -> Iterator[tuple[str, Entry]]:
    """Files a program reading ``reader`` opens next, if it reads in listing
    order and walks folders depth-first (files of a folder before its subfolders)."""
    folder = parent_of(reader)
    if folder is None:
        return
    name = reader.rpartition("/")[2]
    held = listing(folder)
    if held is not None:
        later = False
        for entry in held.values():
            if entry.is_dir:
                continue
            if later:
                yield _join(folder, entry.name), entry
            elif entry.name == name:
                later = True
    scanned = 0
    for path, listed in walk_order(listing, folder, root):
        scanned += 1
        if scanned > SCAN_LIMIT:
            return
        sub = listing(path) if listed else None
        if sub is None:
            continue
        for entry in sub.values():
            if not entry.is_dir:
                yield _join(path, entry.name), entry
