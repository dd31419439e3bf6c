"""What every HTML/JSON/XML listing parser needs: turning hrefs into safe names, and
collecting entries so that a hostile listing can never make a path escape.

Names always come from the href (or the JSON/XML name field), never from the
visible link text: nginx and Apache truncate long texts ("..>"), and the text is
in whatever charset the server felt like.  Percent-decoding is done here on
bytes (``urllib`` is not importable from the core), then the bytes become a str
with ``surrogateescape`` so non-UTF-8 names round-trip to the exact bytes.
"""

from __future__ import annotations

import bisect
import calendar
import functools
import html
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..errors import ProtocolError
from ..limits import clamp_mtime, name_problem, show_name, size_problem
from ..model import Entry


class ListingError(ProtocolError):
    """The body is not a directory listing we can read (the caller adds the URL)."""


#: Longest attribute/text run the regexes will scan; bounds the work a hostile
#: page (an unclosed quote, an <a> without </a>) can cause to O(n * this).
MAX_RUN = 8192

_TAG = re.compile(rf"<[^<>]{{0,{MAX_RUN}}}>")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def decode_body(body: bytes) -> str:
    """Bytes of a listing -> str; undecodable bytes survive as surrogates."""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    return body.decode("utf-8", "surrogateescape")


_HEX = "0123456789abcdefABCDEF"
_HEX_BYTE = {(a + b).encode(): bytes((int(a + b, 16),)) for a in _HEX for b in _HEX}


def pct_decode(raw: str) -> bytes:
    """Percent-decode a URL path component to bytes (no "+" -> space: this is a path).

    A "%" not followed by two hex digits stays as it is (as browsers do).
    """
    data = raw.encode("utf-8", "surrogateescape")
    if b"%" not in data:
        return data
    parts = data.split(b"%")
    out = [parts[0]]
    for part in parts[1:]:
        byte = _HEX_BYTE.get(part[:2])
        if byte is None:
            out.append(b"%" + part)
        else:
            out.append(byte + part[2:])
    return b"".join(out)


_BAD_SURROGATE = re.compile("[\ud800-\udc7f\udd00-\udfff]")


def bytes_to_name(data: bytes, *, surrogatepass: bool = False) -> str:
    """Name bytes -> str, non-UTF-8 bytes as surrogateescape.

    ``surrogatepass``: Python's http.server writes a name's undecodable bytes as
    UTF-8-encoded lone surrogates (U+DC80..U+DCFF, "%ED%B3%BF" for byte 0xFF)
    because it quotes with errors="surrogatepass"; decoding those back gives the
    very surrogateescape str the original bytes have.  Only used for that dialect:
    elsewhere such bytes are a name of their own.
    """
    if surrogatepass and b"\xed" in data:
        try:
            text = data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            pass
        else:
            if not _BAD_SURROGATE.search(text):
                return text
    return data.decode("utf-8", "surrogateescape")


def strip_tags(fragment: str) -> str:
    """Visible text of an HTML fragment (tags become spaces, entities decoded)."""
    return html.unescape(_TAG.sub(" ", fragment))


def norm_dir_path(url_path: str) -> bytes:
    """The listed directory's path as decoded bytes, always ending in "/"."""
    path = url_path.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/"):
        path = "/" + path
    if not path.endswith("/"):
        path += "/"
    return pct_decode(path)


@dataclass(frozen=True)
class Link:
    """An href resolved against the listed directory."""

    kind: str
    """"child"; "deep" (below a child: not an entry, worth a warning); "parent" (the
    listed dir itself or above); "other" (query, fragment, another path or origin)."""
    raw: bytes = b""
    """Decoded name bytes ("child"; the decoded rest for "deep"), trailing slash removed."""
    slash: bool = False
    """The href ended in "/": servers mark directories that way."""


_OTHER = Link("other")
_PARENT = Link("parent")


def resolve_href(href_attr: str, dir_path: bytes, *, casefold: bool = False) -> Link:
    """Classify one href relative to the listed directory ``dir_path`` (decoded, "/"-ended).

    Links with a query or fragment are never entries (Apache's "?C=N;O=D" sort
    links, copyparty's "?zip" links): every server percent-encodes a "?" or "#"
    that is part of a name.  Absolute URLs with a scheme or host are skipped: the
    parser does not know the origin, and none of the servers we know links its
    own entries that way.  The path is split on raw "/" before decoding, so an
    encoded "%2F" stays inside the name (where the builder refuses it).
    """
    href = html.unescape(href_attr).strip()
    if not href or "?" in href or "#" in href:
        return _OTHER
    if href.startswith("//") or _SCHEME.match(href):
        return _OTHER
    if href.startswith("/"):
        segs = [pct_decode(s) for s in href.split("/")]
        want = dir_path.split(b"/")[:-1]
        head = segs[: len(want)]
        same = head == want or (casefold and [h.lower() for h in head] == [w.lower() for w in want])
        if not same:
            if dir_path.startswith(b"/".join(segs)):
                return _PARENT
            return _OTHER
        rest = segs[len(want) :]
    else:
        # nginx and Apache write "./name" when the name has a ":" so it is not
        # taken for a scheme.
        while href.startswith("./"):
            href = href[2:]
        raw_segs = href.split("/")
        if raw_segs[0] in (".", ".."):
            return _PARENT
        # An encoded "%2E%2E" is not a parent link but a hostile name: it goes
        # on to the builder, which refuses it with a warning.
        rest = [pct_decode(s) for s in raw_segs]
    if rest in ([], [b""]):
        return _PARENT
    if len(rest) == 2 and rest[1] == b"":
        return Link("child", rest[0], True)
    if len(rest) == 1:
        return Link("child", rest[0], False)
    return Link("deep", b"/".join(rest), href.endswith("/"))


