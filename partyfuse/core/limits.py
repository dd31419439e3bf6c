"""What a name, a size and a time may be before the kernel sees them (pure).

A listing comes from a server the user may not control.  One absurd entry
(a size past what a file can be, a time no ``struct stat`` holds, a name the
OS refuses) must cost that entry and never its folder: the FUSE binding packs
values into C structs, where an out-of-range number either wraps silently
(a wrong size) or raises (the whole ``readdir`` fails with EIO).  So every
listing entry passes ``name_problem`` and ``size_problem`` once, in
``ListingBuilder.add`` (``listings.builder``), and
``Attrs.to_stat`` clamps again for values that came from elsewhere (probes).
"""

from __future__ import annotations

import math
import re

#: Longest name, in bytes, Linux and macOS accept for one path component.
MAX_NAME_BYTES = 255
#: Largest size a file can have (off_t is a signed 64-bit integer).
MAX_FILE_SIZE = 2**63 - 1
#: Time range every platform's stat, Python's datetime and WinFsp's FILETIME
#: can show: 1970-01-01 (listings give no earlier time: 0 means "none") to
#: 9999-12-31 23:59:59 UTC.
MIN_MTIME = 0.0
MAX_MTIME = 253402300799.0

#: Control characters that end a line or drive a terminal (C0 but TAB, DEL, C1):
#: a name holding one could forge lines in a script reading ``find`` output or
#: send escape sequences to a terminal.  TAB is kept: legal and harmless, and
#: real servers list such names (the fidelity tree has one).
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def show_name(name: str, limit: int = 60) -> str:
    """A name for a log line: repr'd (so no control character is printed) and
    cut, so a 10 MB name makes a short line."""
    if len(name) <= limit:
        return repr(name)
    return f"{name[:limit]!r}... ({len(name_bytes(name))} bytes)"


def name_bytes(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be one path component under the mount, or None."""
    if name in ("", ".", ".."):
        return "not a file name"
    if "/" in name:
        return "contains '/'"
    if "\0" in name:
        return "contains NUL"
    if _CONTROL.search(name):
        return "contains a control character"
    try:
        size = len(name_bytes(name))
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte
        return "is not representable as bytes"
    if size > MAX_NAME_BYTES:
        return f"longer than {MAX_NAME_BYTES} bytes"
    return None


def size_problem(size: float | None) -> str | None:
    """Why ``size`` (None: unknown, resolved later) cannot be a file's size, or None."""
    if size is None:
        return None
    if isinstance(size, float) and math.isnan(size):
        return "size is not a number"
    if size < 0:
        return f"negative size {size:g}"
    if size > MAX_FILE_SIZE:
        return f"size {size:g} is past what a file can be"
    return None


def clamp_mtime(mtime: float) -> float:
    """``mtime`` within [MIN_MTIME, MAX_MTIME]; not a number -> 0.0 (no time)."""
    if math.isnan(mtime):
        return 0.0
    return min(max(float(mtime), MIN_MTIME), MAX_MTIME)


def clamp_size(size: int) -> int:
    return min(max(size, 0), MAX_FILE_SIZE)
