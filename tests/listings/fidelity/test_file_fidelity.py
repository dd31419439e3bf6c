"""File responses of the fakes match the real servers: ranges, 416, HEAD, validators.

Compared: status, Content-Range, Content-Length, Accept-Ranges (presence and
value), ETag, Last-Modified, and the body of every 2xx GET.  Not compared:
the framing headers listed in _support.py and the bodies of error pages.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from fakes.servers import FakeServer
from fakes.tree import Tree, name_bytes, patterned
from tests.support.fake_servers import FakeServerFactory
from tests.support.real_servers import RealServer, RealServerFactory

from ._support import fetch

TREE = Tree()
TREE.add_file("five.txt", b"hello", mtime=1614834367)
TREE.add_file("empty.bin", b"", mtime=1614834367)
TREE.add_file("big name %#.bin", patterned(300_000, seed=3), mtime=1700000123)

COMPARED = ("content-range", "content-length", "accept-ranges", "etag", "last-modified")

CASES = [
    ("GET", "five.txt", None),
    ("GET", "five.txt", "bytes=1-2"),
    ("GET", "five.txt", "bytes=3-999"),  # runs past EOF: clamped
    ("GET", "five.txt", "bytes=2-"),
    ("GET", "five.txt", "bytes=-2"),
    ("GET", "five.txt", "bytes=5-9"),  # starts at EOF: 416
    ("GET", "five.txt", "bytes=99-"),
    ("HEAD", "five.txt", None),
    ("HEAD", "five.txt", "bytes=0-1"),
    ("GET", "empty.bin", None),
    ("GET", "big name %#.bin", "bytes=131072-262143"),
    ("GET", "big name %#.bin", "bytes=299990-400000"),
    ("GET", "missing.txt", None),
    ("GET", "five.txt/", None),  # a file is not a directory
]
# If-Range: the ETag / Last-Modified the real server sends, or a stale one
IF_RANGE = ["etag", "date", "stale-etag", "stale-date", "weak-etag"]


@pytest.fixture(scope="module", params=["nginx", "apache"])
def pair(
    request: pytest.FixtureRequest,
    real_server_module: RealServerFactory,
    fake_server_module: FakeServerFactory,
) -> tuple[RealServer, FakeServer]:
    return real_server_module(request.param, TREE), fake_server_module(request.param, TREE)


@pytest.mark.parametrize(
    ("method", "name", "range_"), CASES, ids=[f"{m}-{n}-{r}" for m, n, r in CASES]
)
def test_file_response_matches_real(
    pair: tuple[RealServer, FakeServer], method: str, name: str, range_: str | None
) -> None:
    real, fake = pair
    path = "/" + quote(name_bytes(name), safe="/")
    headers = {"Range": range_} if range_ else {}
    want = fetch(real.url(path), method, headers)
    got = fetch(fake.url(path), method, headers)
    assert got.status == want.status
    for header in COMPARED:
        if want.status >= 400 and header == "content-length":
            continue  # error page bodies differ
        assert got.headers.get(header) == want.headers.get(header), header
    if want.status in (200, 206) and method == "GET":
        assert got.body == want.body
        node = TREE.lookup(name)
        assert node is not None and len(want.body) == int(want.headers["content-length"])


@pytest.mark.parametrize("validator", IF_RANGE)
def test_if_range_matches_real(pair: tuple[RealServer, FakeServer], validator: str) -> None:
    real, fake = pair
    current = fetch(real.url("/five.txt"), "HEAD").headers
    value = {
        "etag": current["etag"],
        "date": current["last-modified"],
        "stale-etag": '"1-2"',
        "stale-date": "Thu, 01 Jan 2004 00:00:00 GMT",
        "weak-etag": "W/" + current["etag"],
    }[validator]
    headers = {"Range": "bytes=1-2", "If-Range": value}
    want = fetch(real.url("/five.txt"), headers=headers)
    got = fetch(fake.url("/five.txt"), headers=headers)
    assert (got.status, got.body) == (want.status, want.body)
    assert want.status == (206 if validator in ("etag", "date") else 200)
    for header in COMPARED:
        assert got.headers.get(header) == want.headers.get(header), header
