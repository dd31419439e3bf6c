"""What a listing shows of an entry, by the rules of the server that wrote it.

Servers round sizes and truncate mtimes in their own ways; a test that
parses a listing expects the entry below, not the file's exact size and time.

Size rules: "exact" | "nginx" (exact up to 9999, then K/M/G) | "apache"
(exact below 973, then a decimal K) | "none" (no size shown).
Mtime rules: "sec" | "min" (minute precision) | "none" (no time shown).
"""

from __future__ import annotations

from partyfuse.core.model import Entry


def listed_entry(
    name: str, is_dir: bool, size: int, mtime: int, size_rule: str, mtime_rule: str
) -> Entry:
    """The Entry parse_listing gives for this file or directory under these rules."""
    if is_dir:
        shown_size: int | None = 0
    elif size_rule == "exact":
        shown_size = size
    elif size_rule == "nginx":
        shown_size = size if size <= 9999 else None
    elif size_rule == "apache":
        shown_size = size if size < 973 else None
    else:
        shown_size = None
    shown_mtime = {"sec": float(mtime), "min": float(mtime - mtime % 60), "none": 0.0}
    return Entry(name, is_dir, shown_size, shown_mtime[mtime_rule])
