"""Scanning HTML listing pages: anchors, the text on their lines, table rows.

Regexes with bounded runs (``MAX_RUN``) and a binary search to pair tags, so
a hostile page (an unclosed quote, a million ``<a>`` without ``</a>``) costs
O(n log n) work, never O(n**2).
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

#: Longest attribute/text run the regexes will scan; bounds the work a hostile
#: page (an unclosed quote, an <a> without </a>) can cause to O(n * this).
MAX_RUN = 8192

_TAG = re.compile(rf"<[^<>]{{0,{MAX_RUN}}}>")


def strip_tags(fragment: str) -> str:
    """Visible text of an HTML fragment (tags become spaces, entities decoded)."""
    return html.unescape(_TAG.sub(" ", fragment))


_N = MAX_RUN
_A_OPEN = re.compile(
    rf"<a\s[^<>]{{0,{_N}}}?\bhref\s*=\s*"
    rf"(?:\"([^\"<>]{{0,{_N}}})\"|'([^'<>]{{0,{_N}}})'|([^\s\"'<>]{{1,{_N}}}))"
    rf"[^<>]{{0,{_N}}}>",
    re.I,
)
_A_CLOSE = re.compile(r"</a\s*>", re.I)


@dataclass(frozen=True)
class Anchor:
    href: str
    text: str
    """Inner HTML of the anchor (not unescaped)."""
    start: int
    end: int


def iter_anchors(text: str, start: int = 0, end: int | None = None) -> Iterator[Anchor]:
    """``<a href=...>...</a>`` in page order.

    Opening and closing tags are found in one pass each and paired with a
    binary search, so a page of unclosed anchors costs O(n log n), not O(n**2).
    An anchor whose ``</a>`` does not come before the next ``<a`` is skipped.
    """
    stop = len(text) if end is None else end
    closes = [(m.start(), m.end()) for m in _A_CLOSE.finditer(text, start, stop)]
    close_starts = [c[0] for c in closes]
    opens = list(_A_OPEN.finditer(text, start, stop))
    for i, m in enumerate(opens):
        next_open = opens[i + 1].start() if i + 1 < len(opens) else stop
        j = bisect.bisect_left(close_starts, m.end())
        if j == len(closes) or closes[j][0] > next_open:
            continue
        href = m.group(1) if m.group(1) is not None else m.group(2) or m.group(3) or ""
        yield Anchor(href, text[m.end() : closes[j][0]], m.start(), closes[j][1])


def iter_anchor_lines(
    text: str, start: int = 0, end: int | None = None
) -> Iterator[tuple[Anchor, str, str]]:
    """Anchors of a <pre> listing with the text around each on its line.

    Yields (anchor, before, after): ``before`` is the markup since the previous
    anchor or line break, ``after`` runs to the next line break or anchor.  nginx
    and Apache put their columns after the link, IIS before it.
    """
    anchors = list(iter_anchors(text, start, end))
    stop = len(text) if end is None else end
    for i, a in enumerate(anchors):
        lo = anchors[i - 1].end if i else start
        nl = text.rfind("\n", lo, a.start)
        before = text[max(lo, nl + 1) : a.start]
        hi = anchors[i + 1].start if i + 1 < len(anchors) else stop
        nl = text.find("\n", a.end, hi)
        after = text[a.end : hi if nl < 0 else nl]
        yield a, before, after


_ROW = re.compile(r"<tr[\s>]", re.I)
_CELL = re.compile(rf"<t[dh][^<>]{{0,{MAX_RUN}}}>", re.I)
_CELL_END = re.compile(r"</t[dh]\s*>", re.I)


def iter_table_rows(text: str, start: int = 0, end: int | None = None) -> Iterator[list[str]]:
    """Rows of an HTML table as lists of cell inner-HTML (tolerant of missing </td>/</tr>)."""
    stop = len(text) if end is None else end
    starts = [m.start() for m in _ROW.finditer(text, start, stop)]
    for i, s in enumerate(starts):
        row = text[s : starts[i + 1] if i + 1 < len(starts) else stop]
        cells = _CELL.split(row)[1:]
        yield [_CELL_END.split(c, maxsplit=1)[0] for c in cells]
