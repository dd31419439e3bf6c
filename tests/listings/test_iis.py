"""IIS directory browsing, from the page shapes public IIS servers are documented to send.

IIS cannot run here: the layouts below are rebuilt from Microsoft's showFlags
documentation and IIS pages quoted in other projects (see partyfuse/core/listings/iis.py).
"""

from __future__ import annotations

import calendar

import pytest

from partyfuse.core.listings import parse_listing
from partyfuse.core.model import Entry


def page(rows: str, path: str = "/pub/", parent: str | None = "/") -> bytes:
    up = f'<A HREF="{parent}">[To Parent Directory]</A><br><br>' if parent is not None else ""
    return (
        f"<html><head><title>files.example - {path}</title></head><body>"
        f"<H1>files.example - {path}</H1><hr>\r\n\r\n<pre>{up}{rows}</pre><hr></body></html>"
    ).encode()


def utc(y: int, mo: int, d: int, h: int, mi: int) -> float:
    return float(calendar.timegm((y, mo, d, h, mi, 0, 0, 0, 0)))


def one(rows: str, **kw: object) -> list[Entry]:
    listing = parse_listing(page(rows), "text/html", url_path="/pub/", **kw)  # type: ignore[arg-type]
    assert listing.dialect == "iis"
    assert listing.warnings == []
    return listing.entries


@pytest.mark.parametrize(
    ("clock", "hour"),
    [
        ("12:05 AM", 0),
        ("1:05 AM", 1),
        ("11:05 AM", 11),
        ("12:05 PM", 12),
        ("1:05 PM", 13),
        ("11:05 PM", 23),
    ],
)
def test_iis_twelve_hour_clock_maps_12am_to_midnight_and_12pm_to_noon(
    clock: str, hour: int
) -> None:
    rows = f' 6/12/2014 {clock:>8}         1234 <A HREF="/pub/a.txt">a.txt</A><br>'
    assert one(rows) == [Entry("a.txt", False, 1234, utc(2014, 6, 12, hour, 5))]


# Page shapes: each case is the <pre> rows of one page and the entries they list.
ROW_CASES = [
    pytest.param(
        ' 8/27/2019 10:33 AM        &lt;dir&gt; <A HREF="/pub/Fiche%20Scans/">Fiche Scans</A><br>'
        ' 8/27/2019  1:29 PM          736 <A HREF="/pub/Exceptions.ix">Exceptions.ix</A><br>',
        [
            Entry("Fiche Scans", True, 0, utc(2019, 8, 27, 10, 33)),
            Entry("Exceptions.ix", False, 736, utc(2019, 8, 27, 13, 29)),
        ],
        id="dir-rows-and-absolute-hrefs",
    ),
    pytest.param(
        '       Friday, May 12, 2017 10:56 AM        &lt;dir&gt; <A HREF="/pub/DUP/">DUP</A><br>'
        "Saturday, December 25, 2021 12:40 AM         3157 "
        '<A HREF="/pub/PUBLIC_2021.zip">PUBLIC_2021.zip</A><br>',
        [
            Entry("DUP", True, 0, utc(2017, 5, 12, 10, 56)),
            Entry("PUBLIC_2021.zip", False, 3157, utc(2021, 12, 25, 0, 40)),
        ],
        id="long-date-format",
    ),
    # zh-CN servers write "YYYY/M/D    HH:MM"; &lt;dir&gt; decides, not the slash.
    pytest.param(
        '2010/12/21    15:56        &lt;dir&gt; <A HREF="/pub/%E5%B7%A5%E4%BD%9C">工作</A><br>'
        '2010/1/2     9:05         2742 <A HREF="/pub/files.zip">files.zip</A><br>',
        [
            Entry("工作", True, 0, utc(2010, 12, 21, 15, 56)),
            Entry("files.zip", False, 2742, utc(2010, 1, 2, 9, 5)),
        ],
        id="24-hour-locale-and-directory-without-trailing-slash",
    ),
    pytest.param(
        '         1,234,567 <A HREF="/pub/big.iso">big.iso</A><br>'
        '<A HREF="/pub/bare/">bare</A><br>'
        '<A HREF="/pub/bare.txt">bare.txt</A><br>',
        [
            Entry("big.iso", False, 1234567, 0.0),
            Entry("bare", True, 0, 0.0),
            Entry("bare.txt", False, None, 0.0),
        ],
        id="thousands-separators-and-names-only-rows",
    ),
]


@pytest.mark.parametrize(("rows", "entries"), ROW_CASES)
def test_iis_rows_give_their_entries(rows: str, entries: list[Entry]) -> None:
    assert one(rows) == entries


def test_iis_hrefs_in_another_case_than_the_request_still_resolve() -> None:
    rows = ' 6/12/2014  3:25 AM         10 <A HREF="/PUB/x.txt">x.txt</A><br>'
    assert [e.name for e in one(rows)] == ["x.txt"]


def test_iis_impossible_date_gives_mtime_zero_not_a_dropped_entry() -> None:
    rows = ' 2/31/2014 13:25 PM         10 <A HREF="/pub/x.txt">x.txt</A><br>'
    assert one(rows) == [Entry("x.txt", False, 10, 0.0)]


def test_iis_day_first_locale_is_recognised_when_unambiguous() -> None:
    rows = ' 27/8/2019 10:33         10 <A HREF="/pub/x.txt">x.txt</A><br>'
    assert one(rows) == [Entry("x.txt", False, 10, utc(2019, 8, 27, 10, 33))]
