"""Garbage, truncated, non-UTF-8 and huge listings: entries or a clean ListingError, quickly.

Never a crash, a hang or an unsafe name.  Times are measured with
time.perf_counter and bounded generously (the suite runs on 2 slow cores); the
100,000-entry times are printed with ``-s``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes import render_apache, render_iis, render_nginx
from fakes.tree import Node, Tree
from partyfuse.core.listings import DIALECTS, ListingError, parse_listing
from partyfuse.core.model import Entry, Listing

DATA = Path(__file__).parent / "data"
MANIFEST: dict[str, dict[str, str]] = json.loads((DATA / "samples.json").read_text())
SAMPLES = {f: (DATA / f).read_bytes() for f in sorted(MANIFEST)}
CTYPES = ["text/html", "application/json", "text/xml", "", "text/plain", "text/html; charset=utf-8"]


def safe_parse(
    body: bytes, ctype: str, url_path: str = "/", dialect: str | None = None
) -> Listing | None:
    """parse_listing, asserting the only failure is a ListingError and every name is safe."""
    try:
        listing = parse_listing(body, ctype, url_path=url_path, dialect=dialect)
    except ListingError as e:
        assert str(e) and "\n" not in str(e)
        return None
    names = [e.name for e in listing.entries]
    assert len(names) == len(set(names))
    for entry in listing.entries:
        name = entry.name
        assert name not in ("", ".", "..") and "/" not in name and "\0" not in name
        name.encode("utf-8", "surrogateescape")  # must be representable as bytes
        assert entry.size is None or entry.size >= 0
        assert entry.mtime >= 0
    return listing


ANY_DIALECT = st.one_of(st.none(), st.sampled_from(DIALECTS))
FUZZ = settings(suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=4096), st.sampled_from(CTYPES), ANY_DIALECT)
def test_random_bytes_give_entries_or_a_listing_error(
    body: bytes, ctype: str, dialect: str | None
) -> None:
    safe_parse(body, ctype, dialect=dialect)


HTMLISH = st.lists(
    st.sampled_from(
        [
            '<a href="',
            '">',
            "</a>",
            "<pre>",
            "</pre>",
            "<tr>",
            "<td>",
            "</td>",
            "<table>",
            "&lt;dir&gt;",
            "Index of /",
            "<h1>",
            "<hr>",
            "../",
            "%2F",
            "%FF",
            "%2E%2E",
            "\n",
            " 12-Jan-2020 10:00 ",
            " 1/2/2003  1:05 PM ",
            "   5 ",
            " 12K ",
            '<A HREF="/x/',
            "[To Parent Directory]",
            '<div class="list">',
            "Directory listing for ",
            "x",
            "?",
            "#",
            '{"name":',
            '"type":"file"',
            "[",
            "]",
            "{",
            "}",
            "<list>",
            "<file ",
            "</file>",
            "\x00",
        ]
    ),
    max_size=60,
).map("".join)


@FUZZ
@given(HTMLISH, st.sampled_from(CTYPES), ANY_DIALECT, st.sampled_from(["/", "/x/", "/a%20b/"]))
def test_listing_like_garbage_gives_entries_or_a_listing_error(
    text: str, ctype: str, dialect: str | None, url_path: str
) -> None:
    safe_parse(text.encode("utf-8"), ctype, url_path, dialect)


@FUZZ
@given(st.sampled_from(sorted(SAMPLES)), st.data())
def test_truncated_and_corrupted_real_samples_never_crash(fname: str, data: st.DataObject) -> None:
    body = SAMPLES[fname]
    meta = MANIFEST[fname]
    cut = data.draw(st.integers(0, len(body)))
    safe_parse(body[:cut], meta["content_type"], meta["url_path"])
    pos = data.draw(st.integers(0, max(0, len(body) - 1)))
    flipped = body[:pos] + bytes([data.draw(st.integers(0x80, 0xFF))]) + body[pos + 1 :]
    safe_parse(flipped, meta["content_type"], meta["url_path"])


def test_a_truncated_listing_only_ever_loses_entries() -> None:
    # Every prefix of a real nginx page yields a subset of its names (a short
    # read never invents or renames an entry).
    body = SAMPLES["nginx_exact__root.bin"]
    full = {e.name for e in parse_listing(body, "text/html", url_path="/").entries}
    for cut in range(0, len(body), 7):
        listing = safe_parse(body[:cut], "text/html")
        if listing is not None:
            assert {e.name for e in listing.entries} <= full


# Pages that pass the Apache/lighttpd preamble tests, so every block is scored.
APACHE_HEAD = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN">\n<html>\n <head>\n'
    b"  <title>Index of /</title>\n </head>\n <body>\n"
)
LIGHTTPD_HEAD = (
    b"<!DOCTYPE html>\n<html>\n<head>\n<title>Index of /</title>\n</head>\n<body>\n"
    b'<div class="list">\n<table summary="Directory Listing">\n<thead><tr><th class="n">'
)


@pytest.mark.parametrize(
    "body",
    [
        b'<a href="' * 100_000,
        b"<a href=x>" * 100_000,
        b"<" * 1_000_000,
        b"[" * 100_000,
        b'{"dirs": ' + b"[" * 100_000,
        b"<tr><td>" * 100_000,
        b"<pre>" + b'<A HREF="/a">' * 100_000,
        b"<html><h1>Index of /</h1><hr><pre>" + b" 1/1/2000 " * 100_000,
        b"\xff\xfe" * 500_000,
        APACHE_HEAD + b"<table><pre><ul>" * 60_000 + b'<ul><a href="a">a</a>' * 30_000,
        LIGHTTPD_HEAD + b'<div class="list"><table>' * 100_000,
    ],
    ids=[
        "unclosed-href",
        "unclosed-a",
        "lt",
        "json-nest",
        "cpp-nest",
        "cells",
        "iis-a",
        "dates",
        "bin",
        "apache-blocks",
        "lighttpd-lists",
    ],
)
@pytest.mark.parametrize("dialect", [None, "generic", "iis", "apache", "nginx"])
def test_pathological_pages_are_rejected_or_parsed_in_bounded_time(
    body: bytes, dialect: str | None
) -> None:
    t0 = time.perf_counter()
    safe_parse(body, "text/html", "/", dialect)
    assert time.perf_counter() - t0 < 10


BIG = 100_000
SOAK = os.environ.get("PARTYFUSE_HYPOTHESIS") == "soak"


def _big_tree(n: int) -> Tree:
    tree = Tree()
    children = tree.root.children
    for i in range(n):
        children[f"file number {i:06d} with a long-ish name.txt"] = Node(
            is_dir=False, mtime=1700000000 + i, data=b"x" * (i % 50)
        )
    return tree


def test_100k_entry_nginx_listing_parses_completely_and_quickly() -> None:
    # Written directly in nginx's layout (the renderer itself takes seconds at
    # this size); the soak run below goes through every fake renderer.
    rows = "".join(
        f'<a href="f%20{i:06d}.txt">f {i:06d}.txt</a>{" " * 39}'
        f"14-Nov-2023 22:13 {i * 997 % 1000000:>19}\r\n"
        for i in range(BIG)
    )
    body = (
        "<html>\r\n<head><title>Index of /</title></head>\r\n<body>\r\n"
        '<h1>Index of /</h1><hr><pre><a href="../">../</a>\r\n'
        f"{rows}</pre><hr></body>\r\n</html>\r\n"
    ).encode()
    t0 = time.perf_counter()
    listing = parse_listing(body, "text/html", url_path="/")
    elapsed = time.perf_counter() - t0
    print(f"\n100k-entry nginx HTML listing ({len(body) / 1e6:.1f} MB): parsed in {elapsed:.2f} s")
    assert listing.dialect == "nginx"
    assert len(listing.entries) == BIG
    assert listing.entries[-1] == Entry(
        f"f {BIG - 1:06d}.txt", False, (BIG - 1) * 997 % 1000000, 1700000000.0 - 20
    )
    assert elapsed < 30


def _render_big(kind: str, tree: Tree) -> tuple[bytes, str]:
    if kind == "nginx-html":
        body, h = render_nginx.render_html(tree, "")
    elif kind == "nginx-json":
        body, h = render_nginx.render_json(tree, "")
    elif kind == "nginx-xml":
        body, h = render_nginx.render_xml(tree, "")
    elif kind == "apache-table":
        body, h = render_apache.render(tree, "", style="table")
    elif kind == "iis":
        body, h = render_iis.render(tree, "")
    elif kind == "python":
        rows = "".join(
            f'<li><a href="{n.replace(" ", "%20")}">{n}</a></li>\n' for n in tree.root.children
        )
        return (
            "<!DOCTYPE HTML>\n<html><head><title>Directory listing for /</title></head>"
            "<body><h1>Directory listing for /</h1>\n<hr>\n<ul>\n"
            f"{rows}</ul>\n<hr>\n</body>\n</html>\n"
        ).encode(), "text/html; charset=utf-8"
    else:
        raise AssertionError(kind)
    return body, h["Content-Type"]


@pytest.mark.soak
@pytest.mark.skipif(
    not SOAK, reason="100k-entry renders of every dialect: PARTYFUSE_HYPOTHESIS=soak"
)
@pytest.mark.parametrize(
    ("kind", "dialect"),
    [
        ("nginx-html", "nginx"),
        ("nginx-json", "nginx-json"),
        ("nginx-xml", "nginx-xml"),
        ("apache-table", "apache"),
        ("iis", "iis"),
        ("python", "python"),
    ],
)
def test_100k_entry_listing_of_every_dialect_parses_completely(kind: str, dialect: str) -> None:
    body, ctype = _render_big(kind, _big_tree(BIG))
    t0 = time.perf_counter()
    listing = parse_listing(body, ctype, url_path="/")
    elapsed = time.perf_counter() - t0
    print(f"\n100k-entry {kind} listing ({len(body) / 1e6:.1f} MB): parsed in {elapsed:.2f} s")
    assert listing.dialect == dialect
    assert len(listing.entries) == BIG
    assert listing.warnings == []
    assert elapsed < 60
