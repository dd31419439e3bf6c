"""Collecting a listing's entries: the one place every parser's entries pass.

A hostile listing can never make a path escape or a folder vanish: unsafe
names, duplicates and impossible sizes are dropped one entry at a time, each
with a warning line, and times out of range are clamped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import ProtocolError
from ..limits import clamp_mtime, name_problem, show_name, size_problem
from ..model import Entry
from .hrefs import Link, bytes_to_name


class ListingError(ProtocolError):
    """The body is not a directory listing we can read (the caller adds the URL)."""


#: Warnings kept one by one per listing; past this they are counted (a listing
#: of a million hostile entries must not become a million log lines).
MAX_WARNINGS = 100


@dataclass
class ListingBuilder:
    """Collects entries in page order; the one place every parser's entries pass.

    Unsafe names (``limits.name_problem``), duplicates and sizes no file can
    have are dropped, times out of range clamped: each with one warning line,
    so one bad entry costs that entry and never its folder.
    """

    surrogatepass: bool = False
    each_once: bool = False
    """The format lists each entry exactly once (JSON, XML): a repeated name is
    reported even when identical (HTML pages may link a name twice in a row)."""
    entries: dict[str, Entry] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    unreported: int = 0
    """Warnings past MAX_WARNINGS, counted in the last line of ``report()``."""

    def warn(self, msg: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(msg)
        else:
            self.unreported += 1

    def report(self) -> list[str]:
        """The warnings, one line each, plus a count of those not listed."""
        if not self.unreported:
            return list(self.warnings)
        return [
            *self.warnings,
            f"{self.unreported} more entries dropped or clamped (not listed one by one)",
        ]

    def absorb(self, other: ListingBuilder) -> None:
        """Take over what ``other`` collected (a parser's scratch builder), as if
        each of its entries and warnings had been added here in order."""
        if not self.entries and not self.warnings:
            self.entries, self.warnings = other.entries, other.warnings
            self.unreported += other.unreported
            return
        for entry in other.entries.values():
            self.add(entry.name, entry.is_dir, entry.size, entry.mtime, entry.key, entry.etag)
        for line in other.warnings:
            self.warn(line)
        self.unreported += other.unreported

    def name_from_bytes(self, raw: bytes) -> str:
        return bytes_to_name(raw, surrogatepass=self.surrogatepass)

    def add(
        self,
        name: str,
        is_dir: bool,
        size: float | None,
        mtime: float,
        key: str | None = None,
        etag: str | None = None,
    ) -> None:
        """Add one entry as a listing shows it; ``size`` may be any number the
        listing held (a float from JSON too): what no file can be is dropped here."""
        problem = name_problem(name)
        if problem is not None:
            self.warn(f"dropped entry {show_name(name)}: unsafe name ({problem})")
            return
        if is_dir:
            size = 0
        else:
            problem = size_problem(size)
            if problem is not None:
                self.warn(f"dropped entry {show_name(name)}: {problem}")
                return
        exact = None if size is None else int(size)
        fixed = clamp_mtime(mtime)
        if fixed != mtime:  # out of range, or NaN (never equal to itself)
            why = "not a number" if math.isnan(mtime) else f"{mtime:g} is out of range"
            self.warn(f"clamped time of {show_name(name)}: {why}, shown as {fixed:.0f}")
        entry = Entry(name, is_dir, exact, fixed, key, etag)
        old = self.entries.get(name)
        if old is None:
            self.entries[name] = entry
        elif old == entry and not self.each_once:
            pass
        elif old.is_dir == is_dir and old.size is None and old.mtime == 0.0:
            # The same link twice in one row (Apache's IconsAreLinks): the second
            # carries the columns.
            self.entries[name] = entry
        else:
            self.warn(f"duplicate name {show_name(name)}: kept the first")

    def add_link(self, link: Link, is_dir: bool | None, size: int | None, mtime: float) -> None:
        """Add a resolved child link; ``is_dir`` None means "trust the trailing slash"."""
        if link.kind == "deep":
            self.warn(
                f"skipped link below the directory: {show_name(self.name_from_bytes(link.raw))}"
            )
            return
        if link.kind != "child":
            return
        self.add(
            self.name_from_bytes(link.raw), link.slash if is_dir is None else is_dir, size, mtime
        )

    def result(self) -> list[Entry]:
        return list(self.entries.values())
