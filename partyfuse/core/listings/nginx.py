"""nginx ngx_http_autoindex_module: HTML, JSON and XML (``autoindex_format``).

Learnt from nginx 1.22.1 (Debian) with samples in tests/listings/data/nginx_*:

* HTML: ``<a href="NAME">TEXT</a>`` then padding, ``DD-Mon-YYYY HH:MM`` and the
  size right-aligned; "-" for directories.  TEXT is cut to 47 chars + "..&gt;"
  past 50 columns, so names come from the href only.  With
  ``autoindex_exact_size off`` sizes above 9999 bytes become "10K", "5M", "1G"
  (unknown here, resolved exactly by the core); smaller ones stay exact digits.
* JSON: a list of ``{"name", "type": "directory"|"file"|"other", "mtime":
  RFC 1123 GMT, "size"}``; names are raw bytes (not percent-encoded).
* XML: ``<list><directory mtime="ISO8601Z">name</directory><file mtime size>…``.

Times: JSON and XML are always GMT.  The HTML time is GMT unless
``autoindex_localtime on``, when it is the server's local time; a listing does not
say which, so it is read as UTC (an offset error of the server's UTC offset with
localtime on, documented in README/DEVELOPERS).  Minute precision only.
"""

from __future__ import annotations

import html
import json
import math
import re
from typing import Any

from ..limits import show_name
from .builder import ListingBuilder, ListingError
from .columns import exact_or_rounded_size, month_number, utc_epoch
from .hrefs import PLAIN_HREF, Link, resolve_href
from .markup import MAX_RUN, iter_anchor_lines, strip_tags

_HTML_COLS = re.compile(r"(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{1,2}):(\d{2})\s+(\S+)")


_HTML_HEAD = re.compile(rf"<h1>Index of [^<>]{{0,{MAX_RUN}}}</h1><hr><pre>")


def looks_like_html(text: str) -> bool:
    return _HTML_HEAD.search(text, 0, 16384) is not None


# One whole entry line exactly as nginx writes it (the fast path; any line it
# does not match sends the page through the tolerant per-anchor path).
_HTML_LINE = re.compile(
    rf'<a href="([^"<>]{{0,{MAX_RUN}}})">[^<>]{{0,{MAX_RUN}}}</a> {{0,50}}'
    r"(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{1,2}):(\d{2}) {1,40}(\S{1,40})\r?$",
    re.M,
)


#: Times read from rows, by their column text: a folder's entries share a few
#: minutes, and reading one took a third of a plain row's cost.
_TIMES: dict[tuple[str, ...], float] = {}
_TIMES_KEPT = 4096


def _row_time(cols: tuple[str, ...]) -> float:
    t = _TIMES.get(cols)
    if t is None:
        if len(_TIMES) >= _TIMES_KEPT:
            _TIMES.clear()
        day, mon, year, hour, minute = cols
        t = _TIMES[cols] = utc_epoch(
            int(year), month_number(mon) or 0, int(day), int(hour), int(minute)
        )
    return t


def _columns(cols: tuple[str, ...], slash: bool) -> tuple[bool, int | None, float]:
    """(is_dir, size, mtime) of a row's columns (day, month, year, hour,
    minute, size); ``slash``: its href ends in "/"."""
    size_tok = cols[5]
    is_dir = size_tok == "-" or slash
    size = None if is_dir else exact_or_rounded_size(size_tok)[1]
    return is_dir, size, _row_time(cols[:5])


def _add(out: ListingBuilder, link: Link, cols: tuple[str, ...]) -> None:
    out.add_link(link, *_columns(cols, link.slash))


def _add_plain(out: ListingBuilder, href: str, cols: tuple[str, ...]) -> bool:
    """``_add`` for a row whose href is an ASCII name as nginx writes most
    (``hrefs.PLAIN_HREF``), without resolving it into a Link: the name is the
    href itself (its bytes decode back to it).  False: not such a row."""
    if not href.isascii() or PLAIN_HREF.fullmatch(href) is None:
        return False
    slash = href.endswith("/")
    name = href[:-1] if slash else href
    if name in (".", ".."):
        return False
    out.add(name, *_columns(cols, slash))
    return True


