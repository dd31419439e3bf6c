"""copyparty's HTML file browser, for when the JSON API (``?ls``) is not used.

Learnt from copyparty 1.20 (samples in tests/listings/data/copyparty_html_*):
``<table id="files">`` with rows ``<td>lead</td><td><a href="name">name</a></td>
<td>size</td><td>ext</td><td>YYYY-MM-DD HH:MM:SS</td>``.  Sizes are exact bytes,
times UTC.  The lead cell of a directory holds a "?zip" link (skipped: it has a
query).  Only a browser User-Agent gets this page; curl-like clients get a
plain-text listing, which is not supported (use the JSON API).
"""

from __future__ import annotations

import re

from . import generic
from .builder import ListingBuilder
from .columns import utc_epoch
from .hrefs import resolve_href
from .markup import iter_anchors, iter_table_rows, strip_tags

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})")


def looks_like(text: str) -> bool:
    head = text[:65536]
    return '<table id="files">' in head and ('<th name="href">' in head or "/.cpr/" in head)


def parse(text: str, dir_path: bytes, out: ListingBuilder) -> None:
    start = text.find('<table id="files">')
    if start < 0:  # not this server's layout (a forced dialect): every child link
        generic.parse(text, dir_path, out)
        return
    end = text.find("</table>", start)
    for cells in iter_table_rows(text, max(start, 0), end if end >= 0 else None):
        if len(cells) < 2:
            continue
        for anchor in iter_anchors(cells[1]):
            link = resolve_href(anchor.href, dir_path)
            if link.kind not in ("child", "deep"):
                continue
            rest = [strip_tags(c).strip() for c in cells[2:]]
            size = int(rest[0]) if rest and rest[0].isdigit() and rest[0].isascii() else None
            mtime = 0.0
            for col in rest[1:]:
                m = _DATE.search(col)
                if m:
                    mtime = utc_epoch(*(int(g) for g in m.groups()))
                    break
            out.add_link(link, None, size, mtime)
            break