#: Warnings kept one by one per listing; past this they are counted (a listing
#: of a million hostile entries must not become a million log lines).
MAX_WARNINGS = 100


@dataclass
class ListingBuilder:
    """Collects entries in page order; the one place every parser's entries pass.

    Unsafe names (``limits.name_problem``), duplicates and sizes no file can
    have are dropped, times out of range clamped: each with one warning line,
    so one bad entry costs that entry and never its folder.
    """

    surrogatepass: bool = False
    each_once: bool = False
    """The format lists each entry exactly once (JSON, XML): a repeated name is
    reported even when identical (HTML pages may link a name twice in a row)."""
    entries: dict[str, Entry] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    unreported: int = 0
    """Warnings past MAX_WARNINGS, counted in the last line of ``report()``."""

    def warn(self, msg: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(msg)
        else:
            self.unreported += 1

    def report(self) -> list[str]:
        """The warnings, one line each, plus a count of those not listed."""
        if not self.unreported:
            return list(self.warnings)
        return [
            *self.warnings,
            f"{self.unreported} more entries dropped or clamped (not listed one by one)",
        ]

    def absorb(self, other: ListingBuilder) -> None:
        """Take over what ``other`` collected (a parser's scratch builder), as if
        each of its entries and warnings had been added here in order."""
        if not self.entries and not self.warnings:
            self.entries, self.warnings = other.entries, other.warnings
            self.unreported += other.unreported
            return
        for entry in other.entries.values():
            self.add(entry.name, entry.is_dir, entry.size, entry.mtime, entry.key, entry.etag)
        for line in other.warnings:
            self.warn(line)
        self.unreported += other.unreported

    def name_from_bytes(self, raw: bytes) -> str:
        return bytes_to_name(raw, surrogatepass=self.surrogatepass)

    def add(
        self,
        name: str,
        is_dir: bool,
        size: float | None,
        mtime: float,
        key: str | None = None,
        etag: str | None = None,
    ) -> None:
        """Add one entry as a listing shows it; ``size`` may be any number the
        listing held (a float from JSON too): what no file can be is dropped here."""
        problem = name_problem(name)
        if problem is not None:
            self.warn(f"dropped entry {show_name(name)}: unsafe name ({problem})")
            return
        if is_dir:
            size = 0
        else:
            problem = size_problem(size)
            if problem is not None:
                self.warn(f"dropped entry {show_name(name)}: {problem}")
                return
        exact = None if size is None else int(size)
        fixed = clamp_mtime(mtime)
        if fixed != mtime:  # out of range, or NaN (never equal to itself)
            why = "not a number" if math.isnan(mtime) else f"{mtime:g} is out of range"
            self.warn(f"clamped time of {show_name(name)}: {why}, shown as {fixed:.0f}")
        entry = Entry(name, is_dir, exact, fixed, key, etag)
        old = self.entries.get(name)
        if old is None:
            self.entries[name] = entry
        elif old == entry and not self.each_once:
            pass
        elif old.is_dir == is_dir and old.size is None and old.mtime == 0.0:
            # The same link twice in one row (Apache's IconsAreLinks): the second
            # carries the columns.
            self.entries[name] = entry
        else:
            self.warn(f"duplicate name {show_name(name)}: kept the first")

    def add_link(self, link: Link, is_dir: bool | None, size: int | None, mtime: float) -> None:
        """Add a resolved child link; ``is_dir`` None means "trust the trailing slash"."""
        if link.kind == "deep":
            self.warn(
                f"skipped link below the directory: {show_name(self.name_from_bytes(link.raw))}"
            )
            return
        if link.kind != "child":
            return
        self.add(
            self.name_from_bytes(link.raw), link.slash if is_dir is None else is_dir, size, mtime
        )

    def result(self) -> list[Entry]:
        return list(self.entries.values())


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


_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
_MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_name) if m})


def month_number(name: str) -> int | None:
    return _MONTHS.get(name.lower())


@functools.lru_cache(maxsize=4096)
def _day_epoch(year: int, month: int, day: int) -> float | None:
    """Epoch of 00:00 UTC on a date (cached: a listing's dates repeat), None if impossible."""
    if not (1 <= year <= 9999 and 1 <= month <= 12 and 1 <= day <= 31):
        return None
    if day > calendar.monthrange(year, month)[1]:
        return None
    return float(calendar.timegm((year, month, day, 0, 0, 0, 0, 0, 0)))


def utc_epoch(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> float:
    """Epoch seconds for a wall-clock time read as UTC; 0.0 for an impossible date."""
    if not (0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second <= 60):
        return 0.0
    base = _day_epoch(year, month, day)
    if base is None:
        return 0.0
    return base + hour * 3600 + minute * 60 + second


_SIZE_SUFFIXED = re.compile(r"^\d+(?:\.\d+)?\s*[KMGTPE]i?B?$", re.I)


def exact_or_rounded_size(token: str) -> tuple[bool, int | None]:
    """Parse a size column: (understood, exact size or None).

    A bare number is exact; "12K", "1.2M" are rounded and therefore unknown
    (the core asks the server for the exact size: guessing would cut or pad
    the file).
    """
    token = token.strip()
    if token.isdigit() and token.isascii():
        return True, int(token)
    if _SIZE_SUFFIXED.match(token):
        return True, None
    return False, None


def first(items: Iterable[str]) -> str | None:
    for item in items:
        return item
    return None
