"""Plain data shared by the core, the transports and the listing parsers.

Kept free of behaviour so every layer can build and compare these values
without importing anything that does IO.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

#: The unit the file cache counts in (``-cf`` blocks are at most this large).
BLOCK_SIZE = 1 << 20


@dataclass(frozen=True)
class Entry:
    """One name in a remote directory, as a listing describes it.

    ``size`` is ``None`` when the listing only shows a rounded size (nginx
    ``autoindex_exact_size off``, Apache's ``<ul>`` list ...): the core then
    asks the transport for the exact size before the kernel ever sees it, so a
    file is never cut or padded.
    """

    name: str
    """A single path component; non-UTF-8 bytes are kept as surrogateescape."""
    is_dir: bool
    size: int | None
    """Exact size in bytes, or None when the listing gave no exact size."""
    mtime: float
    """Modification time as UTC epoch seconds (0.0 when the listing has none)."""
    key: str | None = None
    """Opaque, transport-specific download hint (copyparty's ``k=`` file key)."""
    etag: str | None = None
    """A validator the server gave for this version of the file, if any."""

    def version(self) -> FileVersion:
        return FileVersion(self.size, self.mtime, self.etag)


class FileVersion(NamedTuple):
    """What identifies one version of a remote file; a change drops its cached blocks.

    A named tuple, not a frozen dataclass: it is made and used as a dict key
    several times per file opened (the block cache, the fetch-ahead policy,
    the transport's memos), and a tuple is made and hashed in C (0.8 µs for
    a make and a look-up against 2.6)."""

    size: int | None
    mtime: float
    etag: str | None = None


@dataclass(frozen=True)
class Listing:
    """A parsed directory listing: entries plus what the parser noticed."""

    entries: list[Entry]
    dialect: str
    """Which parser produced it: a key of ``partyfuse.core.listings.PARSERS``."""
    warnings: list[str] = field(default_factory=list)
    """Dropped or renamed entries (hostile names, duplicates), one line each."""
