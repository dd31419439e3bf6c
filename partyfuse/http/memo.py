"""The transport's one cache policy: small facts about files, never file data.

File bytes are the core's to keep: its block cache holds them, under the
memory bound ``-cf`` sets (see ``partyfuse.core.remotefs``).  There is no
body cache here, which would sit outside that bound: the body of a server
that ignores Range is cut to the asked span while it streams, and the core's
read planner pads small reads to whole small files, so the block cache keeps
what a body cache would.

What the transport does remember is a few dozen bytes per file -- the
quoted request target, the validator an answer carried -- in ``Memo``s: least
recently used first out, ``MAX_FACTS`` entries each.  A fact that falls out
costs one re-quote or one read without ``If-Range`` (still checked against the
listing's size), never a wrong byte.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

#: Facts kept per memo (a few MB at most, whatever the tree).
MAX_FACTS = 4096


class Memo(Generic[K, V]):
    """A thread-safe LRU map with a fixed number of entries."""

    def __init__(self, max_entries: int = MAX_FACTS) -> None:
        self._max = max(1, max_entries)
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._max:
                self._items.popitem(last=False)

    def pop(self, key: K) -> None:
        with self._lock:
            self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


class KeyedLocks(Generic[K]):
    """One lock per key, existing only while someone holds or waits for it.

    The transport takes a file version's lock around a read sent before any
    answer told that version's validator, so that the first answer tells it
    before the next read goes out (with ``If-Range``), never beside it.
    """

    def __init__(self) -> None:
        self._locks: dict[K, tuple[threading.Lock, list[int]]] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def held(self, key: K) -> Iterator[None]:
        with self._lock:
            lock, users = self._locks.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._lock:
                users[0] -= 1
                if not users[0]:
                    del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)
