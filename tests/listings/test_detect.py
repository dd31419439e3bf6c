"""Auto-detection and forced dialects: which parser a body goes to, and clean refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from partyfuse.core.listings import DIALECTS, ListingError, parse_listing
from partyfuse.core.model import Entry
from tests.support.pages import nginx_page

DATA = Path(__file__).parent / "data"

CPP_JSON = json.dumps(
    {
        "dirs": [{"href": "sub%20dir/", "sz": 4096, "ts": 1700000000, "ext": "---"}],
        "files": [
            {"href": "a%26b.txt?k=abc123", "sz": 12, "ts": 1700000001, "ext": "txt"},
            {"href": "%2E%2E", "sz": 1, "ts": 1},
        ],
        "acct": "*",
        "perms": ["read"],
    }
).encode()


def test_copyparty_json_goes_to_the_copyparty_parser_and_through_the_name_rules() -> None:
    listing = parse_listing(CPP_JSON, "application/json", url_path="/")
    assert listing.dialect == "cpp"
    assert listing.entries == [
        Entry("sub dir", True, 0, 1700000000.0),
        Entry("a&b.txt", False, 12, 1700000001.0, key="abc123"),
    ]


def test_copyparty_json_is_accepted_when_cpp_is_forced_and_refused_when_nginx_is() -> None:
    assert parse_listing(CPP_JSON, "application/json", url_path="/", dialect="cpp").dialect == "cpp"
    with pytest.raises(ListingError):
        parse_listing(CPP_JSON, "application/json", url_path="/", dialect="nginx")


def test_nginx_json_of_an_empty_directory() -> None:
    listing = parse_listing(b"[\r\n]\r\n", "application/json", url_path="/x/")
    assert (listing.dialect, listing.entries) == ("nginx-json", [])


def test_nginx_json_refused_when_cpp_is_forced() -> None:
    body = b'[{ "name":"a", "type":"file", "mtime":"Tue, 14 Nov 2023 22:13:20 GMT", "size":1 }]'
    with pytest.raises(ListingError):
        parse_listing(body, "application/json", url_path="/", dialect="cpp")


@pytest.mark.parametrize(
    "body", [b'{"hello": 1}', b"[1, 2, 3]", b'{"dirs": 5', b"{not json", b'"a string"']
)
def test_json_that_is_no_listing_is_a_listing_error(body: bytes) -> None:
    with pytest.raises(ListingError, match="JSON"):
        parse_listing(body, "application/json", url_path="/")


@pytest.mark.parametrize(
    "body",
    [b"", b"hello world", b"\x00\x01\x02\xff", b"<?xml version='1.0'?><feed></feed>", b"   \n"],
)
def test_bodies_that_are_no_listing_are_a_listing_error(body: bytes) -> None:
    with pytest.raises(ListingError, match="not a directory listing"):
        parse_listing(body, "text/plain", url_path="/")


def test_nginx_xml_is_recognised_with_or_without_a_declaration() -> None:
    body = b'<list>\r\n<file mtime="2023-11-14T22:13:20Z" size="3">a&amp;b</file>\r\n</list>'
    for b in (body, b'<?xml version="1.0"?>\r\n' + body):
        listing = parse_listing(b, "text/xml", url_path="/")
        assert listing.dialect == "nginx-xml"
        assert listing.entries == [Entry("a&b", False, 3, 1700000000.0)]


@pytest.mark.parametrize("dialect", [d for d in DIALECTS if d != "cpp"])
def test_every_forced_html_dialect_still_finds_the_names_of_an_nginx_page(dialect: str) -> None:
    body = (DATA / "nginx_exact__sub.bin").read_bytes()
    listing = parse_listing(body, "text/html", url_path="/sub%20dir/", dialect=dialect)
    assert {e.name: e.is_dir for e in listing.entries} == {"inner.txt": False, "deeper": True}


def test_forced_dialect_on_a_page_that_is_not_one_is_a_listing_error() -> None:
    body = b"<html><body><p>Maintenance</p></body></html>"
    with pytest.raises(ListingError, match="does not look like a nginx"):
        parse_listing(body, "text/html", url_path="/", dialect="nginx")


def test_copyparty_html_is_parsed_when_cpp_is_forced_on_a_browser_page() -> None:
    body = (DATA / "copyparty_html__sub.bin").read_bytes()
    listing = parse_listing(body, "text/html", url_path="/sub%20dir/", dialect="cpp")
    assert listing.dialect == "cpp-html"
    assert {e.name for e in listing.entries} == {"inner.txt", "deeper"}


def test_an_nginx_directory_whose_path_looks_like_an_iis_title_is_still_nginx() -> None:
    body = (
        b"<html>\r\n<head><title>Index of /a - /b/</title></head>\r\n<body>\r\n"
        b'<h1>Index of /a - /b/</h1><hr><pre><a href="../">../</a>\r\n'
        b'<a href="x.txt">x.txt</a>                                              '
        b"14-Nov-2023 22:13                   5\r\n</pre><hr></body>\r\n</html>\r\n"
    )
    listing = parse_listing(body, "text/html", url_path="/a%20-%20/b/")
    assert listing.dialect == "nginx"
    assert listing.entries == [Entry("x.txt", False, 5, 1700000000.0 - 20)]


def test_an_nginx_directory_named_like_an_apache_sort_link_is_still_nginx() -> None:
    body = nginx_page(path="/?C=N;O=D Parent Directory&lt;/a&gt;/")
    listing = parse_listing(body, "text/html", url_path="/%3FC%3DN%3BO%3DD/")
    assert listing.dialect == "nginx"
