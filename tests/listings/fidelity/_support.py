"""HTTP and comparison helpers shared by the fidelity tests.

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
from urllib.parse import urlsplit

from fakes.tree import Node, Tree


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
