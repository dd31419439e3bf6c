"""lighttpd has no fake renderer: hypothesis trees go to a REAL lighttpd (mod_dirlisting)
and its listing must parse back to them (names, kinds; sizes are always rounded there
so unknown; times are the server's local time, UTC+5:30 in the launcher)."""

from __future__ import annotations

import urllib.request

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes.tree import Tree
from partyfuse.core.listings import parse_listing
from tests.support.listing_cases import MTIMES, names
from tests.support.real_servers import GMTOFF_MINUTES, RealServer, RealServerFactory


@pytest.fixture(scope="module")
def lighttpd(real_server_module: RealServerFactory) -> RealServer:
    return real_server_module("lighttpd", Tree())


EXAMPLES = min(settings().max_examples, 25)  # each example is a real HTTP round trip


@settings(max_examples=EXAMPLES, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(names(raw_bytes=True), st.tuples(st.booleans(), MTIMES), max_size=10))
def test_real_lighttpd_listing_roundtrip(
    lighttpd: RealServer, kids: dict[str, tuple[bool, int]]
) -> None:
    tree = Tree()
    for name, (is_dir, mtime) in kids.items():
        if is_dir:
            tree.add_dir(name, mtime=mtime)
        else:
            tree.add_file(name, b"x", mtime=mtime)
    lighttpd.replace_tree(tree)
    with urllib.request.urlopen(lighttpd.url("/"), timeout=10) as r:
        body, ctype = r.read(), r.headers.get("Content-Type", "")
    listing = parse_listing(body, ctype, url_path="/")
    assert listing.dialect == "lighttpd"
    assert listing.warnings == []
    assert {e.name: (e.is_dir, e.size, e.mtime) for e in listing.entries} == {
        name: (is_dir, 0 if is_dir else None, float(mtime + GMTOFF_MINUTES * 60))
        for name, (is_dir, mtime) in kids.items()
    }
