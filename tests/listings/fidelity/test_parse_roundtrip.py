"""parse_listing(real) == parse_listing(fake) == the tree, for every server we fake or launch.

What "== the tree" means per format (the listing decides what can be known):

* names and is_dir: always exact (after the server's own hiding rules).
* size: exact where the listing prints bytes (nginx exact HTML, JSON, XML,
  IIS); otherwise None or, where the printed number happens to be exact
  (nginx rounded <= 9999, Apache < 973), the exact size -- never a wrong one.
* mtime: what the listing shows, read as UTC (parsers cannot know the
  server's zone): local-time listings are shifted by the server's offset,
  and minute-precision ones are floored to the minute; http.server has none.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from fakes import render_apache, render_iis
from fakes.tree import Tree, awkward_tree
from partyfuse.core.listings import parse_listing
from partyfuse.core.model import Entry
from tests.support.real_servers import GMTOFF_MINUTES, RealServer, RealServerFactory

from ._support import FAKE_OPTIONS, dir_url, fetch, render_like

TREE = awkward_tree()
RealCase = tuple[str, str, RealServer]
DIRS = ["", "sub dir", "b" * 70]


@dataclass(frozen=True)
class Rules:
    exact_sizes: bool
    exact_below: int  # sizes up to this are printed as exact digits
    shift_minutes: int
    precision: int  # seconds; 0 = the listing shows no time


RULES: dict[tuple[str, str], Rules] = {
    ("nginx", "html"): Rules(True, 0, 0, 60),
    ("nginx", "html-rounded"): Rules(False, 9999, 0, 60),
    ("nginx", "html-localtime"): Rules(True, 0, GMTOFF_MINUTES, 60),
    ("nginx", "html-utf8"): Rules(True, 0, 0, 60),
    ("nginx", "json"): Rules(True, 0, 0, 1),
    ("nginx", "xml"): Rules(True, 0, 0, 1),
    ("apache", "table"): Rules(False, 972, GMTOFF_MINUTES, 60),
    ("apache", "pre"): Rules(False, 972, GMTOFF_MINUTES, 60),
    ("apache", "ul"): Rules(False, -1, 0, 0),
    ("lighttpd", "dirlisting"): Rules(False, -1, GMTOFF_MINUTES, 1),
    ("python", "http.server"): Rules(False, -1, 0, 0),
}


def visible(kind: str, name: str) -> bool:
    if kind == "apache":
        return not render_apache.ignored(name)
    if kind in ("nginx", "lighttpd"):
        return not name.startswith(".")
    return True


def assert_matches_tree(
    entries: list[Entry], tree: Tree, path: str, kind: str, rules: Rules
) -> None:
    want = {name: node for name, node in tree.listdir(path) if visible(kind, name)}
    got = {e.name: e for e in entries}
    assert sorted(got) == sorted(want)
    for name, node in want.items():
        entry = got[name]
        assert entry.is_dir == node.is_dir, name
        if not node.is_dir:
            if rules.exact_sizes or node.size <= rules.exact_below:
                assert entry.size == node.size, name
            else:
                assert entry.size in (None, node.size), name
        if rules.precision:
            shown = node.mtime + rules.shift_minutes * 60
            assert entry.mtime == shown - shown % rules.precision, name
        else:
            assert entry.mtime == 0.0, name


@pytest.fixture(scope="module", params=sorted(RULES), ids="-".join)
def real(request: pytest.FixtureRequest, real_server_module: RealServerFactory) -> RealCase:
    kind, variant = request.param
    return kind, variant, real_server_module(kind, TREE, variant=variant)


@pytest.mark.parametrize("path", DIRS, ids=["root", "subdir", "empty"])
def test_parse_real_and_fake_listings_give_the_tree(real: RealCase, path: str) -> None:
    kind, variant, server = real
    reply = fetch(server.url(dir_url(path)))
    assert reply.status == 200
    parsed = parse_listing(reply.body, reply.headers["content-type"], url_path=dir_url(path))
    assert not parsed.warnings
    assert_matches_tree(parsed.entries, TREE, path, kind, RULES[kind, variant])
    if (kind, variant) in FAKE_OPTIONS:  # nginx and apache2 have a fake
        body, headers = render_like(kind, variant, TREE, path)
        fake = parse_listing(body, headers["Content-Type"], url_path=dir_url(path))
        assert fake.entries == parsed.entries
        assert fake.dialect == parsed.dialect


def iis_tree() -> Tree:
    tree = Tree()
    for name, node in TREE.listdir(""):
        if render_iis.can_serve(name) and not node.is_dir:
            tree.add_file(name, node.data, node.mtime)
    tree.add_dir("sub dir", mtime=1700003600)
    tree.add_file("sub dir/inner.txt", b"inner", mtime=1700007200)
    return tree


IIS_STYLES = [
    ("en-US", render_iis.DEFAULT_FLAGS),
    ("en-US", render_iis.DEFAULT_FLAGS | render_iis.SHOW_LONGDATE),
    ("zh-CN", render_iis.DEFAULT_FLAGS),
    ("de-DE", render_iis.DEFAULT_FLAGS),
]


@pytest.mark.parametrize(("locale", "flags"), IIS_STYLES, ids=[f"{lc}-{f}" for lc, f in IIS_STYLES])
@pytest.mark.parametrize("path", ["", "sub dir"])
def test_parse_fake_iis_gives_the_tree(locale: str, flags: int, path: str) -> None:
    tree = iis_tree()
    body, headers = render_iis.render(
        tree, path, flags=flags, gmtoff_minutes=GMTOFF_MINUTES, locale=locale
    )
    parsed = parse_listing(body, headers["Content-Type"], url_path=dir_url(path))
    assert parsed.dialect == "iis"
    assert_matches_tree(parsed.entries, tree, path, "iis", Rules(True, 0, GMTOFF_MINUTES, 60))
