"""Name safety: what an href may turn into, and what a hostile listing can never do."""

from __future__ import annotations

import pytest

from partyfuse.core.listings import ListingError, parse_listing
from partyfuse.core.model import Entry
from tests.support.pages import nginx_page


def names(body: bytes, url_path: str = "/d/", **kw: str) -> tuple[list[str], list[str]]:
    listing = parse_listing(body, "text/html", url_path=url_path, **kw)
    return [e.name for e in listing.entries], listing.warnings


@pytest.mark.parametrize(
    "href",
    ["%2E%2E/", "%2e", "a%2Fb", "a%2fb/", "..%2F..%2Fetc", "nul%00byte", "%2E%2E", ".%2E/"],
)
def test_hostile_names_are_dropped_with_a_warning(href: str) -> None:
    got, warnings = names(nginx_page(href, "ok.txt"))
    assert got == ["ok.txt"]
    assert len(warnings) == 1 and "unsafe" in warnings[0]


@pytest.mark.parametrize("href", ["../", "..", "./", ".", "/", "/d/", "/d", "?C=N;O=D", "#top"])
def test_parent_self_and_sort_links_are_not_entries(href: str) -> None:
    got, warnings = names(nginx_page(href, "ok.txt"))
    assert got == ["ok.txt"]
    assert warnings == []


@pytest.mark.parametrize(
    "href", ["http://evil.example/d/x", "//evil.example/d/x", "/elsewhere/x", "javascript:alert(1)"]
)
def test_links_outside_the_directory_are_ignored(href: str) -> None:
    got, _ = names(nginx_page(href, "ok.txt"))
    assert got == ["ok.txt"]


def test_links_below_a_child_are_skipped_with_a_warning() -> None:
    got, warnings = names(nginx_page("sub/deeper.txt", "ok.txt"))
    assert got == ["ok.txt"]
    assert "below" in warnings[0]


def test_duplicate_names_keep_the_first_with_a_warning() -> None:
    body = (
        b"<html><head><title>Index of /d/</title></head><body><h1>Index of /d/</h1><hr><pre>"
        b'<a href="../">../</a>\r\n'
        b'<a href="same">same</a>   14-Nov-2023 22:13      5\r\n'
        b'<a href="same">same</a>   15-Nov-2023 22:13      7\r\n'
        b'<a href="same/">same/</a>   15-Nov-2023 22:13      -\r\n'
        b"</pre><hr></body></html>"
    )
    listing = parse_listing(body, "text/html", url_path="/d/")
    assert listing.entries == [Entry("same", False, 5, 1700000000.0 - 20)]
    assert len(listing.warnings) == 2 and all("duplicate" in w for w in listing.warnings)


def test_percent_entities_and_plus_decode_exactly_once() -> None:
    got, _ = names(nginx_page("a%2520b", "plus+sign", "amp&amp;x", "%C3%A9t%C3%A9", "sp%20ace"))
    assert got == ["a%20b", "plus+sign", "amp&x", "été", "sp ace"]


def test_non_utf8_bytes_survive_as_surrogateescape() -> None:
    got, _ = names(nginx_page("bad%FF%FEname"))
    assert got == ["bad\udcff\udcfename"]
    assert got[0].encode("utf-8", "surrogateescape") == b"bad\xff\xfename"


def test_raw_non_utf8_bytes_in_an_href_survive_too() -> None:
    body = nginx_page("PLACEHOLDER").replace(b"PLACEHOLDER", b"raw\xe9name")
    got, _ = names(body)
    assert got[0].encode("utf-8", "surrogateescape") == b"raw\xe9name"


def test_url_path_may_be_given_without_trailing_slash_or_encoded() -> None:
    body = nginx_page("/sub%20dir/x.txt", path="/sub dir/")
    assert names(body, url_path="/sub%20dir")[0] == ["x.txt"]
    assert names(body, url_path="/sub dir/")[0] == ["x.txt"]


def test_generic_takes_only_direct_children_of_the_directory() -> None:
    body = (
        b"<html><body><a href='../'>up</a><a href=\"a.txt\">a</a><a href=b/>b</a>"
        b'<a href="/d/c.txt">c</a><a href="/other/x">x</a><a href="a.txt?dl=1">dl</a>'
        b'<a href="mailto:x@y">m</a><A HREF="/d/e%20f/">E</A></body></html>'
    )
    listing = parse_listing(body, "text/html", url_path="/d/")
    assert listing.dialect == "generic"
    assert [(e.name, e.is_dir, e.size) for e in listing.entries] == [
        ("a.txt", False, None),
        ("b", True, 0),
        ("c.txt", False, None),
        ("e f", True, 0),
    ]


def test_unknown_page_without_directory_links_is_an_error_not_an_empty_dir() -> None:
    body = b'<html><body><h1>Please log in</h1><a href="/">home</a></body></html>'
    with pytest.raises(ListingError, match="not a directory listing"):
        parse_listing(body, "text/html", url_path="/d/")


def test_forced_generic_accepts_an_empty_html_page() -> None:
    listing = parse_listing(
        b"<html><body></body></html>", "text/html", url_path="/", dialect="generic"
    )
    assert listing.entries == [] and listing.dialect == "generic"


def test_unknown_dialect_is_refused() -> None:
    with pytest.raises(ListingError, match="unknown listing dialect"):
        parse_listing(b"", "text/html", url_path="/", dialect="ftp")
