"""A Python thread state kept for each libfuse thread, instead of one per FUSE call.

libfuse's worker threads are not Python threads.  Each call ctypes makes into
Python from such a thread creates a thread state and destroys it when the call
returns (``PyGILState_Ensure``/``Release`` with nothing held): about 20 µs per
upcall here, which measured as half the cost of a minimal mfusepy filesystem
answering ``cp -r`` of 2,000 small files (1.1 -> 0.5 ms of daemon CPU per 10
files).  Taking one extra ``PyGILState_Ensure`` in each such thread, never
released, keeps its thread state alive, so later calls only take the GIL.

The extra reference is never given back: a thread state stays for the life of
each thread it was kept for, so at most ``MAX_KEPT`` threads get one (libfuse3
keeps its workers for the life of the mount; older ones may end idle threads
and start new ones).  The main thread is a Python thread and is left alone.
"""

from __future__ import annotations

import ctypes
import threading

__all__ = ["MAX_KEPT", "keep_thread_state", "kept_count"]

#: Most threads given a lasting thread state (libfuse's worker count is ten
#: by default; WinFsp and old libfuse3 start more under load).
MAX_KEPT = 64

_kept: set[int] = set()
_lock = threading.Lock()
_main = threading.main_thread().ident
#: Seam for tests: takes one more hold on the calling thread's thread state.
_ensure = ctypes.pythonapi.PyGILState_Ensure


def keep_thread_state() -> None:
    """Keep the calling thread's Python thread state until it ends, once per thread.

    Call from inside a FUSE operation (the GIL is held there)."""
    ident = threading.get_ident()
    if ident in _kept or ident == _main or len(_kept) >= MAX_KEPT:
        return
    with _lock:
        if ident in _kept or len(_kept) >= MAX_KEPT:
            return
        _kept.add(ident)
    _ensure()


def kept_count() -> int:
    """How many threads were given a lasting thread state (for tests and -d)."""
    return len(_kept)
