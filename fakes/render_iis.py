"""IIS "directory browsing" listings (IIS 7-10; en-US unless another locale is asked for).

IIS cannot run here, so this is derived, not measured.  Sources (found with
the code/docs search):

* The column layout comes from IIS 6's dirlist.cxx (ULW3.DLL,
  ``AddFileEntry``/``HandleDirectoryListing``): each field is right-aligned
  to a fixed width plus one space: short date 10, long date 29, time 8, size
  12 -- or ``&lt;dir&gt;`` padded to 12 + 6 because the entity is 6 bytes
  longer than "<dir>".  Hrefs are absolute (request URL + name, "/" after a
  directory), entries are separated by ``<br>`` only, the parent link is
  ``[To Parent Directory]`` followed by ``<br><br>``, the page ends with
  ``</pre><hr></body></html>``, dates/times are the server's local time.
* IIS 7+ pages captured in other projects' tests (e.g. ``share.qclt.com``,
  ``nemweb.com.au``, ``pds-geosciences.wustl.edu`` listings) show the
  later header without the META tag -- ``<html><head><title>HOST - /path/</title>
  </head><body><H1>HOST - /path/</H1><hr>`` then CRLF CRLF ``<pre>`` -- and
  hrefs percent-encoded as UTF-8 (``/Decision%20PDF/``, ``%E4%B8%9C...``).
* ``showFlags`` (learn.microsoft.com, system.webServer/directoryBrowse):
  Date=2, Time=4, Size=8, Extension=16, LongDate=32; the default is
  Date|Time|Size|Extension.  en-US short date is ``M/d/yyyy``, long date
  ``dddd, MMMM d, yyyy``, time ``h:mm tt``.

Order: by name, case-insensitively, directories mixed with files (NTFS
order; captured pages list e.g. "20190730....gz", then the directory
"March 20", then "S121225...").

Guesses, marked as such: which ASCII punctuation IIS percent-encodes (we
keep RFC 3986 unreserved and sub-delims except "&") and that IIS 7+
HTML-encodes "&" in the visible name.  Windows cannot store ``<>:"\\|?*``,
control characters or a trailing dot/space, so such names are refused
(:func:`can_serve`).
"""

from __future__ import annotations

import time
from urllib.parse import quote

from .tree import Node, Tree, name_bytes

SERVER = "Microsoft-IIS/10.0"
CONTENT_TYPE = "text/html; charset=utf-8"

SHOW_DATE, SHOW_TIME, SHOW_SIZE, SHOW_EXTENSION, SHOW_LONGDATE = 2, 4, 8, 16, 32
DEFAULT_FLAGS = SHOW_DATE | SHOW_TIME | SHOW_SIZE | SHOW_EXTENSION

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = tuple(
    "January February March April May June July August September October November December".split()
)
_DE_DAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
_DE_MONTHS = tuple(
    "Januar Februar März April Mai Juni Juli August September Oktober November Dezember".split()
)
_FORBIDDEN = set('<>:"/\\|?*')


