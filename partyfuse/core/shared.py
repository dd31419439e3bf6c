"""What the parts of one filesystem share: the injected world and the state they keep together.

``RemoteFS`` is made of parts (``Namespace`` for listings and lookups,
``Reader`` for reads, ``Fetcher`` for transport calls, ``Prefetcher`` for
fetch-ahead) that must see one lock, one set of caches and one set of
counters, or their consistency rules (a listing that shows a new version drops
the old blocks, a fetch in flight is waited for, not repeated) would not hold.
``RemoteFS`` builds one ``Shared`` and hands it to each part, so each
constructor names only what is its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from .blockcache import BlockCache
from .dircache import DirCache
from .handles import HandleTable
from .stats import Stats
from .transport import Clock

log = logging.getLogger(__name__)

#: Runs a job in the background (a thread pool in production, a list in tests).
Spawn = Callable[[Callable[[], None]], None]
#: Makes a lock (``threading.Lock`` in production, ``nullcontext`` single-threaded).
LockFactory = Callable[[], AbstractContextManager[Any]]


@dataclass(eq=False)
class Shared:
    clock: Clock
    lock_factory: LockFactory
    spawn: Spawn | None
    """None: nothing runs in the background (no read-ahead, no fetch-ahead)."""
    dirs: DirCache
    blocks: BlockCache
    stats: Stats = field(default_factory=Stats)
    handles: HandleTable = field(default_factory=HandleTable)
    lock: AbstractContextManager[Any] = field(init=False)
    """The one lock over the caches, handles and counters; never held during a
    transport call, so one slow request does not stall other FUSE threads."""

    def __post_init__(self) -> None:
        self.lock = self.lock_factory()

    def start(self, job: Callable[[], None], undo: Callable[[], None]) -> None:
        """Hand ``job`` to ``spawn``; if the spawner refuses it (shutting down),
        ``undo`` takes back what the job promised (its gates, its place in flight)."""
        assert self.spawn is not None
        try:
            self.spawn(job)
        except Exception:
            log.debug("spawn failed", exc_info=True)
            undo()
