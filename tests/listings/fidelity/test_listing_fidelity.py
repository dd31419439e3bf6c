"""Each fake answers exactly like its real server over the same tree: nginx and apache2.

One real server per nginx autoindex variant and apache2 IndexOptions style (module
scope), over awkward_tree(); normalisations are listed in _support.py.
"""

from __future__ import annotations

import pytest

from fakes.servers import FakeServer
from fakes.tree import awkward_tree
from tests.support.fake_servers import FakeServerFactory
from tests.support.real_servers import (
    APACHE_VARIANTS,
    NGINX_VARIANTS,
    RealServer,
    RealServerFactory,
)

from ._support import FAKE_OPTIONS, comparable, dir_url, fetch, render_like

TREE = awkward_tree()
DIRS = ["", "sub dir", "b" * 70, "dir&<x>"]
SERVERS = [("apache", v) for v in APACHE_VARIANTS] + [("nginx", v) for v in NGINX_VARIANTS]
Pair = tuple[RealServer, FakeServer, tuple[str, str]]


@pytest.fixture(scope="module", params=SERVERS, ids="-".join)
def pair(
    request: pytest.FixtureRequest,
    real_server_module: RealServerFactory,
    fake_server_module: FakeServerFactory,
) -> Pair:
    kind, variant = request.param
    real = real_server_module(kind, TREE, variant=variant)
    fake = fake_server_module(kind, TREE, **FAKE_OPTIONS[kind, variant])
    return real, fake, (kind, variant)


@pytest.mark.parametrize("path", DIRS, ids=["root", "subdir", "empty-long", "html-chars"])
def test_listing_is_byte_identical(pair: Pair, path: str) -> None:
    real, fake, server = pair
    want = fetch(real.url(dir_url(path)))
    got = fetch(fake.url(dir_url(path)))
    assert want.status == got.status == 200
    assert got.body == want.body, f"{server} {path!r}"
    assert comparable(got, keep_length=False) == comparable(want, keep_length=False)
    # the pure renderer is what the fake serves
    body, headers = render_like(*server, TREE, path)
    assert body == want.body
    assert headers["Content-Type"] == want.headers["content-type"]


def test_listings_carry_no_range_or_validator_headers(pair: Pair) -> None:
    real, fake, _ = pair
    for server in (real, fake):
        reply = fetch(server.url("/"))
        assert not {"accept-ranges", "etag", "last-modified"} & reply.headers.keys()


def test_directory_without_slash_redirects(pair: Pair) -> None:
    real, fake, _ = pair
    want, got = fetch(real.url("/sub%20dir")), fetch(fake.url("/sub%20dir"))
    assert want.status == got.status == 301
    assert want.headers["location"].endswith("/sub%20dir/")
    assert got.headers["location"].endswith("/sub%20dir/")
