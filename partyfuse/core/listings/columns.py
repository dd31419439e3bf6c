"""Reading a listing's columns: month names, dates read as UTC, exact or rounded sizes."""

from __future__ import annotations

import calendar
import functools
import re

_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
_MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_name) if m})


def month_number(name: str) -> int | None:
    return _MONTHS.get(name.lower())


@functools.lru_cache(maxsize=4096)
def _day_epoch(year: int, month: int, day: int) -> float | None:
    """Epoch of 00:00 UTC on a date (cached: a listing's dates repeat), None if impossible."""
    if not (1 <= year <= 9999 and 1 <= month <= 12 and 1 <= day <= 31):
        return None
    if day > calendar.monthrange(year, month)[1]:
        return None
    return float(calendar.timegm((year, month, day, 0, 0, 0, 0, 0, 0)))


def utc_epoch(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> float:
    """Epoch seconds for a wall-clock time read as UTC; 0.0 for an impossible date."""
    if not (0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second <= 60):
        return 0.0
    base = _day_epoch(year, month, day)
    if base is None:
        return 0.0
    return base + hour * 3600 + minute * 60 + second


_SIZE_SUFFIXED = re.compile(r"^\d+(?:\.\d+)?\s*[KMGTPE]i?B?$", re.I)


def exact_or_rounded_size(token: str) -> tuple[bool, int | None]:
    """Parse a size column: (understood, exact size or None).

    A bare number is exact; "12K", "1.2M" are rounded and therefore unknown
    (the core asks the server for the exact size: guessing would cut or pad
    the file).
    """
    token = token.strip()
    if token.isdigit() and token.isascii():
        return True, int(token)
    if _SIZE_SUFFIXED.match(token):
        return True, None
    return False, None
