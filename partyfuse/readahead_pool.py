"""The threads read-ahead and fetch-ahead run in: the ``spawn`` the core is given."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from .core.readplan import AHEAD_WINDOWS

__all__ = ["Spawner"]

log = logging.getLogger("partyfuse.fuse")

Job = Callable[[], None]


class Spawner:
    """The ``spawn`` the core uses: a small pool of threads that never raises.

    As many workers as jobs may be in flight (a stream's windows, fetch-ahead's
    cap), so they run at once (several requests overlap the server's
    per-request cost, and on a slow link keep it busy), not queued behind each
    other.  A thread starts with each of the first ``workers`` jobs and stays.

    A plain queue and threads, not ``ThreadPoolExecutor``: nothing waits on a
    job's result, and the executor's future, work item and idle-thread
    bookkeeping cost about 5 µs of the daemon's CPU per job, on every file
    fetched ahead (measured with one CPU shared, as on loopback).
    """

    def __init__(self, workers: int = AHEAD_WINDOWS) -> None:
        if workers < 1:
            raise ValueError(f"a spawner needs at least one worker, not {workers}")
        self._max = workers
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closed = False

    def __call__(self, job: Job) -> None:
        if self._closed:
            return  # unmounting: the foreground read, if any, does its own fetch
        self._jobs.put(job)
        if len(self._threads) < self._max:
            with self._lock:
                if len(self._threads) < self._max and not self._closed:
                    t = threading.Thread(
                        target=self._work,
                        name=f"partyfuse-ahead_{len(self._threads)}",
                        daemon=True,  # a job stuck on the network never holds up exit
                    )
                    self._threads.append(t)
                    t.start()

    def _work(self) -> None:
        get = self._jobs.get
        while (job := get()) is not None:
            try:
                job()
            except Exception as ex:  # read-ahead is optional; the real read will report
                log.debug("read-ahead failed: %r", ex)

    def shutdown(self, wait: bool = False) -> None:
        """Drop the jobs not started and end the threads (after their job)."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        while True:
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                break
        for _ in threads:
            self._jobs.put(None)
        if wait:
            for t in threads:
                t.join()
