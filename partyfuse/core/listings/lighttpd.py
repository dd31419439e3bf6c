"""lighttpd mod_dirlisting.

Learnt from lighttpd 1.4.69 (Debian), samples in tests/listings/data/lighttpd_*:
a ``<div class="list"><table summary="Directory Listing">`` with one row per
entry: name cell (``<a href="name/">name</a>/`` for directories), "YYYY-Mon-DD
HH:MM:SS" (server local time, read as UTC as everywhere), and a size that is
always rounded ("0.1K", "11.7K", "5.0M") -- so sizes are unknown, resolved
exactly by the core.  The footer names the server: ``<div class="foot">lighttpd/…``.
"""

from __future__ import annotations

import re

from . import generic
from ._common import (
    ListingBuilder,
    iter_anchors,
    iter_table_rows,
    month_number,
    resolve_href,
    strip_tags,
    utc_epoch,
)

_DATE = re.compile(r"(\d{4})-([A-Za-z]{3})-(\d{1,2}) (\d{2}):(\d{2}):(\d{2})")


def looks_like(text: str) -> bool:
    head = text[:65536]
    return '<div class="list">' in head and (
        'summary="Directory Listing"' in head or '<div class="foot">lighttpd' in text[-131072:]
    )


def parse(text: str, dir_path: bytes, out: ListingBuilder) -> None:
    start = text.find('<div class="list">')
    if start < 0:  # not this server's layout (a forced dialect): every child link
        generic.parse(text, dir_path, out)
        return
    end = text.find("</table>", start)
    for cells in iter_table_rows(text, max(start, 0), end if end >= 0 else None):
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
