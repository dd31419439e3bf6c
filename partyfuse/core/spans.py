"""Half-open byte ranges and the little arithmetic the caches and the planner do on them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A half-open byte range ``[start, end)``."""

    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start


def gaps(lo: int, hi: int, covered: Iterable[Span]) -> list[Span]:
    """The parts of ``[lo, hi)`` not inside any of ``covered``."""
    out: list[Span] = []
    pos = lo
    for span in sorted(covered, key=lambda s: s.start):
        if span.end <= pos or span.start >= span.end:
            continue
        if span.start >= hi:
            break
        if span.start > pos:
            out.append(Span(pos, span.start))
        pos = max(pos, span.end)
        if pos >= hi:
            break
    if pos < hi:
        out.append(Span(pos, hi))
    return out


def covered_until(pos: int, covered: Iterable[Span]) -> int:
    """How far the spans cover contiguously from ``pos``."""
    for span in sorted(covered, key=lambda s: s.start):
        if span.start <= pos < span.end:
            pos = span.end
        elif span.start > pos:
            break
    return pos
