"""Microsoft IIS directory browsing (DirectoryListingModule, ``<directoryBrowse>``).

IIS cannot run here; the format was built from Microsoft's documentation of
``showFlags`` (Date=2, Time=4, Size=8, Extension=16, LongDate=32; default
Date|Time|Size|Extension -- learn.microsoft.com/iis/configuration/system.webServer/
directoryBrowse) and from real IIS pages quoted in public code: OWASP ZAP's
directory-listing scanner tests, scrapers of nemweb.com.au (an IIS server using
LongDate) and of apps.bta.wa.gov.  One line per entry inside ``<pre>``, entries
separated by ``<br>``, the columns BEFORE the link::

    <pre><A HREF="/dir/">[To Parent Directory]</A><br><br> 6/12/2014  3:25 AM
    &lt;dir&gt; <A HREF="/dir/sub/">sub</A><br> 6/12/2014 12:05 AM         1234
    <A HREF="/dir/a%20b.txt">a b.txt</A><br></pre>

(one line in reality, wrapped here).

* hrefs are absolute paths; directories say ``&lt;dir&gt;`` (and usually end in "/").
* Size is exact bytes (some ASP.NET hosts group thousands with ","), so it is kept.
* Dates follow the server's locale: en-US "M/D/YYYY  H:MM AM" (12:xx AM is
  00:xx, 12:xx PM is 12:xx), LongDate "Friday, May 12, 2017 10:56 AM", and the
  24-hour "YYYY/M/D    HH:MM" of e.g. zh-CN servers; "DD.MM.YYYY HH:MM" (de-DE)
  too.  Local time of the server, read as UTC (see nginx.py).
  An unreadable date gives mtime 0, never a dropped entry.
"""

from __future__ import annotations

import re

from .builder import ListingBuilder
from .columns import month_number, utc_epoch
from .hrefs import resolve_href
from .markup import iter_anchor_lines, strip_tags

_TIME = r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp]\.?[Mm]\.?)?"
_US = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})\s+" + _TIME)
_YMD = re.compile(r"(\d{4})[/-](\d{1,2})[/-](\d{1,2})\s+" + _TIME)
_DMY_DOT = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})\s+" + _TIME)
_LONG = re.compile(r"(?:[A-Za-z]{3,12},\s*)?([A-Za-z]{3,12})\s+(\d{1,2}),\s*(\d{4})\s+" + _TIME)
_SIZE = re.compile(r"(?:^|(?<=\s))(<dir>|\d{1,3}(?:,\d{3})+|\d+)\s*$", re.I)
# A row's tail: time, spaces, "&lt;dir&gt;" or a size, ONE space, the link -- all on
# one line (nginx's "22:13      0" is followed by a line break, not a link).
_ROW = re.compile(r"(?:[AaPp]\.?[Mm]\.?|\d:\d\d) +(?:&lt;dir&gt;|[\d,]+) <[Aa] [Hh][Rr][Ee][Ff]=")


# The page head: "<title>HOST - /path/</title></head><body><H1>HOST - /path/</H1><hr>"
# (IIS writes "<H1>" in capitals; nginx's "<h1>Index of /a - /b/</h1>" must not match.)
_HEAD = re.compile(r"<H1>[^<>]{0,2048} - /[^<>]{0,8192}</H1><hr>\s*<pre>")


_COLS_MAX = 512


def looks_like(text: str) -> bool:
    head = text[:16384]
    if "[To Parent Directory]</A>" in head:
        return True
    lowered = head.lower()
    if "<pre>" not in lowered:
        return False
    # Each pattern needs a literal of its own (any case for _ROW's link): the
    # checks skip a search that cannot match, which on every nginx page
    # (auto-detection asks IIS first) cost 20 µs of backtracking per listing.
    # No character lowercases to ASCII " <a href=" but those, so a match of
    # _ROW always leaves that text in ``lowered``.
    if " <a href=" in lowered and _ROW.search(head) is not None:
        return True
    return "<H1>" in head and _HEAD.search(head) is not None


def _clock(hh: str, mm: str, ss: str | None, ampm: str | None) -> tuple[int, int, int]:
    hour = int(hh)
    if ampm:
        pm = ampm[0] in "Pp"
        if not 1 <= hour <= 12:
            return -1, 0, 0
        hour = hour % 12 + (12 if pm else 0)
    return hour, int(mm), int(ss or 0)


def parse_date(text: str) -> tuple[float, int]:
    """(mtime, index just past the date) -- 0.0 and 0 when no date is found."""
    m = _US.search(text)
    if m:
        mo, d, y = int(m[1]), int(m[2]), int(m[3])
        if mo > 12 >= d:  # a D/M/YYYY locale (en-GB ...)
            mo, d = d, mo
        hour, minute, sec = _clock(m[4], m[5], m[6], m[7])
        return utc_epoch(y, mo, d, hour, minute, sec), m.end()
    m = _YMD.search(text)
    if m:
        hour, minute, sec = _clock(m[4], m[5], m[6], m[7])
        return utc_epoch(int(m[1]), int(m[2]), int(m[3]), hour, minute, sec), m.end()
    m = _DMY_DOT.search(text)
    if m:
        hour, minute, sec = _clock(m[4], m[5], m[6], m[7])
        return utc_epoch(int(m[3]), int(m[2]), int(m[1]), hour, minute, sec), m.end()
    m = _LONG.search(text)
    if m:
        month = month_number(m[1])
        if month:
            hour, minute, sec = _clock(m[4], m[5], m[6], m[7])
            return utc_epoch(int(m[3]), month, int(m[2]), hour, minute, sec), m.end()
    return 0.0, 0


def parse(text: str, dir_path: bytes, out: ListingBuilder) -> None:
    lo = text.lower()
    start = lo.find("<pre>")
    end = lo.find("</pre>", start + 1) if start >= 0 else -1
    for anchor, before, _after in iter_anchor_lines(
        text, start if start >= 0 else 0, end if end >= 0 else None
    ):
        # IIS paths are case-insensitive: the hrefs may not match the case the
        # client asked for.
        link = resolve_href(anchor.href, dir_path, casefold=True)
        if link.kind not in ("child", "deep"):
            continue
        # The columns sit right before the link; a longer run is not IIS's.
        cols = strip_tags(before[-_COLS_MAX:])
        mtime, date_end = parse_date(cols)
        sm = _SIZE.search(cols[date_end:].strip())
        is_dir: bool | None = None
        size = None
        if sm:
            tok = sm.group(1)
            if tok.lower() == "<dir>":
                is_dir = True
            else:
                is_dir = False
                size = int(tok.replace(",", ""))
        out.add_link(link, is_dir, size, mtime)
