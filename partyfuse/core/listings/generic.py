"""The fallback for servers we do not know: every link to a direct child of the directory.

Relative links and absolute-path links under the listed path count; links with a
query or fragment, to a parent, or to another origin do not.  A trailing "/"
marks a directory.  Sizes are unknown (resolved exactly by the core), times 0.
"""

from __future__ import annotations

import re

from .builder import ListingBuilder
from .hrefs import resolve_href
from .markup import iter_anchors

_HTML = re.compile(r"<(?:html|body|a\s|pre|ul|table|title)", re.I)


def looks_like_html(text: str) -> bool:
    return _HTML.search(text[:65536]) is not None


def looks_like(text: str, dir_path: bytes) -> bool:
    """For auto-detection: an HTML page that links to a child or to its parent.

    Only a relative "../" counts as a parent link: an unknown page with neither
    (an error or login page served with 200, whose "/" is a home link) is
    refused rather than shown as an empty directory.
    """
    if not looks_like_html(text):
        return False
    for a in iter_anchors(text):
        if a.href.strip() in ("../", "..") or resolve_href(a.href, dir_path).kind == "child":
            return True
    return False


def parse(text: str, dir_path: bytes, out: ListingBuilder) -> None:
    for anchor in iter_anchors(text):
        link = resolve_href(anchor.href, dir_path)
        if link.kind == "child":
            out.add_link(link, None, None, 0.0)
