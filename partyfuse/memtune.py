"""glibc malloc settings for the mount process (Linux only).

A stream allocates a 1 MiB ``bytes`` per window fetched and per read
answered.  With glibc's defaults each such buffer above the (dynamic) mmap
threshold is a fresh ``mmap``: 256 page faults and 1 MiB of zeroing, then an
``munmap``; freed arena memory is trimmed back to the kernel and faulted in
again; and every FUSE thread that allocates gets an arena of its own, holding
freed megabytes of its own.  Measured on loopback streaming 256 MiB: about
8% less CPU per GiB and a third less peak RSS (70 MiB instead of 100-113)
with the settings below.  The memory bound does not move: the cache and the
fetches in flight are bounded, so what malloc keeps for reuse is too.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger("partyfuse.fuse")

#: mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

#: Buffers up to this size come from the arenas (glibc caps it at 32 MiB);
#: the largest fetch the planner makes is 8 MiB plus a read.
MMAP_THRESHOLD = 16 << 20
#: Free memory at the top of an arena kept rather than handed back.
TRIM_THRESHOLD = 64 << 20
#: Arenas shared by all threads (the GIL serialises most allocations anyway).
ARENA_MAX = 2


def tune_malloc(platform: str | None = None) -> bool:
    """Apply the settings above where glibc is there; whether it was."""
    plat = sys.platform if platform is None else platform
    if not plat.startswith("linux"):
        return False
    try:
        # the C library the interpreter is linked with, by dlopen(NULL):
        # find_library("c") would run ldconfig in a subprocess at every mount
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):  # musl has no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = [
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD),
        mallopt(M_ARENA_MAX, ARENA_MAX),
    ]
    log.debug("malloc tuned: %s", "yes" if all(done) else f"partly ({done})")
    return all(done)
