"""URLs, passwords, Content-Range parsing and the copyparty JSON parser, without a server."""

from __future__ import annotations

import json
import os
import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partyfuse.core.errors import ProtocolError
from partyfuse.core.listings.copyparty import (
    copyparty_access,
    name_from_href,
    parse_copyparty_json,
    unquote_to_bytes,
)
from partyfuse.http.auth import Credentials, PasswordError, read_password
from partyfuse.http.ranges import parse_content_range, range_header, unsatisfied_total
from partyfuse.http.urls import BadUrl, origin_of, parse_base_url, quote_path

# names as a server may hold them: any bytes but "/" and NUL, as surrogateescape text
names = st.binary(min_size=1, max_size=60).filter(lambda b: b"/" not in b and b"\0" not in b)


@given(names)
def test_every_name_round_trips_through_the_url(raw):
    name = raw.decode("utf-8", "surrogateescape")
    quoted = quote_path(name)
    assert "#" not in quoted and "?" not in quoted and " " not in quoted
    assert urllib.parse.unquote_to_bytes(quoted) == raw
    assert unquote_to_bytes(quoted) == raw


@given(names)
def test_python_dialect_quotes_names_the_way_http_server_links_and_reads_them(raw):
    # http.server: href = quote(name, errors="surrogatepass"); the request path
    # is unquote(path, errors="surrogatepass") and then os.fsencode'd.
    name = raw.decode("utf-8", "surrogateescape")
    quoted = quote_path(name, surrogatepass=True)
    assert quoted == urllib.parse.quote(name, errors="surrogatepass")
    assert os.fsencode(urllib.parse.unquote(quoted, errors="surrogatepass")) == raw


@given(st.text(max_size=40))
def test_core_unquote_matches_urllib(text):
    assert unquote_to_bytes(text) == urllib.parse.unquote_to_bytes(
        text.encode("utf-8", "surrogateescape")
    )


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30), st.booleans())
def test_href_names_skip_decoding_only_when_there_is_nothing_to_decode(href, is_dir):
    # name_from_href skips percent-decoding for plain ASCII hrefs (listings
    # are long); the name must be what full decoding gives.
    href = href.replace("?", "") + ("/" if is_dir else "")
    got = name_from_href(href)
    path = href[:-1] if href.endswith("/") else href
    name = urllib.parse.unquote_to_bytes(path.encode("utf-8")).decode("utf-8", "surrogateescape")
    if name in ("", ".", "..") or "/" in name or "\0" in name:
        assert got is None
    else:
        assert got == (name, None)


def test_href_file_key_is_read_from_the_query():
    assert name_from_href("a%20b?k=x%2By&raw") == ("a b", "x+y")
    assert name_from_href("plain?k=") == ("plain", None)
    assert name_from_href("plain?") == ("plain", None)


@pytest.mark.parametrize(
    ("url", "expect"),
    [
        ("http://h:3923/", "http://h:3923/"),
        ("http://h/music", "http://h/music/"),
        ("https://H.example:443/a/b/", "https://h.example/a/b/"),
        ("http://[::1]:3923/x/", "http://[::1]:3923/x/"),
        ("https://[fe80::1]/", "https://[fe80::1]/"),
        ("192.168.1.69:3923", "http://192.168.1.69:3923/"),
        ("http://h/my music/", "http://h/my%20music/"),
        ("http://h/already%20quoted/", "http://h/already%20quoted/"),
    ],
)
def test_base_urls(url, expect):
    assert str(parse_base_url(url)) == expect


def test_urls_for_paths():
    b = parse_base_url("http://[::1]:8080/pre fix/")
    assert b.url("a b/c#d", query="raw") == "http://[::1]:8080/pre%20fix/a%20b/c%23d?raw"
    assert b.url("", is_dir=True, query="ls&dots") == "http://[::1]:8080/pre%20fix/?ls&dots"
    assert b.url("d", is_dir=True) == "http://[::1]:8080/pre%20fix/d/"
    assert b.origin == ("http", "::1", 8080)
    assert origin_of("http://[::1]:8080/x") == b.origin
    assert origin_of("http://[::1]:8081/x") != b.origin
    assert origin_of("https://[::1]:8080/x") != b.origin
    assert origin_of("http://evil/x") != b.origin


@pytest.mark.parametrize(
    "url", ["ftp://h/", "http://", "http://u:p@h/", "http://h/?q", "http://h/#f", "http://h:99999/"]
)
def test_bad_base_urls_are_one_line_errors(url):
    with pytest.raises(BadUrl) as e:
        parse_base_url(url)
    assert "\n" not in str(e.value)


