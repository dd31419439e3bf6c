"""How remote names become local names and back (pure).

A POSIX kernel accepts any byte except "/" and NUL in a name, so on Linux and
macOS the remote name is the local name (``IdentityNames``); bytes that are not
UTF-8 travel as surrogate escapes (U+DC80..U+DCFF), which the FUSE binding
turns back into the same bytes.

Windows (WinFsp) refuses ``< > : " \\ | ? *`` in a name and cannot carry lone
surrogates through UTF-16 filenames at all.  ``WindowsNames`` maps each
forbidden character to U+F000 + its code (the convention Cygwin, SFU and WSL
use, so Explorer shows the same look-alike glyphs they do) and each
surrogate-escaped byte 0xXY to U+F1XY, another private-use code point.

A remote name that already holds one of those private-use code points cannot
be told apart from a mapped one; ``WindowsNames.is_ambiguous`` says so, and
``to_local`` leaves such a name unchanged (see ``to_remote`` for what that
costs).
"""

from __future__ import annotations

from typing import Protocol

#: Characters a Windows filename may not contain ("/" is the separator anyway).
WINDOWS_FORBIDDEN = '<>:"\\|?*'

_PUA_FORBIDDEN_BASE = 0xF000
_PUA_BYTES_BASE = 0xF100
_SURROGATE_LOW, _SURROGATE_HIGH = 0xDC80, 0xDCFF


class NameMap(Protocol):
    def to_local(self, name: str) -> str:
        """The local spelling of one remote path component."""
        ...

    def to_remote(self, path: str) -> str:
        """The remote spelling of a local path ("/"-separated; separators are kept)."""
        ...


class IdentityNames:
    """Linux and macOS: a name is passed through unchanged."""

    def to_local(self, name: str) -> str:
        return name

    def to_remote(self, path: str) -> str:
        return path


def _build_tables() -> tuple[dict[int, str], dict[int, str]]:
    to_local: dict[int, str] = {}
    for ch in WINDOWS_FORBIDDEN:
        to_local[ord(ch)] = chr(_PUA_FORBIDDEN_BASE + ord(ch))
    for cp in range(_SURROGATE_LOW, _SURROGATE_HIGH + 1):
        # surrogateescape puts byte 0xXY at U+DCXY; keep the byte value visible
        to_local[cp] = chr(_PUA_BYTES_BASE + (cp - 0xDC00))
    to_remote = {ord(v): chr(k) for k, v in to_local.items()}
    return to_local, to_remote


_TO_LOCAL, _TO_REMOTE = _build_tables()


class WindowsNames:
    """Windows: forbidden characters and undecodable bytes become private-use characters."""

    def to_local(self, name: str) -> str:
        if self.is_ambiguous(name):
            return name
        return name.translate(_TO_LOCAL)

    def to_remote(self, path: str) -> str:
        # Note: an ambiguous remote name (see is_ambiguous) comes back with its
        # private-use characters turned into the forbidden ones, which names a
        # different remote file or none at all -> the server answers 404.
        return path.translate(_TO_REMOTE)

    @staticmethod
    def is_ambiguous(name: str) -> bool:
        """True when ``name`` already contains a code point this map produces."""
        return any(ord(c) in _TO_REMOTE for c in name)
