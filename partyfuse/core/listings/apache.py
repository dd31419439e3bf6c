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

Debian's ``HeaderName HEADER.html`` / ``ReadmeName README.html`` paste those
files raw before and after the listing, so only mod_autoindex's own block is
read (see "finding mod_autoindex's own block" below); a page that starts with
mod_autoindex's preamble is Apache whatever a pasted file imitates.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from .builder import ListingBuilder
from .columns import exact_or_rounded_size, month_number, utc_epoch
from .hrefs import Link, resolve_href
from .markup import MAX_RUN, iter_anchor_lines, iter_anchors, iter_table_rows, strip_tags

_DATE_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})")
_DATE_OLD = re.compile(r"(\d{2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2})")
_SIZE = re.compile(r"(?<!\S)(-|\d+(?:\.\d)?[KMGTPE]?)(?!\S)")


def looks_like(text: str) -> bool:
    if has_preamble(text):
        return True
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


# -- finding mod_autoindex's own block ---------------------------------------
#
# Debian's autoindex.conf has ``HeaderName HEADER.html`` and ``ReadmeName
# README.html``: mod_autoindex pastes those files of the listed directory raw
# into the page, the header in place of the <h1> and the readme after the
# listing.  They may hold links, tables, <pre>s and lists of their own, so the
# parser never takes "the first table" or "every link": it scores every
# <table>, <pre> and <ul> block on the page by how exactly it has
# mod_autoindex's shape and reads only the best one.

_N = MAX_RUN
_PREAMBLE = re.compile(
    r'<!DOCTYPE HTML PUBLIC "[^"<>\n]{0,200}"(?: "[^"<>\n]{0,200}")?>\n'
    rf"<html>\n <head>\n  <title>Index of [^<>]{{0,{_N}}}</title>\n"
)
_BODY_OPEN = " </head>\n <body>\n"
_BODY_CLOSE = "</body></html>"
_H1 = re.compile(rf"<h1>Index of [^<>]{{0,{_N}}}</h1>\n")
# mod_autoindex writes its tags in lower case (and these literal patterns scan
# a 6 MB page in a few ms); a pasted <TABLE> cannot bound or hide a lower-case block.
_BLOCK_OPEN = re.compile(r"<(table|pre|ul)(?=[\s>])")
_BLOCK_CLOSE = {k: re.compile(f"</{k}>") for k in ("table", "pre", "ul")}
_SORT_LINK = re.compile(r'<a href="\?C=[NMSD];O=[AD]">')
_PARENT_LINK = re.compile(rf'<a href="([^"<>]{{0,{_N}}})">\s?Parent Directory</a>')

# What mod_autoindex writes, whole blocks (the column/row attributes vary with
# IndexStyleSheet, SuppressIcon, SuppressRules...; descriptions holding markup
# just make a block "not exact", which costs it points, not its entries).
_CELL = rf'(?:<img [^<>]{{0,{_N}}}>|<a href="[^"<>]{{0,{_N}}}">[^<>]{{0,{_N}}}</a>|[^<>]{{0,{_N}}})'
_HR_ROW = r'   <tr[^<>]{0,200}><th colspan="\d{1,2}"><hr></th></tr>\n'
_EXACT = {
    "table": re.compile(
        r"<table[^<>]{0,200}>\n"
        rf"   <tr[^<>]{{0,200}}>(?:<th[^<>]{{0,200}}>{_CELL}</th>)+</tr>\n"
        rf"(?:{_HR_ROW})?"
        rf"(?:<tr[^<>]{{0,200}}>(?:<td[^<>]{{0,200}}>{_CELL}</td>)+</tr>\n)*"
        rf"(?:{_HR_ROW})?"
        r"</table>"
    ),
    "pre": re.compile(
        r"<pre>"
        rf'(?:[^<>\n]|<img [^<>]{{0,{_N}}}>|<a href="\?C=[NMSD];O=[AD]">[^<>]{{0,{_N}}}</a>)*<hr>'
        rf'(?:(?:<img [^<>]{{0,{_N}}}> )? *<a href="[^"<>]{{0,{_N}}}">[^<>]{{0,{_N}}}</a>'
        rf"[^<>\n]{{0,{_N}}}\n)*"
        r"<hr></pre>"
    ),
    "ul": re.compile(rf'<ul>(?:<li><a href="[^"<>]{{0,{_N}}}"> [^<>]{{0,{_N}}}</a></li>\n)*</ul>'),
}


def has_preamble(text: str) -> bool:
    """The page starts the way mod_autoindex starts every listing (emit_preamble).

    Checked before any other server's markers: those could sit in a pasted
    HEADER.html, while the first bytes are always the server's own.
    """
    return _PREAMBLE.match(text) is not None


@dataclass(frozen=True)
class _Block:
    kind: str
    start: int
    end: int
    closed: bool


