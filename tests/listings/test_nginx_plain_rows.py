"""nginx rows whose href is a plain ASCII name skip resolving it into a Link
and cache the time read from the columns: every page must give exactly the
entries and warnings the general per-row path gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from partyfuse.core.listings.builder import ListingBuilder
from partyfuse.core.listings.hrefs import resolve_href
from partyfuse.core.listings.nginx import _add, parse_html

HREF = st.lists(
    st.one_of(
        st.sampled_from(
            ["a", "b.txt", ".", "..", "/", "%20", "%2F", "&amp;", "?", "#", ":", "é", "\udcff",
             "\x01", "\x7f", "K", "~", "a" * 120]
        ),
        # what decode_body can give: any character but a lone surrogate
        # other than the escaped bytes \udc80-\udcff (sampled above)
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters='"<>\r\n'),
            max_size=3,
        ),
    ),
    min_size=1,
    max_size=6,
).map("".join)  # fmt: skip
SIZE = st.one_of(
    st.sampled_from(["-", "0", "4096", "12K", "1.2M", "3G", "\u0663", "99999999999999999999"]),
    st.integers(0, 10**12).map(str),
)
DAY = st.sampled_from(["01", "1", "29", "30", "31", "00", "\u0661"])
MON = st.sampled_from(["Jan", "Feb", "Dec", "Foo", "jan"])
YEAR = st.sampled_from(["1970", "2024", "2026", "0000", "9999"])
HOUR = st.sampled_from(["00", "23", "24", "7"])
MINUTE = st.sampled_from(["00", "59", "60"])
ROW = st.tuples(HREF, DAY, MON, YEAR, HOUR, MINUTE, SIZE)


def page(rows: list[tuple[str, ...]]) -> str:
    lines = ['<html>\n<head><title>Index of /d/</title></head>\n<body>\n',
             '<h1>Index of /d/</h1><hr><pre><a href="../">../</a>\n']  # fmt: skip
    for href, day, mon, year, hour, minute, size in rows:
        lines.append(f'<a href="{href}">x</a>   {day}-{mon}-{year} {hour}:{minute}   {size}\n')
    lines.append("</pre><hr></body>\n</html>\n")
    return "".join(lines)


@settings(max_examples=300)
@given(st.lists(ROW, max_size=8), st.booleans())
def test_plain_rows_give_what_the_general_path_gives(
    rows: list[tuple[str, ...]], once: bool
) -> None:
    got = ListingBuilder(each_once=once)
    parse_html(page(rows), b"/d/", got)
    want = ListingBuilder(each_once=once)
    for href, *cols in rows:
        link = resolve_href(href, b"/d/")
        if link.kind in ("child", "deep"):
            _add(want, link, tuple(cols))
    assert list(got.entries.values()) == list(want.entries.values())
    assert got.report() == want.report()
