"""lighttpd's dir-listing.show-header/show-readme with encode-header/encode-readme "disable".

By default lighttpd escapes HEADER.txt/README.txt into a <pre class="header">
/ <pre class="readme"> (harmless).  With the encode options disabled it pastes
them raw: the header right before ``<h2>Index of ...</h2>``, the readme right
before ``<div class="foot">`` (seen from lighttpd 1.4.69 on this machine; the
real-server launcher has no such variant, so the pastes go into a captured
real page at those very places).  The parser must read lighttpd's own table
only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from partyfuse.core.listings import parse_listing
from partyfuse.core.model import Entry
from tests.support.listing_cases import FAST

DATA = Path(__file__).parent / "data"
MANIFEST = json.loads((DATA / "samples.json").read_text())
SAMPLES = ["lighttpd__root.bin", "lighttpd__sub.bin"]


def _page(fname: str, header: bytes, readme: bytes) -> bytes:
    page = (DATA / fname).read_bytes()
    h2 = page.index(b"<h2>Index of ")
    foot = page.index(b'<div class="foot">')
    return page[:h2] + header + page[h2:foot] + readme + page[foot:]


def _parse(fname: str, body: bytes) -> tuple[list[Entry], str, list[str]]:
    if currently_in_test_context():
        note(body.decode("utf-8", "replace"))
    meta = MANIFEST[fname]
    listing = parse_listing(body, meta["content_type"], url_path=meta["url_path"])
    return listing.entries, listing.dialect, listing.warnings


def _fragments(name: str) -> list[str]:
    return [
        f'<a href="{name}">{name}</a>',
        '<div class="list">',
        "</div>",
        "<table>",
        '<table summary="Directory Listing" cellpadding="0" cellspacing="0">',
        "</table>",
        "<thead>",
        "<tbody>",
        "</tbody>",
        f'<tr><td class="n"><a href="{name}">{name}</a></td>'
        '<td class="m">2023-Dec-04 22:13:20</td><td class="s">0.1K</td></tr>\n',
        '<tr class="d"><td class="n"><a href="../">..</a>/</td></tr>\n',
        "<h2>Index of /</h2>\n",
        '<div class="foot">lighttpd/1.4.69</div>',
        # other servers' markers, which auto-detection must not fall for
        '<A HREF="/">[To Parent Directory]</A>',
        '<table id="files"><th name="href">',
        "<title>Directory listing for /</title>",
        "<pre>",
        "plain words\n",
    ]


@st.composite
def pasted(draw: st.DrawFn) -> bytes:
    name = draw(st.sampled_from(["x.txt", "phantom/", "inner.txt/", "Phantom%20file"]))
    return "".join(draw(st.lists(st.sampled_from(_fragments(name)), max_size=10))).encode()


@FAST
@given(st.sampled_from(SAMPLES), pasted(), pasted())
def test_raw_header_and_readme_never_change_the_entries(
    fname: str, header: bytes, readme: bytes
) -> None:
    want, dialect, warnings = _parse(fname, (DATA / fname).read_bytes())
    assert dialect == "lighttpd" and warnings == [] and want
    got, dialect, warnings = _parse(fname, _page(fname, header, readme))
    assert dialect == "lighttpd"
    assert warnings == []
    assert got == want


@pytest.mark.parametrize("fname", SAMPLES)
def test_a_pasted_lighttpd_table_before_the_real_one_is_ignored(fname: str) -> None:
    """What lighttpd 1.4.69 sends with encode-header "disable" and such a HEADER.txt."""
    fake = (
        b'<div class="list"><table summary="Directory Listing"><tr><td class="n">'
        b'<a href="x.txt">x.txt</a></td></tr></table></div>\n'
    )
    want, _, _ = _parse(fname, (DATA / fname).read_bytes())
    for header, readme in ((fake, b""), (b"", fake), (fake, fake), (b"<table>", b"")):
        got, dialect, warnings = _parse(fname, _page(fname, header, readme))
        assert (got, dialect, warnings) == (want, "lighttpd", [])
