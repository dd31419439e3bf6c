"""The fake Apache answers exactly like the real apache2 over the same tree.

One real apache2 per IndexOptions style (module scope), over awkward_tree();
normalisations are listed in _support.py.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from fakes import render_apache
from fakes.servers import FakeServer
from fakes.tree import Tree, awkward_tree, name_bytes
from tests.support.fake_servers import FakeServerFactory
from tests.support.real_servers import (
    APACHE_VARIANTS,
    GMTOFF_MINUTES,
    RealServer,
    RealServerFactory,
)

from ._support import comparable, fetch

TREE = awkward_tree()

# apache2 always lists in the server's local time (TZ is set by the launcher)
FAKE_OPTIONS: dict[str, dict[str, Any]] = {
    style: {"style": style, "gmtoff_minutes": GMTOFF_MINUTES} for style in APACHE_VARIANTS
}
DIRS = ["", "sub dir", "b" * 70, "dir&<x>"]


def dir_url(path: str) -> str:
    return "/" + (quote(name_bytes(path), safe="") + "/" if path else "")


@pytest.fixture(scope="module", params=APACHE_VARIANTS)
def pair(
    request: pytest.FixtureRequest,
    real_server_module: RealServerFactory,
    fake_server_module: FakeServerFactory,
) -> tuple[RealServer, FakeServer, str]:
    variant = request.param
    real = real_server_module("apache", TREE, variant=variant)
    fake = fake_server_module("apache", TREE, **FAKE_OPTIONS[variant])
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
    body, headers = render_apache.render(TREE, path, **FAKE_OPTIONS[variant])
    assert body == want.body
    assert headers["Content-Type"] == want.headers["content-type"]


def test_listings_carry_no_range_or_validator_headers(
    pair: tuple[RealServer, FakeServer, str],
) -> None:
    real, fake, _ = pair
    for server in (real, fake):
        reply = fetch(server.url("/"))
        assert not {"accept-ranges", "etag", "last-modified"} & reply.headers.keys()


def test_index_ignore_hides_what_debian_hides(
    real_server: RealServerFactory, fake_server: FakeServerFactory
) -> None:
    """IndexIgnore .??* *~ *# RCS CVS *,v *,t: both servers drop the same names."""
    tree = awkward_tree()
    for name in (".hidden", ".x", "backup~", "note#", "RCS", "v1,v", "keep.txt"):
        tree.add_file(name, b"x")
    real = real_server("apache", tree, variant="ul")
    fake = fake_server("apache", tree, style="ul")
    want, got = fetch(real.url("/")), fetch(fake.url("/"))
    assert got.body == want.body
    for hidden in (b".hidden", b"backup~", b"note#", b"RCS", b"v1,v"):
        assert b"> " + hidden + b"</a>" not in want.body
    assert b"> .x</a>" in want.body and b"> keep.txt</a>" in want.body


# ".??*" counts bytes, not characters: ".\u0080" and ".é" are three bytes
# long and hidden, ".a" is two and shown.  mod_mime (2.4) takes leading dots
# as part of the base name, so ".c" has no type: c.gif by path rule, no alt.
DOTFILES = (
    ".a",
    ".c",
    ".z",
    ".Z",
    ".gz",
    ".\u0080",
    ".é",
    b".\xff".decode("utf-8", "surrogateescape"),
)


@pytest.mark.parametrize("variant", APACHE_VARIANTS)
def test_dotfiles_are_hidden_and_typed_like_apache(
    real_server: RealServerFactory, variant: str
) -> None:
    tree = Tree()
    for name in DOTFILES:
        tree.add_file(name, b"x")
    tree.add_dir(".d")
    real = real_server("apache", tree, variant=variant)
    want = fetch(real.url("/"))
    body, _ = render_apache.render(tree, "", **FAKE_OPTIONS[variant])
    assert body == want.body
    assert b">.c</a>" in want.body or b"> .c</a>" in want.body
    assert b"%c2%80" not in want.body


@pytest.mark.parametrize("variant", APACHE_VARIANTS)
def test_header_and_readme_files_are_spliced_into_the_listing(
    real_server: RealServerFactory, variant: str
) -> None:
    """Debian's HeaderName HEADER.html / ReadmeName README.html: raw bytes, no <h1>."""
    tree = Tree()
    tree.add_file("HEADER.html", b"")  # empty, yet it still replaces the <h1>
    tree.add_dir("README.html")  # a directory is listed, never spliced
    tree.add_file("sub/HEADER.html", b'\x00<a href="x.txt">x</a>\n')
    tree.add_file("sub/README.html", b"<r>&\xff")
    tree.add_file("sub/x.txt", b"x")
    real = real_server("apache", tree, variant=variant)
    for path in ("", "sub", "README.html"):
        want = fetch(real.url(dir_url(path)))
        body, _ = render_apache.render(tree, path, **FAKE_OPTIONS[variant])
        assert body == want.body, path
    assert b"<h1>" not in fetch(real.url("/")).body
    assert b"<r>&\xff</body></html>\n" in fetch(real.url("/sub/")).body


def test_directory_without_slash_redirects(pair: tuple[RealServer, FakeServer, str]) -> None:
    real, fake, _ = pair
    want, got = fetch(real.url("/sub%20dir")), fetch(fake.url("/sub%20dir"))
    assert want.status == got.status == 301
    assert want.headers["location"].endswith("/sub%20dir/")
    assert got.headers["location"].endswith("/sub%20dir/")
