"""lighttpd mod_dirlisting.

Learnt from lighttpd 1.4.69 (Debian), samples in tests/listings/data/lighttpd_*:
a ``<div class="list"><table summary="Directory Listing">`` with one row per
entry: name cell (``<a href="name/">name</a>/`` for directories), "YYYY-Mon-DD
HH:MM:SS" (server local time, read as UTC as everywhere), and a size that is
always rounded ("0.1K", "11.7K", "5.0M") -- so sizes are unknown, resolved
exactly by the core.  The footer names the server: ``<div class="foot">lighttpd/…``.

With ``dir-listing.show-header``/``show-readme`` and ``encode-header``/
``encode-readme`` "disable", lighttpd pastes a directory's HEADER.txt raw right
before the ``<h2>`` and its README.txt raw right before the footer (by default
it escapes them into a ``<pre>``, which is harmless).  Those may hold a
``<div class="list">`` or a table of their own, so the parser reads the list
with mod_dirlisting's exact opening right after the ``<h2>``, not the first one.
"""

from __future__ import annotations

import re

from . import generic
from .builder import ListingBuilder
from .columns import month_number, utc_epoch
from .hrefs import resolve_href
from .markup import MAX_RUN, iter_anchors, iter_table_rows, strip_tags

_DATE = re.compile(r"(\d{4})-([A-Za-z]{3})-(\d{1,2}) (\d{2}):(\d{2}):(\d{2})")
_PREAMBLE = re.compile(
    r"<!DOCTYPE html>\n<html>\n<head>\n(?:<meta [^<>]{0,500}>\n){0,4}"
    rf"<title>Index of [^<>]{{0,{MAX_RUN}}}</title>\n"
)
_LIST = '<div class="list">'
_OWN_TABLE = re.compile(
    r'<div class="list">\n<table summary="Directory Listing"[^<>]{0,200}>\n'
    r'<thead><tr><th class="n">'
)


def has_preamble(text: str) -> bool:
    """The page starts like mod_dirlisting's pages and holds its table.

    Checked before other servers' markers, which a raw HEADER.txt could carry.
    """
    return _PREAMBLE.match(text) is not None and _OWN_TABLE.search(text) is not None


def looks_like(text: str) -> bool:
    head = text[:65536]
    return '<div class="list">' in head and (
        'summary="Directory Listing"' in head or '<div class="foot">lighttpd' in text[-131072:]
    )


def _listing_block(text: str) -> tuple[int, int] | None:
    """(start, end) of the best-shaped ``<div class="list">`` up to its ``</table>``."""
    starts = []
    at = text.find(_LIST)
    while at >= 0:
        starts.append(at)
        at = text.find(_LIST, at + 1)
    best: tuple[int, int, int] | None = None
    for i, start in enumerate(starts):
        nxt = starts[i + 1] if i + 1 < len(starts) else len(text)
        close = text.find("</table>", start, nxt)
        end = nxt if close < 0 else close
        score = 0
        if _OWN_TABLE.match(text, start):
            score += 8
        if text.endswith("</h2>\n", 0, start):
            score += 4
        if close >= 0:
            score += 1
            if text.endswith("</tbody>\n", 0, close):
                score += 2
        if text.count("<table", start, end) > 1:  # mod_dirlisting's list holds one table
            score -= 64
        if best is None or score > best[0]:
            best = (score, start, end)
    return None if best is None else (best[1], best[2])


def parse(text: str, dir_path: bytes, out: ListingBuilder) -> None:
    block = _listing_block(text)
    if block is None:  # not this server's layout (a forced dialect): every child link
        generic.parse(text, dir_path, out)
        return
    start, end = block
    for cells in iter_table_rows(text, start, end):
        if not cells:
            continue
        for anchor in iter_anchors(cells[0]):
            link = resolve_href(anchor.href, dir_path)
            if link.kind not in ("child", "deep"):
                continue
            mtime = 0.0
            if len(cells) > 1:
                m = _DATE.search(strip_tags(cells[1]))
                if m:
                    y, mon, d, hh, mm, ss = m.groups()
                    mtime = utc_epoch(
                        int(y), month_number(mon) or 0, int(d), int(hh), int(mm), int(ss)
                    )
            out.add_link(link, None, None, mtime)
            break
