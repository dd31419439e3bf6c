"""The fake nginx answers exactly like the real nginx over the same tree.

One real nginx per autoindex variant (module scope), over awkward_tree();
normalisations are listed in _support.py.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import pytest

from fakes import render_nginx
from fakes.servers import FakeServer
from fakes.tree import awkward_tree, name_bytes
from tests.support.fake_servers import FakeServerFactory
from tests.support.real_servers import GMTOFF_MINUTES, NGINX_VARIANTS, RealServer, RealServerFactory

from ._support import comparable, fetch

TREE = awkward_tree()

FAKE_OPTIONS: dict[str, dict[str, Any]] = {
    "html": {"fmt": "html"},
    "html-rounded": {"fmt": "html", "exact_size": False},
    "html-localtime": {"fmt": "html", "localtime": True, "gmtoff_minutes": GMTOFF_MINUTES},
    "html-utf8": {"fmt": "html", "charset": "utf-8"},
    "json": {"fmt": "json"},
    "xml": {"fmt": "xml"},
}
DIRS = ["", "sub dir", "b" * 70, "dir&<x>"]


def dir_url(path: str) -> str:
    return "/" + (quote(name_bytes(path), safe="") + "/" if path else "")


@pytest.fixture(scope="module", params=NGINX_VARIANTS)
def pair(
    request: pytest.FixtureRequest,
    real_server_module: RealServerFactory,
    fake_server_module: FakeServerFactory,
) -> tuple[RealServer, FakeServer, str]:
    variant = request.param
    real = real_server_module("nginx", TREE, variant=variant)
    fake = fake_server_module("nginx", TREE, **FAKE_OPTIONS[variant])
    return real, fake, variant


@pytest.mark.parametrize("path", DIRS, ids=["root", "subdir", "empty-long", "html-chars"])
def test_listing_is_byte_identical(pair: tuple[RealServer, FakeServer, str], path: str) -> None:
    real, fake, variant = pair
    want = fetch(real.url(dir_url(path)))
    got = fetch(fake.url(dir_url(path)))
    assert want.status == got.status == 200
    assert got.body == want.body, f"{variant} {path!r}"
    assert comparable(got, keep_length=False) == comparable(want, keep_length=False)
    # the pure renderer is what the fake serves
    body, headers = render_nginx.render(TREE, path, **FAKE_OPTIONS[variant])
    assert body == want.body
    assert headers["Content-Type"] == want.headers["content-type"]


def test_listings_carry_no_range_or_validator_headers(
    pair: tuple[RealServer, FakeServer, str],
) -> None:
    real, fake, _ = pair
    for server in (real, fake):
        reply = fetch(server.url("/"))
        assert not {"accept-ranges", "etag", "last-modified"} & reply.headers.keys()


def test_directory_without_slash_redirects(pair: tuple[RealServer, FakeServer, str]) -> None:
    real, fake, _ = pair
    want, got = fetch(real.url("/sub%20dir")), fetch(fake.url("/sub%20dir"))
    assert want.status == got.status == 301
    assert want.headers["location"].endswith("/sub%20dir/")
    assert got.headers["location"].endswith("/sub%20dir/")


def test_basic_auth_matches_real(
    real_server: RealServerFactory, fake_server: FakeServerFactory
) -> None:
    """nginx auth_basic with a {SHA} htpasswd: 401 without, the same listing with."""
    auth = ("alice", "pass word:é")
    real = real_server("nginx", TREE, variant="html", auth=auth)
    fake = fake_server("nginx", TREE, auth=auth)
    for server in (real, fake):
        denied = fetch(server.url("/"))
        assert denied.status == 401
        assert denied.headers["www-authenticate"].startswith("Basic realm=")
        wrong = fetch(server.url("/"), headers={"Authorization": _basic("alice", "nope")})
        assert wrong.status == 401
    want = fetch(real.url("/"), headers={"Authorization": _basic(*auth)})
    got = fetch(fake.url("/"), headers={"Authorization": _basic(*auth)})
    assert want.status == got.status == 200
    assert got.body == want.body
    ranged = {"Authorization": _basic(*auth), "Range": "bytes=0-3"}
    want = fetch(real.url("/with%20space.txt"), headers=ranged)
    got = fetch(fake.url("/with%20space.txt"), headers=ranged)
    assert (want.status, want.body) == (got.status, got.body) == (206, TREE_FILE[:4])


TREE_FILE = TREE.lookup("with space.txt").data  # type: ignore[union-attr]


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
