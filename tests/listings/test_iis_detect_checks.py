"""IIS recognition skips its regex searches when their literal text is absent:
the answer must be the one the plain searches give, for any page."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from partyfuse.core.listings import iis
from tests.support.pages import nginx_page

_ROW = re.compile(r"(?:[AaPp]\.?[Mm]\.?|\d:\d\d) +(?:&lt;dir&gt;|[\d,]+) <[Aa] [Hh][Rr][Ee][Ff]=")
_HEAD = re.compile(r"<H1>[^<>]{0,2048} - /[^<>]{0,8192}</H1><hr>\s*<pre>")


def plain_looks_like(text: str) -> bool:
    """The recogniser as it was written before the checks: every search made."""
    head = text[:16384]
    if "[To Parent Directory]</A>" in head:
        return True
    if "<pre>" not in head.lower():
        return False
    return _ROW.search(head) is not None or _HEAD.search(head) is not None


PIECES = st.sampled_from(
    [
        "<pre>", "<PRE>", "<Pre>", "</pre>", " <A HREF=", " <a href=", " <A href=", " <a HREF=",
        "<A HREF=", "&lt;dir&gt;", "12:05 AM", "3:25 PM", "1,234", "4096", "  ", " ",
        "<H1>", "<h1>", "host - /dir/", " - /", "</H1><hr>", "</H1><hr>\n<pre>", "\r\n",
        "[To Parent Directory]</A>", "a.m.", "P.M.", "\u212a", "\u0130", "x", ">", "<",
    ]
)  # fmt: skip


@given(st.lists(st.one_of(PIECES, st.text(max_size=6)), max_size=40).map("".join))
def test_the_checks_never_change_the_answer(text: str) -> None:
    assert iis.looks_like(text) == plain_looks_like(text)


def test_real_shapes_get_the_answer_they_always_got() -> None:
    row = '<pre> 6/12/2014  3:25 AM        &lt;dir&gt; <A HREF="/d/sub/">sub</A><br></pre>'
    head = "<H1>host - /d/</H1><hr>\n\n<pre></pre>"
    page = nginx_page("a.txt", "sub/").decode()
    for text in (row, head, page, row.lower(), head.replace("<H1>", "<h1>")):
        assert iis.looks_like(text) == plain_looks_like(text)
    assert iis.looks_like(row) and iis.looks_like(head) and not iis.looks_like(page)
