"""Python's http.server (SimpleHTTPRequestHandler.list_directory).

``<title>Directory listing for /path/</title>`` then ``<ul><li><a href="name">``;
directories end in "/", no sizes or times (size None, mtime 0).  Undecodable
bytes in names arrive as UTF-8-encoded surrogates ("%ED%B3%BF" for 0xFF) because
it quotes with errors="surrogatepass": decoded back to the same surrogateescape
name (see hrefs.bytes_to_name).
"""

from __future__ import annotations

from .builder import ListingBuilder
from .hrefs import resolve_href
from .markup import iter_anchors


def looks_like(text: str) -> bool:
    return "<title>Directory listing for " in text[:4096]


def parse(text: str, dir_path: bytes, out: ListingBuilder) -> None:
    start = text.find("<ul>")
    for anchor in iter_anchors(text, max(start, 0)):
        out.add_link(resolve_href(anchor.href, dir_path), None, None, 0.0)