def can_serve(name: str) -> bool:
    """Whether NTFS (and so IIS) could hold this name at all."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False  # not valid UTF-16 either: undecodable bytes
    return (
        not any(c in _FORBIDDEN or ord(c) < 32 for c in name)
        and not name.endswith((".", " "))
        and not name.startswith(".")  # shown, but keep fakes to names IIS users see
    )


def _pad(field: str, width: int) -> str:
    """PadDirField: right-align to ``width`` (never truncate), then one space."""
    return field.rjust(width) + " "


#: Short-date and time formats of the server's system locale (GetDateFormat /
#: GetTimeFormat with LOCALE_NOUSEROVERRIDE).  en-US is IIS's usual face;
#: zh-CN is confirmed by a captured share.qclt.com page ("2010/12/21    15:56").
LOCALES = ("en-US", "zh-CN", "de-DE")


def _date(tm: time.struct_time, long: bool, locale: str) -> str:
    if long:
        if locale == "de-DE":
            return f"{_DE_DAYS[tm.tm_wday]}, {tm.tm_mday}. {_DE_MONTHS[tm.tm_mon - 1]} {tm.tm_year}"
        if locale == "zh-CN":
            return f"{tm.tm_year}年{tm.tm_mon}月{tm.tm_mday}日"
        return f"{_DAYS[tm.tm_wday]}, {_MONTHS[tm.tm_mon - 1]} {tm.tm_mday}, {tm.tm_year}"
    if locale == "de-DE":
        return f"{tm.tm_mday:02d}.{tm.tm_mon:02d}.{tm.tm_year}"
    if locale == "zh-CN":
        return f"{tm.tm_year}/{tm.tm_mon}/{tm.tm_mday}"
    return f"{tm.tm_mon}/{tm.tm_mday}/{tm.tm_year}"


def _time(tm: time.struct_time, locale: str) -> str:
    if locale == "de-DE":
        return f"{tm.tm_hour:02d}:{tm.tm_min:02d}"
    if locale == "zh-CN":
        return f"{tm.tm_hour}:{tm.tm_min:02d}"
    hour = tm.tm_hour % 12 or 12
    return f"{hour}:{tm.tm_min:02d} {'PM' if tm.tm_hour >= 12 else 'AM'}"


def escape_href(raw: bytes) -> str:
    return quote(raw, safe="/-._~!$'()*+,;=@")


def _sorted(tree: Tree, path: str) -> list[tuple[str, Node]]:
    items = tree.listdir(path)
    bad = [n for n, _ in items if not can_serve(n)]
    if bad:
        raise ValueError(f"IIS cannot serve these names: {bad!r}")
    return sorted(items, key=lambda it: (it[0].upper(), it[0]))


def render(
    tree: Tree,
    path: str = "",
    *,
    flags: int = DEFAULT_FLAGS,
    host: str = "localhost",
    gmtoff_minutes: int = 0,
    meta: bool = False,
    locale: str = "en-US",
) -> tuple[bytes, dict[str, str]]:
    """The listing of ``path``; ``flags`` are showFlags; ``meta`` gives the IIS 6 header;
    ``locale`` is the Windows system locale the dates are formatted in."""
    if locale not in LOCALES:
        raise ValueError(f"unknown locale {locale!r}; one of {LOCALES}")
    rel = path.strip("/")
    url = "/" + (rel + "/" if rel else "")
    href_base = escape_href(name_bytes(url))
    out = ["<html><head>"]
    if meta:
        out.append('<META http-equiv="Content-Type" content="text/html; charset=UTF-8">')
    out.append(
        f"<title>{host} - {url}</title></head><body><H1>{host} - {url}</H1><hr>\r\n\r\n<pre>"
    )
    if len(url) >= 3:
        parent = href_base[: href_base.rstrip("/").rfind("/") + 1]
        out.append(f'<A HREF="{parent}">[To Parent Directory]</A><br><br>')
    long = bool(flags & SHOW_LONGDATE)
    for name, node in _sorted(tree, rel):
        tm = time.gmtime(node.mtime + gmtoff_minutes * 60)
        if flags & (SHOW_DATE | SHOW_TIME):
            if flags & SHOW_DATE:
                out.append(_pad(_date(tm, long, locale), 29 if long else 10))
            if flags & SHOW_TIME:
                out.append(_pad(_time(tm, locale), 8))
        if flags & SHOW_SIZE:
            out.append(_pad("&lt;dir&gt;", 18) if node.is_dir else _pad(str(node.size), 12))
        shown = name
        if not flags & SHOW_EXTENSION and shown.rfind(".") > 0:
            shown = shown[: shown.rfind(".")]
        href = href_base + escape_href(name_bytes(name)) + ("/" if node.is_dir else "")
        out.append(f'<A HREF="{href}">{shown.replace("&", "&amp;")}</A><br>')
    out.append("</pre><hr></body></html>")
    return "".join(out).encode("utf-8"), {"Content-Type": CONTENT_TYPE}


def file_etag(node: Node) -> str:
    """IIS's ETag shape: the FILETIME in hex, a colon, a change counter."""
    filetime = (node.mtime + 11644473600) * 10_000_000
    return f'"{filetime:x}:0"'
