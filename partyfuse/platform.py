"""What differs between Linux, macOS and Windows, each a function of the platform name.

Every function takes ``platform`` (a ``sys.platform`` value) so tests can ask
about Windows or macOS on a Linux machine.
"""

from __future__ import annotations

import errno
import os
import re
import shlex
import shutil
import sys
from collections.abc import Callable

from .core.names import IdentityNames, NameMap, WindowsNames

#: Names Finder and Spotlight probe in every folder they show; on a read-only
#: mount their absence is normal and not worth a log line.
_MACOS_PROBES = frozenset(
    {
        ".DS_Store",
        ".localized",
        ".hidden",
        ".Spotlight-V100",
        ".Trashes",
        ".metadata_never_index",
        ".metadata_never_index_unless_rootfs",
        ".metadata_direct_scope_only",
        ".ql_disablethumbnails",
        ".ql_disablecache",
        "Backups.backupdb",
    }
)

_DRIVE = re.compile(r"^[A-Za-z]:[\\/]?$")


def current() -> str:
    return sys.platform


def is_windows(platform: str | None = None) -> bool:
    return (platform or sys.platform) == "win32"


def is_macos(platform: str | None = None) -> bool:
    return (platform or sys.platform) == "darwin"


def is_drive_letter(path: str, platform: str | None = None) -> bool:
    """``M:`` on Windows: WinFsp creates the drive, so there is no folder to check."""
    return is_windows(platform) and bool(_DRIVE.match(path))


def names_for(platform: str | None = None) -> NameMap:
    return WindowsNames() if is_windows(platform) else IdentityNames()


def is_quiet_miss(path: str, platform: str | None = None) -> bool:
    """A lookup that fails all the time for reasons of the OS, not the user.

    macOS asks for an AppleDouble ``._name`` companion of every file it
    touches, and Finder for ``.DS_Store`` and friends in every folder.
    """
    if not is_macos(platform):
        return False
    base = path.rstrip("/").rsplit("/", 1)[-1]
    return base.startswith("._") or base in _MACOS_PROBES


def check_mountpoint(path: str, *, nonempty: bool, platform: str | None = None) -> str | None:
    """Why ``path`` cannot be mounted on (one line with a hint), or None when it can."""
    if is_drive_letter(path, platform):
        return None
    if is_windows(platform):
        # WinFsp makes the directory itself (a reparse point) and refuses an existing one
        if os.path.lexists(path):
            return (
                f"mount point {path} already exists; on Windows give a drive letter (M:) "
                "or a directory that does not exist yet"
            )
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            return f"folder {parent} does not exist; create it first"
        return None
    try:
        os.stat(path)
    except FileNotFoundError:
        return f"mount point {path} does not exist; create it first: mkdir -p {path}"
    except OSError as ex:
        return (
            stale_mount_hint(path, ex, platform)
            or f"cannot access mount point {path}: {ex.strerror}"
        )
    if not os.path.isdir(path):
        return f"mount point {path} is not a directory"
    try:
        with os.scandir(path) as it:
            busy = any(True for _ in it)
    except OSError as ex:
        return (
            stale_mount_hint(path, ex, platform) or f"cannot read mount point {path}: {ex.strerror}"
        )
    if busy and not nonempty:
        return f"mount point {path} is not empty; use an empty directory or pass --nonempty"
    return None


def stale_mount_hint(path: str, ex: OSError, platform: str | None = None) -> str | None:
    """The message for a mount point whose FUSE server died without unmounting
    (the kernel answers ENOTCONN; stat may still succeed from its cache, listing
    does not), naming this OS's command that clears it; None for other errors."""
    if ex.errno not in (errno.ENOTCONN, errno.ECONNABORTED):
        return None
    fix = shlex.join(force_unmount_command(path, platform))
    return (
        f"mount point {path} is a stale mount (transport endpoint is not "
        f"connected); unmount it first: {fix}"
    )


def fuse_mount_options(platform: str | None = None) -> dict[str, object]:
    """Options only one OS's FUSE understands."""
    if is_windows(platform):
        # WinFsp: -1 means "the user who mounts", otherwise files show as owned by nobody
        return {"uid": -1, "gid": -1}
    return {}


Which = Callable[[str], str | None]


def _fusermount(which: Which) -> str:
    # fuse3-only systems ship fusermount3 alone; fuse2 ones fusermount
    return next((t for t in ("fusermount3", "fusermount") if which(t)), "fusermount")


def _uses_fusermount(platform: str | None) -> bool:
    return (platform or sys.platform).startswith("linux")


def unmount_command(
    mountpoint: str, platform: str | None = None, which: Which | None = None
) -> list[str]:
    """What a user types to unmount (for hints in messages)."""
    if is_windows(platform):
        return []
    if _uses_fusermount(platform):
        return [_fusermount(which or shutil.which), "-u", mountpoint]
    return ["umount", mountpoint]


def force_unmount_command(
    mountpoint: str, platform: str | None = None, which: Which | None = None
) -> list[str]:
    """What clears a stale mount: lazy on Linux (busy users keep their handles),
    forced on macOS and the BSDs (no fusermount there); nothing on Windows,
    where a dead WinFsp mount goes away with its process."""
    if is_windows(platform):
        return []
    if _uses_fusermount(platform):
        return [_fusermount(which or shutil.which), "-uz", mountpoint]
    return ["umount", "-f", mountpoint]
