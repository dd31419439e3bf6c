"""Apache httpd mod_autoindex: HTMLTable, FancyIndexing <pre>, and the plain <ul> list.

Learnt from Apache 2.4.71 (Debian), samples in tests/listings/data/apache_*:

* HTMLTable (Debian's default): one ``<tr>`` per entry, the name cell holds the
  link, then a "YYYY-MM-DD HH:MM" cell and a size cell.
* FancyIndexing without HTMLTable: a ``<pre>``, one line per entry: link, padding,
  date, size (the link text is cut to 20 chars + "..&gt;").
* no FancyIndexing: ``<ul><li><a href="name"> name</a></li>`` -- names only.

Sizes: below 973 bytes Apache prints exact digits; above, "1.0K", "5.0M", "12K"
(rounded -> unknown).  Directories have "-" and an href ending in "/".  The
"Parent Directory" link is an absolute href to the parent.  Dates are the
server's local time (read as UTC; see nginx.py).  Older Apache (2.2) wrote
"DD-Mon-YYYY HH:MM", accepted too.
"""

from __future__ import annotations

import re

from ._common import (
    MAX_RUN,
    Link,
    ListingBuilder,
    exact_or_rounded_size,
    iter_anchor_lines,
    iter_anchors,
    iter_table_rows,
    month_number,
    resolve_href,
    strip_tags,
    utc_epoch,
)

_DATE_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})")
_DATE_OLD = re.compile(r"(\d{2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2})")
_SIZE = re.compile(r"(?<!\S)(-|\d+(?:\.\d)?[KMGTPE]?)(?!\S)")


def looks_like(text: str) -> bool:
    head = text[:8192]
    if "Index of " not in head:
        return False
    return (
        "?C=N;O=" in head
        or "?C=M;O=" in head
        or "Parent Directory</a>" in head
        # the plain list, which may be empty ("<ul></ul>") at the root
        or ("<title>Index of " in head and "<h1>Index of " in head and "<ul>" in head)
    )


def _date(m: re.Match[str]) -> float:
    if m.re is _DATE_ISO:
        y, mo, d, hh, mm = (int(g) for g in m.groups())
        return utc_epoch(y, mo, d, hh, mm)
    d_s, mon, y_s, hh_s, mm_s = m.groups()
    return utc_epoch(int(y_s), month_number(mon) or 0, int(d_s), int(hh_s), int(mm_s))


def _columns(text: str) -> tuple[float, str | None]:
    """(mtime, size token) from the visible text that follows a name."""
    text = text[:1024]  # date and size come first; the description may be long
    mtime = 0.0
    rest = text
    for rx in (_DATE_ISO, _DATE_OLD):
        m = rx.search(text)
        if m:
            mtime = _date(m)
            rest = text[m.end() :]
            break
    sm = _SIZE.search(rest)
    return mtime, sm.group(1) if sm else None


def _add(out: ListingBuilder, link: Link, visible_after: str) -> None:
    mtime, size_tok = _columns(visible_after)
    size = None
    if size_tok is not None and not link.slash:
        _, size = exact_or_rounded_size(size_tok)  # "-": a file Apache could not stat
    out.add_link(link, link.slash, size, mtime)


def _is_entry(link: Link) -> bool:
    return link.kind == "child" or link.kind == "deep"


# One whole HTMLTable row exactly as mod_autoindex writes it (the fast path;
# a page with any row it does not match goes through the tolerant path).
_TABLE_ROW = re.compile(
    rf'<tr><td valign="top">(?:<img [^<>]{{0,{MAX_RUN}}}>|&nbsp;)</td>'
    rf'<td><a href="([^"<>]{{0,{MAX_RUN}}})">[^<>]{{0,{MAX_RUN}}}</a></td>'
    r'<td align="right">(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})  </td>'
    r'<td align="right">([^<>]{0,40})</td>'
)


def _fast_table(text: str, start: int, stop: int, dir_path: bytes, out: ListingBuilder) -> bool:
    rows = _TABLE_ROW.findall(text, start, stop)
    parent = 1 if "Parent Directory</a></td>" in text[start : start + MAX_RUN] else 0
    if len(rows) != text.count("<tr><td", start, stop) - parent:
        return False
    for href, y, mo, d, hh, mm, size_tok in rows:
        link = resolve_href(href, dir_path)
        if link.kind != "child" and link.kind != "deep":
            continue
        size = None if link.slash else exact_or_rounded_size(size_tok)[1]
        out.add_link(link, link.slash, size, utc_epoch(int(y), int(mo), int(d), int(hh), int(mm)))
    return True


def parse(text: str, dir_path: bytes, out: ListingBuilder) -> None:
    table = text.find("<table")
    pre = text.find("<pre")
    if table >= 0 and (pre < 0 or table < pre):
        end = text.find("</table>", table)
        if _fast_table(text, table, end if end >= 0 else len(text), dir_path, out):
            return
        for cells in iter_table_rows(text, table, end if end >= 0 else None):
            found = _first_link(cells, dir_path)
            if found is not None:
                i, link = found
                _add(out, link, " ".join(strip_tags(c) for c in cells[i + 1 :]))
    elif pre >= 0:
        end = text.find("</pre>", pre)
        for anchor, _before, after in iter_anchor_lines(text, pre, end if end >= 0 else None):
            link = resolve_href(anchor.href, dir_path)
            if _is_entry(link):
                _add(out, link, strip_tags(after))
    else:
        for anchor in iter_anchors(text):
            out.add_link(resolve_href(anchor.href, dir_path), None, None, 0.0)


def _first_link(cells: list[str], dir_path: bytes) -> tuple[int, Link] | None:
    """The first cell with a link to an entry (icons may be links too: IconsAreLinks)."""
    for i, cell in enumerate(cells):
        if "<a" not in cell and "<A" not in cell:
            continue
        for anchor in iter_anchors(cell):
            link = resolve_href(anchor.href, dir_path)
            if _is_entry(link):
                return i, link
    return None