def test_password_plain_and_from_file(tmp_path):
    assert read_password("hunter2") == "hunter2"
    f = tmp_path / "pw"
    f.write_text("alice:s3cret\n")
    assert read_password(f"${f}") == "alice:s3cret"
    f.write_text("crlf\r\nignored second line\n")
    assert read_password(f"${f}") == "crlf"
    with pytest.raises(PasswordError, match="cannot read"):
        read_password(f"${tmp_path / 'missing'}")
    f.write_text("")
    with pytest.raises(PasswordError, match="empty"):
        read_password(f"${f}")


def test_password_file_with_tilde(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".copyparty-pass").write_text("pw\n")
    assert read_password("$~/.copyparty-pass") == "pw"


def test_credentials_hide_the_password():
    c = Credentials("hunter2")
    assert "hunter2" not in repr(c)
    assert c.headers(copyparty=True)["PW"] == b"hunter2"
    assert "PW" not in c.headers(copyparty=False)


def test_ranges():
    assert range_header(0, 10) == "bytes=0-9"
    cr = parse_content_range("bytes 5-9/100")
    assert cr and (cr.first, cr.last, cr.total) == (5, 9, 100)
    assert parse_content_range("bytes 5-9/*").total is None
    for bad in ("bytes 9-5/100", "bytes 5-100/100", "bytes 5-9", "5-9/100", "", None):
        assert parse_content_range(bad) is None
    assert unsatisfied_total("bytes */42") == 42
    assert unsatisfied_total("bytes 0-1/42") is None


def listing(dirs=(), files=(), **extra) -> bytes:
    return json.dumps({"dirs": list(dirs), "files": list(files), **extra}).encode()


def test_copyparty_parser_reads_names_sizes_times_and_keys():
    body = listing(
        dirs=[{"href": "sub%20dir/", "sz": 4096, "ts": 10}],
        files=[
            {"href": "a%23b%3F.txt?k=AbC_9", "sz": 5, "ts": 1700000000},
            {"href": "caf%E9", "sz": 0, "ts": 1},
            {"href": "%F0%9F%8E%89", "sz": 1, "ts": 2},
        ],
    )
    got = {e.name: e for e in parse_copyparty_json(body)}
    assert got["sub dir"].is_dir and got["sub dir"].key is None
    a = got["a#b?.txt"]
    assert (a.is_dir, a.size, a.mtime, a.key) == (False, 5, 1700000000.0, "AbC_9")
    assert "caf\udce9" in got
    assert "🎉" in got


@pytest.mark.parametrize(
    "href", ["", ".", "..", "%2E%2E", "a%2Fb", "a%00b", "/", "%2F", "../", "./"]
)
def test_copyparty_parser_skips_hostile_names(href):
    body = listing(files=[{"href": href, "sz": 1, "ts": 1}, {"href": "ok", "sz": 1, "ts": 1}])
    assert [e.name for e in parse_copyparty_json(body)] == ["ok"]


def test_copyparty_parser_skips_malformed_nodes_and_duplicates():
    body = listing(
        files=[
            {"href": "nosize", "ts": 1},
            {"href": "neg", "sz": -1, "ts": 1},
            {"sz": 1},
            "junk",
            {"href": "dup", "sz": 1, "ts": 1},
            {"href": "dup", "sz": 2, "ts": 1},
            {"href": "bool", "sz": True, "ts": 1},
        ]
    )
    got = parse_copyparty_json(body)
    assert [(e.name, e.size) for e in got] == [("dup", 1)]


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b"\xff", b'{"dirs": 5, "files": []}'])
def test_copyparty_parser_rejects_garbage(body):
    with pytest.raises(ProtocolError):
        parse_copyparty_json(body)


def test_copyparty_access():
    a = copyparty_access(listing(acct="*", perms=[]))
    assert (a.account, a.can_read) == ("*", False)
    b = copyparty_access(listing(acct="ed", perms=["read", "get"]))
    assert (b.account, b.can_read, b.anonymous) == ("ed", True, False)
    c = copyparty_access(listing())  # an older copyparty that says neither
    assert (c.account, c.can_read, c.anonymous) == (None, True, False)


def test_copyparty_parser_reports_what_it_skipped():
    body = listing(files=[{"href": "..", "sz": 1, "ts": 1}, {"href": "a", "sz": 1, "ts": 1},
                          {"href": "a", "sz": 1, "ts": 1}])  # fmt: skip
    warnings: list[str] = []
    assert [e.name for e in parse_copyparty_json(body, warnings)] == ["a"]
    assert len(warnings) == 2 and all("\n" not in w for w in warnings)


@pytest.mark.parametrize("pw", ["a\nb", "x\r", "\x00", "t\tab"])
def test_passwords_with_control_characters_are_refused(pw):
    with pytest.raises(PasswordError, match="control"):
        Credentials(pw)