def _blocks(text: str) -> list[_Block]:
    """Every <table>/<pre>/<ul> up to its close tag, or up to the next open tag of its kind.

    Cut at the next open tag so an unclosed one in a header cannot swallow the
    real block; opens and closes are found in one pass each (bisect, no rescans).
    """
    opens: dict[str, list[int]] = {"table": [], "pre": [], "ul": []}
    for m in _BLOCK_OPEN.finditer(text):
        opens[m.group(1)].append(m.start())
    found = []
    for kind, starts in opens.items():
        if not starts:
            continue
        closes = [(m.start(), m.end()) for m in _BLOCK_CLOSE[kind].finditer(text)]
        close_starts = [c[0] for c in closes]
        for i, s in enumerate(starts):
            nxt = starts[i + 1] if i + 1 < len(starts) else len(text)
            j = bisect.bisect_left(close_starts, s)
            if j < len(closes) and closes[j][0] < nxt:
                found.append(_Block(kind, s, closes[j][1], True))
            else:
                found.append(_Block(kind, s, nxt, False))
    found.sort(key=lambda b: b.start)
    return found


def _lists(text: str, block: _Block, name: str) -> bool:
    return text.find(f'<a href="{name}">', block.start, block.end) >= 0


def _score(text: str, block: _Block, dir_path: bytes, body: tuple[int, int] | None) -> int:
    """How surely this block is mod_autoindex's listing (higher is surer).

    Consistency with the page weighs most: with a HEADER.html pasted in (no
    <h1> right before the block) the real listing lists HEADER.html, and with
    a README.html after it, README.html -- a link, table or copied listing
    inside either file is preceded or followed by the rest of the page, which
    it does not list.  Then the exact shape, the sort links, the parent link.
    """
    score = 0
    # (no slicing here: a page of many blocks must not copy the page once per block)
    if body is not None and body[0] <= block.start and block.end <= body[1]:
        no_header = _H1.fullmatch(text, body[0], block.start) is not None
        no_readme = body[1] - block.end <= 1 and text.startswith(
            "\n" * (body[1] - block.end), block.end
        )
        header_ok = no_header or _lists(text, block, "HEADER.html")
        readme_ok = no_readme or _lists(text, block, "README.html")
        if header_ok and readme_ok:
            score += 16
    exact = _EXACT[block.kind].fullmatch(text, block.start, block.end) is not None
    if exact:
        score += 8
    if _SORT_LINK.search(text, block.start, block.end):
        score += 4
    m = _PARENT_LINK.search(text, block.start, block.end)
    if m and resolve_href(m.group(1), dir_path).kind == "parent":
        score += 4
    if text.find('alt="[', block.start, block.end) >= 0:
        score += 1
    if block.closed:
        score += 1
    if not exact:
        # mod_autoindex links only its entries, its parent and its sort order
        for anchor in iter_anchors(text, block.start, block.end):
            if resolve_href(anchor.href, dir_path).kind in ("other", "deep"):
                if not anchor.href.startswith("?C="):
                    score -= 2
                    break
    return score


def _listing_block(text: str, dir_path: bytes, out: ListingBuilder) -> _Block | None:
    blocks = _blocks(text)
    if not blocks:
        return None
    if len(blocks) == 1:
        return blocks[0]
    open_at = text.find(_BODY_OPEN)
    close_at = text.rfind(_BODY_CLOSE)
    body = (open_at + len(_BODY_OPEN), close_at) if 0 <= open_at < close_at else None
    starts = [b.start for b in blocks]
    scored = []
    for b in blocks:
        score = _score(text, b, dir_path, body)
        # mod_autoindex escapes every name, so its block holds no other block:
        # one that does is a pasted unclosed tag running over the real listing
        if bisect.bisect_left(starts, b.end) - bisect.bisect_right(starts, b.start) > 0:
            score -= 64
        scored.append((score, b))
    best = max(s for s, _ in scored)
    top = [b for s, b in scored if s == best]
    if len(top) > 1:
        out.warn(
            f"{len(top)} blocks on the page look equally like the listing "
            "(a HEADER/README copying it?): read the first"
        )
    return top[0]


def parse(text: str, dir_path: bytes, out: ListingBuilder) -> None:
    block = _listing_block(text, dir_path, out)
    if block is None:  # no table, <pre> or list at all (a forced dialect): every child link
        for anchor in iter_anchors(text):
            out.add_link(resolve_href(anchor.href, dir_path), None, None, 0.0)
        return
    start, stop = block.start, block.end
    if block.kind == "table":
        if _fast_table(text, start, stop, dir_path, out):
            return
        for cells in iter_table_rows(text, start, stop):
            found = _first_link(cells, dir_path)
            if found is not None:
                i, link = found
                _add(out, link, " ".join(strip_tags(c) for c in cells[i + 1 :]))
    elif block.kind == "pre":
        for anchor, _before, after in iter_anchor_lines(text, start, stop):
            link = resolve_href(anchor.href, dir_path)
            if _is_entry(link):
                _add(out, link, strip_tags(after))
    else:
        for anchor in iter_anchors(text, start, stop):
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
