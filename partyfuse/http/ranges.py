"""Byte-range bookkeeping: what a Range request asks and whether an answer fits it.

A 206 is only trusted when its Content-Range is exactly the range asked for
(clipped at the end of the file); anything else could splice bytes from the
wrong offset into a read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_UNSATISFIED = re.compile(r"^\s*bytes\s+\*/(\d+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ContentRange:
    first: int
    last: int
    """Inclusive, as in the header."""
    total: int | None


def range_header(start: int, end: int) -> str:
    """``Range`` value for the half-open ``[start, end)``."""
    return f"bytes={start}-{end - 1}"


def parse_content_range(value: str | None) -> ContentRange | None:
    if not value:
        return None
    m = _CONTENT_RANGE.match(value)
    if not m:
        return None
    first, last = int(m.group(1)), int(m.group(2))
    total = None if m.group(3) == "*" else int(m.group(3))
    if last < first or (total is not None and last >= total):
        return None
    return ContentRange(first, last, total)


def unsatisfied_total(value: str | None) -> int | None:
    """The size in a 416's ``Content-Range: bytes */SIZE``."""
    m = _UNSATISFIED.match(value or "")
    return int(m.group(1)) if m else None


def expected_last(start: int, end: int, total: int | None) -> int:
    """The last byte a correct 206 for ``[start, end)`` covers, given the file size."""
    last = end - 1
    if total is not None:
        last = min(last, total - 1)
    return last
