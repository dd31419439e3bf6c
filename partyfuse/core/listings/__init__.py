"""Directory-listing parsers: bytes and a content type in, entries out (pure).

Contract (implemented in this package):

    parse_listing(body: bytes, content_type: str, *, url_path: str,
                  dialect: str | None = None) -> Listing

``url_path`` is the URL path of the listed directory as requested
(percent-encoded, ending in "/"), so absolute hrefs (IIS) and same-origin
links can be resolved.  ``dialect`` forces a parser (one of ``DIALECTS``);
None auto-detects.  Raises ``ListingError`` (a ProtocolError) when nothing
matches.  ``Listing.dialect`` names the parser that read the page, one of
``PARSERS``' keys; ``PARSERS`` is the one table of dialect names, and
``DIALECTS`` is derived from it.

One module per server (nginx, apache, iis, lighttpd, pyhttp, cpp_html,
generic; copyparty's JSON lives in copyparty.py); what they share is in
``hrefs`` (hrefs to names), ``builder`` (collecting entries safely),
``markup`` (anchors and table rows) and ``columns`` (dates and sizes).
Every parser is tolerant (a row it cannot read still gives the name, with
size None), while auto-detection is strict (a page that matches no server and
links to nothing is an error, not an empty directory).

Sizes: only what a listing prints as exact bytes is kept; a rounded size
("12K", "1.0M", lighttpd's "0.1K") is None, resolved exactly by the core.
Directories have size 0.  Times are read as UTC.  Listings in the server's
local time (nginx with ``autoindex_localtime on``, Apache, lighttpd, IIS) are
therefore off by the server's UTC offset: a listing never says its zone, and a
constant offset still orders files right and changes whenever they change.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from ..errors import ProtocolError
from ..model import Listing
from . import apache, cpp_html, generic, iis, lighttpd, nginx, pyhttp
from .builder import ListingBuilder, ListingError
from .copyparty import parse_copyparty_doc
from .hrefs import decode_body, norm_dir_path

__all__ = ["DIALECTS", "PARSERS", "ListingError", "parse_listing"]

#: Every dialect a ``Listing`` may name (the parser that read it), and the
#: ``dialect`` value (the ``--html`` option) that forces that parser.
PARSERS = {
    "cpp": "cpp",
    "cpp-html": "cpp",
    "nginx": "nginx",
    "nginx-json": "nginx",
    "nginx-xml": "nginx",
    "iis": "iis",
    "apache": "apache",
    "lighttpd": "lighttpd",
    "python": "python",
    "generic": "generic",
}
#: Values accepted for ``dialect`` (the ``--html`` option), in ``PARSERS``' order.
DIALECTS = tuple(dict.fromkeys(PARSERS.values()))

#: HTML parsers in auto-detection order: the most specific signatures first
#: (every page quotes the directory path, which may itself look like a marker;
#: nginx's "<h1>Index of ...</h1><hr><pre>" is exact, so it goes before Apache's looser test).
_HTML_ORDER = ("cpp-html", "iis", "lighttpd", "python", "nginx", "apache")


def _copyparty_json(doc: dict[str, object]) -> Listing:
    out = ListingBuilder(each_once=True)
    try:
        parse_copyparty_doc(doc, out)
    except ListingError:
        raise
    except ProtocolError as e:
        raise ListingError(str(e)) from None
    return _finish(out, "cpp")


def _json_doc(text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _looks_like_json(text: str, content_type: str) -> bool:
    head = text[:64].lstrip()
    return head[:1] in ("{", "[") or "json" in content_type.lower()


#: HTML dialect -> (recogniser, parser); anything else falls back to the generic parser.
_HTML_DIALECTS: dict[
    str, tuple[Callable[[str], bool], Callable[[str, bytes, ListingBuilder], None]]
] = {
    "cpp-html": (cpp_html.looks_like, cpp_html.parse),
    "iis": (iis.looks_like, iis.parse),
    "lighttpd": (lighttpd.looks_like, lighttpd.parse),
    "python": (pyhttp.looks_like, pyhttp.parse),
    "apache": (apache.looks_like, apache.parse),
    "nginx": (nginx.looks_like_html, nginx.parse_html),
}
_GENERIC = (generic.looks_like_html, generic.parse)


def _html_looks_like(dialect: str, text: str) -> bool:
    return _HTML_DIALECTS.get(dialect, _GENERIC)[0](text)


def _parse_html(dialect: str, text: str, dir_path: bytes, out: ListingBuilder) -> None:
    _HTML_DIALECTS.get(dialect, _GENERIC)[1](text, dir_path, out)


def _finish(out: ListingBuilder, dialect: str) -> Listing:
    return Listing(out.result(), dialect, out.report())


def parse_listing(
    body: bytes, content_type: str, *, url_path: str, dialect: str | None = None
) -> Listing:
    """Entries of one directory listing; see the module docstring for the contract."""
    if dialect is not None and dialect not in DIALECTS:
        raise ListingError(f"unknown listing dialect {dialect!r} (one of {', '.join(DIALECTS)})")
    text = decode_body(body)
    dir_path = norm_dir_path(url_path)
    ctype = content_type.lower()

    if dialect in (None, "cpp", "nginx") and _looks_like_json(text, ctype):
        doc = _json_doc(text)
        if isinstance(doc, dict) and ("dirs" in doc or "files" in doc) and dialect != "nginx":
            return _copyparty_json(doc)
        if nginx.looks_like_json(doc) and dialect != "cpp":
            out = ListingBuilder(each_once=True)
            nginx.parse_json_doc(doc, out)  # type: ignore[arg-type]
            return _finish(out, "nginx-json")
        if dialect is not None or "json" in ctype:
            raise ListingError(
                "JSON listing is neither copyparty's ({dirs, files}) nor nginx's "
                "([{name, type, mtime}]): "
                + ("unparseable JSON" if doc is None else "unknown shape")
            )

    if dialect in (None, "nginx") and nginx.looks_like_xml(text):
        out = ListingBuilder(each_once=True)
        nginx.parse_xml(text, out)
        return _finish(out, "nginx-xml")

    if dialect is None:
        # A page that starts the way mod_autoindex or mod_dirlisting start theirs
        # goes to that parser first: its pasted HEADER/README may imitate any
        # other server's markers, while its first bytes are the server's own.
        order: tuple[str, ...] = _HTML_ORDER
        if apache.has_preamble(text):
            order = ("apache", *_HTML_ORDER)
        elif lighttpd.has_preamble(text):
            order = ("lighttpd", *_HTML_ORDER)
        for name in order:
            if _html_looks_like(name, text):
                out = ListingBuilder(surrogatepass=name == "python")
                _parse_html(name, text, dir_path, out)
                return _finish(out, name)
        if generic.looks_like(text, dir_path):
            out = ListingBuilder()
            generic.parse(text, dir_path, out)
            return _finish(out, "generic")
        raise ListingError(
            f"not a directory listing this client knows (content type {content_type or 'none'!r}; "
            f"try --html generic)"
            if generic.looks_like_html(text)
            else f"not a directory listing (content type {content_type or 'none'!r})"
        )

    name = "cpp-html" if dialect == "cpp" else dialect
    out = ListingBuilder(surrogatepass=name == "python")
    _parse_html(name, text, dir_path, out)
    if not out.entries and not _html_looks_like(name, text):
        raise ListingError(f"page does not look like a {dialect} directory listing")
    return _finish(out, name)