def parse_html(text: str, dir_path: bytes, out: ListingBuilder) -> None:
    start = text.find("<pre>")
    start = start + 5 if start >= 0 else 0
    end = text.find("</pre>", start)
    stop = end if end >= 0 else len(text)
    # Fast path: every anchor is on a line exactly as nginx writes it.  Rows go
    # into a scratch builder as they match (no list of every row's columns:
    # that list was half the peak memory of a big listing) and are kept only
    # if the count comes out right.
    want = text.count("<a ", start, stop) - text.count('<a href="../">', start, stop)
    fast = ListingBuilder(surrogatepass=out.surrogatepass, each_once=out.each_once)
    seen = 0
    for row in _HTML_LINE.finditer(text, start, stop):
        seen += 1
        groups = row.groups()
        href, cols = groups[0], groups[1:]
        if _add_plain(fast, href, cols):
            continue
        link = resolve_href(href, dir_path)
        if link.kind in ("child", "deep"):
            _add(fast, link, cols)
    if seen == want:
        out.absorb(fast)
        return
    del fast
    for anchor, _before, after in iter_anchor_lines(text, start, stop):
        link = resolve_href(anchor.href, dir_path)
        if link.kind not in ("child", "deep"):
            continue
        m = _HTML_COLS.search(strip_tags(after[:512]))
        if m:
            _add(out, link, m.groups())
        else:
            out.add_link(link, None, None, 0.0)


def looks_like_json(doc: object) -> bool:
    return isinstance(doc, list) and all(
        isinstance(d, dict) and "name" in d and "type" in d for d in doc
    )


def _rfc1123(value: object) -> float:
    # "Sat, 21 Nov 2026 10:07:25 GMT" (nginx always writes GMT here)
    if not isinstance(value, str):
        return 0.0
    m = re.match(r"\w{3}, (\d{1,2}) (\w{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2})", value.strip())
    if not m:
        return 0.0
    d, mon, y, hh, mm, ss = m.groups()
    return utc_epoch(int(y), month_number(mon) or 0, int(d), int(hh), int(mm), int(ss))


def parse_json_doc(doc: list[Any], out: ListingBuilder) -> None:
    for item in doc:
        name = item.get("name")
        kind = item.get("type")
        if not isinstance(name, str):
            out.warn(f"skipped entry without a name: {str(item)[:80]!r}")
            continue
        if kind == "directory":
            out.add(name, True, 0, _rfc1123(item.get("mtime")))
        elif kind == "file":
            size = item.get("size")
            # a number is passed on as it is (the builder drops what no file can
            # be); anything else is no size, resolved by the core
            number = isinstance(size, int) and not isinstance(size, bool)
            if isinstance(size, float):  # 1e400 is inf; 5.5 is no byte count
                number = not math.isfinite(size) or size.is_integer() or size < 0
            out.add(name, False, size if number else None, _rfc1123(item.get("mtime")))
        else:
            # "other": a socket, fifo or dangling link nginx will not serve.
            out.warn(f"skipped {str(kind)[:20]!r} entry {show_name(name)}")


def parse_json(text: str, out: ListingBuilder) -> None:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ListingError(f"nginx JSON listing does not parse: {e}") from None
    if not looks_like_json(doc):
        raise ListingError("JSON is not an nginx autoindex list")
    parse_json_doc(doc, out)


_XML_ITEM = re.compile(
    r"<(directory|file|other)((?:\s+[a-z]+=\"[^\"<>]{0,200}\"){0,8})\s*>"
    rf"([^<]{{0,{MAX_RUN}}})</\1>"
)
_XML_ATTR = re.compile(r"([a-z]+)=\"([^\"]*)\"")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})")


def looks_like_xml(text: str) -> bool:
    head = text[:512].lstrip()
    if head.startswith("<?xml"):
        head = head[head.find("?>") + 2 :].lstrip()
    return head.startswith("<list>") or head.startswith("<list/>")


def parse_xml(text: str, out: ListingBuilder) -> None:
    # A regex over nginx's fixed layout rather than an XML parser: names may be
    # raw non-UTF-8 bytes, which no XML parser accepts, and this cannot be made
    # to expand entities.
    for m in _XML_ITEM.finditer(text):
        kind, attrs_s, raw_name = m.groups()
        attrs = dict(_XML_ATTR.findall(attrs_s))
        name = html.unescape(raw_name)
        mt = _ISO.match(attrs.get("mtime", ""))
        mtime = utc_epoch(*(int(g) for g in mt.groups())) if mt else 0.0
        if kind == "directory":
            out.add(name, True, 0, mtime)
        elif kind == "file":
            size_s = attrs.get("size", "")
            out.add(
                name, False, int(size_s) if size_s.isdigit() and size_s.isascii() else None, mtime
            )
        else:
            out.warn(f"skipped 'other' entry {show_name(name)}")
