"""HTTP, comparison and fake-configuration helpers shared by the fidelity tests.

Normalisations (the ONLY differences allowed between a real server and its fake):

* ``Date``: wall clock.  ``Server``: the fake names the version installed here;
  CI may install another point release, so it is compared only when asked.
* ``Connection``, ``Keep-Alive``, ``Transfer-Encoding`` and a listing's
  ``Content-Length``: werkzeug closes every connection and always sends a
  length, where nginx/apache keep connections alive and chunk their listings.
  Bodies are compared byte for byte, so framing cannot hide a difference.
* Error pages (404/416 bodies) are not compared, only status and headers.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from fakes import render_apache, render_nginx
from fakes.tree import Node, Tree, name_bytes
from tests.support.real_servers import APACHE_VARIANTS, GMTOFF_MINUTES

#: (kind, variant) of a real server -> the options that make its fake (and the fake's
#: pure renderer) answer the same; apache2 always lists in the server's local time.
FAKE_OPTIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("nginx", "html"): {"fmt": "html"},
    ("nginx", "html-rounded"): {"fmt": "html", "exact_size": False},
    ("nginx", "html-localtime"): {
        "fmt": "html",
        "localtime": True,
        "gmtoff_minutes": GMTOFF_MINUTES,
    },
    ("nginx", "html-utf8"): {"fmt": "html", "charset": "utf-8"},
    ("nginx", "json"): {"fmt": "json"},
    ("nginx", "xml"): {"fmt": "xml"},
    **{
        ("apache", style): {"style": style, "gmtoff_minutes": GMTOFF_MINUTES}
        for style in APACHE_VARIANTS
    },
}
_RENDERERS = {"nginx": render_nginx.render, "apache": render_apache.render}


def render_like(
    kind: str, variant: str, tree: Tree, path: str = ""
) -> tuple[bytes, dict[str, str]]:
    """(body, headers) the fake of this real server gives for directory ``path``."""
    return _RENDERERS[kind](tree, path, **FAKE_OPTIONS[kind, variant])


def dir_url(path: str) -> str:
    """The URL path of directory ``path`` ("" is the root), every byte escaped."""
    return "/" + (quote(name_bytes(path), safe="") + "/" if path else "")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Reply:
    """One request over a fresh connection; header names lowercased, body raw."""
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1", url  # never anywhere else
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=10)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)
    finally:
        conn.close()


FRAMING = {"date", "server", "connection", "keep-alive", "transfer-encoding"}


def comparable(reply: Reply, *, keep_length: bool = True) -> dict[str, str]:
    drop = FRAMING | (set() if keep_length else {"content-length"})
    return {k: v for k, v in reply.headers.items() if k not in drop}


def children(tree: Tree, path: str) -> dict[str, Node]:
    return dict(tree.listdir(path))
