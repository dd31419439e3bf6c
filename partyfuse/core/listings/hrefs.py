"""Hrefs to names: how a link on a listing page becomes a name, or no entry at all.

Names always come from the href (or the JSON/XML name field), never from the
visible link text: nginx and Apache truncate long texts ("..>"), and the text is
in whatever charset the server felt like.  Percent-decoding is done here on
bytes (``urllib`` is not importable from the core), then the bytes become a str
with ``surrogateescape`` so non-UTF-8 names round-trip to the exact bytes.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

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


#: An href that is only a name, and a "/" after a folder's: no entity, escape,
#: query, fragment, colon, blank or other "/".  Servers write almost every entry
#: so; such an href resolves to the same child as through the rules below,
#: without them (a third of the time nginx's page parse took).
PLAIN_HREF = re.compile(r"[^&%?#:/\s]+/?")


def resolve_href(href_attr: str, dir_path: bytes, *, casefold: bool = False) -> Link:
    """Classify one href relative to the listed directory ``dir_path`` (decoded, "/"-ended).

    Links with a query or fragment are never entries (Apache's "?C=N;O=D" sort
    links, copyparty's "?zip" links): every server percent-encodes a "?" or "#"
    that is part of a name.  Absolute URLs with a scheme or host are skipped: the
    parser does not know the origin, and none of the servers we know links its
    own entries that way.  The path is split on raw "/" before decoding, so an
    encoded "%2F" stays inside the name (where the builder refuses it).
    """
    if PLAIN_HREF.fullmatch(href_attr) is not None:
        slash = href_attr.endswith("/")
        name = href_attr[:-1] if slash else href_attr
        if name not in (".", ".."):
            return Link("child", name.encode("utf-8", "surrogateescape"), slash)
    return resolve_by_rules(href_attr, dir_path, casefold=casefold)


def resolve_by_rules(href_attr: str, dir_path: bytes, *, casefold: bool = False) -> Link:
    """``resolve_href`` for any href (the plain ones included)."""
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
