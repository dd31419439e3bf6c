"""Raising the kernel's read-ahead window of our own mount (Linux, libfuse3).

The kernel sends a FUSE filesystem reads no larger than the mount's
read-ahead window, 128 KiB unless someone raised
``/sys/class/bdi/MAJ:MIN/read_ahead_kb``, even though libfuse3 lets a read be
1 MiB (it negotiates 256 pages per request; libfuse2 cannot).  FUSE's own
``max_readahead`` can only lower that window, never raise it, and only root
may write the sysfs file.  Each read costs us a round of Python calls, so a
stream read in 1 MiB requests instead of 128 KiB ones costs about an eighth
of the calls: when the process may write the file, it does.  Anyone else can
do it by hand (README: "Read sizes").

The window only applies to files opened after it changed; the mount is raised
during FUSE's init, before the kernel passes on any other request for it.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable

log = logging.getLogger("partyfuse.fuse")

#: The read-ahead (and so the largest read) we ask for: libfuse3's 1 MiB.
READ_AHEAD_KB = 1024
SYSFS_BDI = "/sys/class/bdi"
MOUNTINFO = "/proc/self/mountinfo"
#: How ``raise_read_ahead``'s answer ends when the mount was not listed (yet).
NOT_LISTED = "not listed"

_OCTAL = re.compile(rb"\\([0-7]{3})")


def _unescape(field: bytes) -> bytes:
    """mountinfo writes space, tab, newline and backslash as ``\\ooo``."""
    return _OCTAL.sub(lambda m: bytes([int(m.group(1), 8)]), field)


def mount_device(mountpoint: str | bytes, mountinfo: bytes) -> str | None:
    """``MAJ:MIN`` of the FUSE mount on ``mountpoint`` in mountinfo text (the
    last one listed there, the newest), or None if there is none."""
    target = os.fsencode(mountpoint).rstrip(b"/") or b"/"
    found = None
    for line in mountinfo.splitlines():
        fields = line.split(b" ")
        if len(fields) < 10 or b"-" not in fields[6:]:
            continue
        fstype = fields[fields.index(b"-", 6) + 1]
        if _unescape(fields[4]) == target and fstype.startswith(b"fuse"):
            found = fields[2].decode("ascii", "replace")
    return found


def raise_read_ahead(
    mountpoint: str,
    kb: int = READ_AHEAD_KB,
    *,
    sysfs: str = SYSFS_BDI,
    mountinfo: str = MOUNTINFO,
    wait: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Raise the read-ahead of the mount on ``mountpoint`` to ``kb`` KiB if it
    is lower and the file is writable; what happened, in words (for -d).

    ``mountpoint`` must be resolved already (``os.path.realpath`` before the
    mount exists): this runs inside the daemon, and a syscall on its own
    mount (even the ``lstat`` realpath makes) deadlocks the process if it is
    killed while the request is out, leaving a mount nobody can kill.
    """
    real = mountpoint
    device = None
    for attempt in range(max(1, int(wait / 0.05))):
        if attempt:
            sleep(0.05)  # not after the last look: ``wait=0`` looks once and returns
        try:
            with open(mountinfo, "rb") as f:
                device = mount_device(real, f.read())
        except OSError as ex:
            return f"read-ahead left alone: {mountinfo}: {ex.strerror}"
        if device is not None:
            break
    if device is None:
        return f"read-ahead left alone: {real} in {mountinfo}: {NOT_LISTED}"
    path = os.path.join(sysfs, device, "read_ahead_kb")
    try:
        with open(path) as f:
            now = int(f.read().strip() or 0)
        if now >= kb:
            return f"read-ahead {now} KiB already ({path})"
        with open(path, "w") as f:
            f.write(f"{kb}\n")
    except (OSError, ValueError) as ex:
        reason = ex.strerror if isinstance(ex, OSError) else str(ex)
        return f"read-ahead left alone: {path}: {reason}"
    return f"read-ahead raised to {kb} KiB ({path}): reads up to {kb} KiB"
