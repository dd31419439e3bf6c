"""The threads read-ahead runs in: the ``spawn`` the core is given."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from .core.readplan import AHEAD_WINDOWS

__all__ = ["Spawner"]

log = logging.getLogger("partyfuse.fuse")


class Spawner:
    """The ``spawn`` the core uses for read-ahead: a small thread pool that never raises.

    As many workers as a stream keeps windows in flight, so they are fetched
    at once (several requests overlap the server's per-request cost, and on a
    slow link keep it busy), not queued behind each other.
    """

    def __init__(self, workers: int = AHEAD_WINDOWS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="partyfuse-ahead")

    def __call__(self, job: Callable[[], None]) -> None:
        def run() -> None:
            try:
                job()
            except Exception as ex:  # read-ahead is optional; the real read will report
                log.debug("read-ahead failed: %r", ex)

        try:
            self._pool.submit(run)
        except RuntimeError:  # pool shut down while unmounting
            pass

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
