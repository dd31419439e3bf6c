"""A plain href (just a name) skips the general rules: it must resolve to
exactly what the rules give, for any href and any listed folder."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partyfuse.core.listings.hrefs import resolve_by_rules, resolve_href

HREF = st.lists(
    st.one_of(
        st.sampled_from(
            ["a", "b.txt", ".", "..", "/", "./", "%20", "%2F", "%zz", "&amp;", "&#47;", "?", "#",
             ":", "x:", "//", " ", "\t", "\u00a0", "\u3000", "\x1c", "é", "\udcff", "K", "~"]
        ),
        st.text(max_size=3),
    ),
    max_size=8,
).map("".join)  # fmt: skip
DIRS = st.sampled_from([b"/", b"/d/", b"/a/b/", b"/D/"])


def outcome(fn, href: str, d: bytes, casefold: bool) -> object:
    try:
        return fn(href, d, casefold=casefold)
    except UnicodeError as e:  # a lone surrogate no byte escapes: both must refuse it
        return type(e)


@given(HREF, DIRS, st.booleans())
def test_plain_hrefs_resolve_as_the_rules_resolve_them(href: str, d: bytes, casefold: bool) -> None:
    assert outcome(resolve_href, href, d, casefold) == outcome(resolve_by_rules, href, d, casefold)


@pytest.mark.parametrize(
    "href", ["a.txt", "sub/", ".hidden", "..x", "x..", ".", "..", "./", "../", "a b", "a%20b"]
)
def test_names_servers_write(href: str) -> None:
    assert resolve_href(href, b"/d/") == resolve_by_rules(href, b"/d/")
