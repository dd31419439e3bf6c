"""What the filesystem tells the kernel about a path, and the cache options.

Plain values shared by the core and the FUSE adapter (``Attrs.to_stat`` is
the dict fusepy/mfusepy expect); the mount is read-only, so every mode lacks
write bits.  Re-exported by ``partyfuse.core.remotefs``.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass

from .limits import clamp_mtime, clamp_size
from .model import Entry


@dataclass(frozen=True)
class CacheConfig:
    dir_max: int = 48
    """-cdn: most directory listings held (0 = no directory cache)."""
    dir_ttl: float = 1.0
    """-cds: seconds before a held listing is stale."""
    file_blocks: int = 12
    """-cf: file cache size in blocks of at most 1 MiB (0 = direct range reads)."""

    def __post_init__(self) -> None:
        if self.dir_max < 0 or self.file_blocks < 0 or not self.dir_ttl >= 0:
            raise ValueError(
                f"cache sizes and ttl must not be negative: -cdn {self.dir_max} "
                f"-cds {self.dir_ttl} -cf {self.file_blocks}"
            )


@dataclass(frozen=True)
class Attrs:
    is_dir: bool
    size: int
    mtime: float

    def to_stat(self) -> dict[str, int | float]:
        """The stat dict; size and time are clamped to what ``struct stat``
        holds, since the binding packs them into C integers that would wrap
        silently (a wrong size) or raise (EIO for the whole folder).  Listing
        entries are already checked with a log line; this is the last guard
        for values from anywhere else.  No owner: the adapter adds the
        mounting user's (``st_uid``/``st_gid``), an OS fact the core keeps out of."""
        mode = (stat.S_IFDIR | 0o555) if self.is_dir else (stat.S_IFREG | 0o444)
        size = clamp_size(self.size)
        mtime = clamp_mtime(self.mtime)
        return {
            "st_mode": mode,
            "st_nlink": 2 if self.is_dir else 1,
            "st_size": size,
            "st_mtime": mtime,
            "st_atime": mtime,
            "st_ctime": mtime,
            "st_blocks": -(-size // 512),
        }


def attrs_of(entry: Entry) -> Attrs:
    """Attrs of a listing entry whose size is resolved (directories report 0)."""
    if entry.is_dir:
        return Attrs(True, 0, entry.mtime)
    assert entry.size is not None
    return Attrs(False, entry.size, entry.mtime)
