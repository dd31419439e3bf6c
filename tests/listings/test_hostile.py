"""Hostile listings, one row per dialect where the hostility can be expressed.

Each page is a real server's listing (tests/listings/data, or the IIS fake)
whose one file row is replaced by honest rows plus one hostile row: a name
with "/", "..", NUL or a control character, a name longer than the OS allows,
a 10 MB name, a size no file can have, a time out of range, a duplicate.
Every case asserts: no exception but ListingError, no unsafe name, the honest
entries are all there with their exact size and time, and the hostile entry
cost exactly one warning line (dropped or clamped).  Memory of big listings is
measured with tracemalloc (bound in ``PEAK_PER_BODY_BYTE``/``PEAK_PER_ENTRY``).
"""

from __future__ import annotations

import calendar
import errno
import html
import json
import os
import re
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote

import pytest

from fakes import render_iis
from fakes.tree import Tree
from partyfuse.core.attrs import Attrs
from partyfuse.core.errors import FsError
from partyfuse.core.limits import MAX_FILE_SIZE, MAX_MTIME, MAX_NAME_BYTES, name_problem
from partyfuse.core.listings import ListingError, parse_listing
from partyfuse.core.model import Entry, Listing
from tests.support.fs import make_fs

DATA = Path(__file__).parent / "data"
MANIFEST: dict[str, dict[str, str]] = json.loads((DATA / "samples.json").read_text())
SUB = "/sub%20dir/"
T_HONEST = 1700000000  # 2023-11-14 22:13:20 UTC


@dataclass(frozen=True)
class Row:
    """One file row: ``name`` is the file name (the dialect encodes it), ``size``
    the byte count shown, ``when`` the time shown (y, mo, d, h, mi, s)."""

    name: str
    size: int = 5
    when: tuple[int, int, int, int, int, int] = (2023, 11, 14, 22, 13, 20)


def _enc(name: str) -> str:
    if name in (".", ".."):  # written plainly it is a parent link, not an entry
        return name.replace(".", "%2E")
    return quote(name.encode("utf-8", "surrogateescape"), safe="")


MON = calendar.month_abbr


def _cpp_json(rows: list[Row]) -> bytes:
    nodes = [
        {"href": _enc(r.name), "sz": r.size, "ts": calendar.timegm((*r.when, 0, 0, 0))}
        for r in rows
    ]
    return json.dumps({"dirs": [], "files": nodes}).encode()


def _from_sample(fname: str, row: Callable[[Row], str]) -> Callable[[list[Row]], bytes]:
    """A page builder: the sample's inner.txt row replaced by ``row`` of each Row."""
    text = (DATA / fname).read_bytes().decode("utf-8", "surrogateescape")
    lines = text.splitlines(keepends=True)
    at = next(i for i, ln in enumerate(lines) if 'href="inner.txt"' in ln or ">inner.txt<" in ln)
    eol = "\r\n" if lines[at].endswith("\r\n") else "\n"

    def page(rows: list[Row]) -> bytes:
        body = "".join(row(r) + eol for r in rows)
        return "".join(lines[:at] + [body] + lines[at + 1 :]).encode("utf-8", "surrogateescape")

    return page


def _text(name: str) -> str:
    return html.escape(name[:40])


def _nginx_html(r: Row) -> str:
    y, mo, d, h, mi, _ = r.when
    return (
        f'<a href="{_enc(r.name)}">{_text(r.name)}</a>{" " * 10}'
        f"{d:02d}-{MON[mo]}-{y:04d} {h:02d}:{mi:02d} {r.size:>19}"
    )


def _nginx_json_page(rows: list[Row]) -> bytes:
    def item(r: Row) -> str:
        y, mo, d, h, mi, s = r.when
        wd = "Mon"
        when = f"{wd}, {d:02d} {MON[mo]} {y:04d} {h:02d}:{mi:02d}:{s:02d} GMT"
        return (
            f'{{ "name":{json.dumps(r.name)}, "type":"file", "mtime":"{when}", "size":{r.size} }}'
        )

    return ("[\n" + ",\n".join(item(r) for r in rows) + "\n]\n").encode()


def _nginx_xml(r: Row) -> str:
    y, mo, d, h, mi, s = r.when
    name = html.escape(r.name, quote=False)
    when = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}Z"
    return f'<file mtime="{when}" size="{r.size}">{name}</file>'


def _apache_table(r: Row) -> str:
    y, mo, d, h, mi, _ = r.when
    return (
        '<tr><td valign="top"><img src="/icons/text.gif" alt="[TXT]"></td>'
        f'<td><a href="{_enc(r.name)}">{_text(r.name)}</a></td>'
        f'<td align="right">{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}  </td>'
        f'<td align="right">{r.size} </td><td>&nbsp;</td></tr>'
    )


def _lighttpd(r: Row) -> str:
    y, mo, d, h, mi, s = r.when
    return (
        f'<tr><td class="n"><a href="{_enc(r.name)}">{_text(r.name)}</a></td>'
        f'<td class="m">{y:04d}-{MON[mo]}-{d:02d} {h:02d}:{mi:02d}:{s:02d}</td>'
        '<td class="s">0.1K</td><td class="t">application/octet-stream</td></tr>'
    )


def _cpp_html(r: Row) -> str:
    y, mo, d, h, mi, s = r.when
    return (
        f'<tr><td>-</td><td><a href="{_enc(r.name)}">{_text(r.name)}</a></td><td>{r.size}</td>'
        f"<td>txt</td><td>{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}</td></tr>"
    )


def _python(r: Row) -> str:
    return f'<li><a href="{_enc(r.name)}">{_text(r.name)}</a></li>'


def _iis_page(rows: list[Row]) -> bytes:
    tree = Tree()
    tree.add_dir("sub dir", mtime=T_HONEST)
    tree.add_file("sub dir/inner.txt", b"abc", mtime=T_HONEST)
    page = render_iis.render(tree, "sub dir")[0].decode()
    row = re.search(r"\d+/\d+/\d{4} [^<]*<A HREF=\"[^\"]*inner.txt\">inner.txt</A><br>", page)
    assert row is not None

    def one(r: Row) -> str:
        y, mo, d, h, mi, _ = r.when
        ampm = "PM" if h >= 12 else "AM"
        return (
            f"{mo}/{d}/{y:04d} {(h % 12) or 12:2d}:{mi:02d} {ampm} {r.size:>12} "
            f'<A HREF="/sub%20dir/{_enc(r.name)}">{_text(r.name)}</A><br>'
        )

    body = "".join(one(r) for r in rows)
    return (page[: row.start()] + body + page[row.end() :]).encode("utf-8", "surrogateescape")


def _generic_page(rows: list[Row]) -> bytes:
    links = "".join(f'<a href="{_enc(r.name)}">{_text(r.name)}</a><br>\n' for r in rows)
    return f'<html><body><a href="../">up</a><br>\n{links}</body></html>'.encode(
        "utf-8", "surrogateescape"
    )


@dataclass(frozen=True)
class Dialect:
    id: str
    page: Callable[[list[Row]], bytes]
    ctype: str
    parsed_as: str
    sizes: bool
    """The listing shows exact byte counts (so a hostile size can be written)."""
    times: bool
    """The listing shows a time with a four-digit year (so year 0001 can be written)."""
    force: str | None = None


DIALECTS = [
    Dialect("cpp-json", _cpp_json, "application/json", "cpp", True, True),
    Dialect(
        "cpp-html",
        _from_sample("copyparty_html__sub.bin", _cpp_html),
        "text/html",
        "cpp-html",
        True,
        True,
    ),
    Dialect(
        "nginx-html",
        _from_sample("nginx_exact__sub.bin", _nginx_html),
        "text/html",
        "nginx",
        True,
        True,
    ),
    Dialect("nginx-json", _nginx_json_page, "application/json", "nginx-json", True, True),
    Dialect(
        "nginx-xml",
        _from_sample("nginx_xml__sub.bin", _nginx_xml),
        "text/xml",
        "nginx-xml",
        True,
        True,
    ),
    Dialect("iis", _iis_page, "text/html", "iis", True, True),
    Dialect(
        "apache",
        _from_sample("apache_table__sub.bin", _apache_table),
        "text/html;charset=UTF-8",
        "apache",
        True,
        True,
    ),
    Dialect(
        "lighttpd",
        _from_sample("lighttpd__sub.bin", _lighttpd),
        "text/html",
        "lighttpd",
        False,
        True,
    ),
    Dialect(
        "python",
        _from_sample("python__sub.bin", _python),
        "text/html; charset=utf-8",
        "python",
        False,
        False,
    ),
    Dialect("generic", _generic_page, "text/html", "generic", False, False, force="generic"),
]
IDS = [d.id for d in DIALECTS]
HONEST = [Row("honest one.txt", 5), Row("b.bin", 1234, (2020, 1, 2, 3, 4, 0))]


def parse(d: Dialect, rows: list[Row]) -> Listing:
    body = d.page(rows)
    listing = parse_listing(body, d.ctype, url_path=SUB, dialect=d.force)
    assert listing.dialect == d.parsed_as
    for e in listing.entries:
        assert name_problem(e.name) is None, e.name
        assert e.size is None or 0 <= e.size <= MAX_FILE_SIZE
        assert 0 <= e.mtime <= MAX_MTIME
    for w in listing.warnings:
        assert "\n" not in w and len(w) < 400, w
    return listing


def files(listing: Listing) -> list[str]:
    """Names of the file entries (the samples also list a folder, "deeper")."""
    return sorted(e.name for e in listing.entries if not e.is_dir)


def assert_honest(d: Dialect, listing: Listing) -> None:
    got = {e.name: e for e in listing.entries}
    for r in HONEST:
        assert r.name in got, (r.name, sorted(got))
        e = got[r.name]
        if d.sizes:
            assert e.size == r.size
        if d.times:
            assert e.mtime == calendar.timegm((*r.when, 0, 0, 0)) // 60 * 60 or e.mtime == (
                calendar.timegm((*r.when, 0, 0, 0))
            )


@pytest.mark.parametrize("d", DIALECTS, ids=IDS)
def test_honest_page_parses_without_warnings(d: Dialect) -> None:
    listing = parse(d, HONEST)
    assert_honest(d, listing)
    assert listing.warnings == []
    assert files(listing) == sorted(r.name for r in HONEST)


HOSTILE_NAMES = {
    "slash": "a/b",
    "dotdot": "..",
    "dot": ".",
    "nul": "nul\0byte",
    "newline": "evil\nname",
    "escape": "term\x1b[31mred",
    "c1": "csi\x9bx",
    "too-long": "L" * (MAX_NAME_BYTES + 1),
    "too-long-utf8": "é" * 128,  # 128 characters, 256 bytes
}


@pytest.mark.parametrize("case", sorted(HOSTILE_NAMES))
@pytest.mark.parametrize("d", DIALECTS, ids=IDS)
def test_a_hostile_name_costs_that_entry_and_one_warning(d: Dialect, case: str) -> None:
    bad = HOSTILE_NAMES[case]
    listing = parse(d, [HONEST[0], Row(bad, 7), HONEST[1]])
    assert_honest(d, listing)
    assert files(listing) == sorted(r.name for r in HONEST)
    assert len(listing.warnings) == 1, listing.warnings
    assert "dropped" in listing.warnings[0]


@pytest.mark.parametrize("d", DIALECTS, ids=IDS)
def test_a_name_of_exactly_255_bytes_is_kept(d: Dialect) -> None:
    name = "K" * MAX_NAME_BYTES
    listing = parse(d, [*HONEST, Row(name, 9)])
    assert name in {e.name for e in listing.entries}
    assert listing.warnings == []


@pytest.mark.parametrize("d", DIALECTS, ids=IDS)
def test_a_10_mb_name_costs_that_entry_only(d: Dialect) -> None:
    huge = "N" * 10_000_000
    t0 = time.perf_counter()
    listing = parse(d, [HONEST[0], Row(huge, 3), HONEST[1]])
    assert time.perf_counter() - t0 < 30
    assert_honest(d, listing)
    assert files(listing) == sorted(r.name for r in HONEST)
    # JSON/XML name the entry in one short warning; HTML parsers scan at most
    # MAX_RUN characters of an attribute, so such an anchor is not a link at all
    assert len(listing.warnings) <= 1
    if d.id in ("cpp-json", "nginx-json"):
        assert len(listing.warnings) == 1 and "10000000 bytes" in listing.warnings[0]


@pytest.mark.parametrize("d", DIALECTS, ids=IDS)
def test_a_duplicate_keeps_the_first_with_one_warning(d: Dialect) -> None:
    dup = Row(HONEST[0].name, 999)
    listing = parse(d, [*HONEST, dup])
    assert_honest(d, listing)
    assert files(listing) == sorted(r.name for r in HONEST)
    if d.sizes:
        assert len(listing.warnings) == 1 and "duplicate" in listing.warnings[0]
    else:  # the rows are identical on the page: nothing lost, nothing to say
        assert len(listing.warnings) <= 1


SIZED = [d for d in DIALECTS if d.sizes]
BAD_SIZES = {"2**63": 2**63, "10**30": 10**30, "2**64": 2**64}


@pytest.mark.parametrize("case", sorted(BAD_SIZES))
@pytest.mark.parametrize("d", SIZED, ids=[d.id for d in SIZED])
def test_a_size_past_what_a_file_can_be_drops_that_entry(d: Dialect, case: str) -> None:
    listing = parse(d, [HONEST[0], Row("huge.bin", BAD_SIZES[case]), HONEST[1]])
    assert_honest(d, listing)
    assert "huge.bin" not in {e.name for e in listing.entries}
    assert len(listing.warnings) == 1 and "past what a file can be" in listing.warnings[0]


@pytest.mark.parametrize("d", SIZED, ids=[d.id for d in SIZED])
def test_the_largest_possible_size_is_kept(d: Dialect) -> None:
    listing = parse(d, [*HONEST, Row("max.bin", MAX_FILE_SIZE)])
    assert {e.name: e.size for e in listing.entries}["max.bin"] == MAX_FILE_SIZE
    assert listing.warnings == []


JSON_NUMBERS = [
    ("-1", "1", "negative size", False),
    ("1e400", "1", "past what a file can be", False),
    ("-1e400", "1", "negative size", False),
    ("NaN", "1", "not a number", False),
    ("1", "1e300", "out of range", True),
    ("1", "-100", "out of range", True),
    ("1", "NaN", "not a number", True),
    ("1", "Infinity", "out of range", True),
]
CASES = [("cpp-json", *c) for c in JSON_NUMBERS] + [
    ("nginx-json", *c)
    for c in JSON_NUMBERS
    if c[1] == "1"  # nginx writes dates, not numbers
]


@pytest.mark.parametrize(("dialect", "sz", "ts", "warning", "kept"), CASES)
def test_json_numbers_no_file_can_have(
    dialect: str, sz: str, ts: str, warning: str, kept: bool
) -> None:
    # Python's json reads NaN, Infinity and 1e400 (as inf): none may reach a C struct
    if dialect == "cpp-json":
        bad = f'{{"href": "bad", "sz": {sz}, "ts": {ts}}}'
        honest = '{"href": "ok", "sz": 5, "ts": 1700000000}'
        body = f'{{"dirs": [], "files": [{honest}, {bad}]}}'
    else:
        bad = f'{{"name": "bad", "type": "file", "mtime": "x", "size": {sz}}}'
        honest = '{"name": "ok", "type": "file", "mtime": "x", "size": 5}'
        body = f"[{honest}, {bad}]"
    listing = parse_listing(body.encode(), "application/json", url_path="/")
    got = {e.name: e for e in listing.entries}
    assert got["ok"].size == 5
    assert ("bad" in got) == kept
    if kept:
        assert 0 <= got["bad"].mtime <= MAX_MTIME
    assert len(listing.warnings) == 1 and warning in listing.warnings[0], listing.warnings


TIMED = [d for d in DIALECTS if d.times and d.id != "cpp-json"]


@pytest.mark.parametrize("d", TIMED, ids=[d.id for d in TIMED])
def test_a_time_before_1970_is_clamped_with_one_warning(d: Dialect) -> None:
    old = Row("ancient.txt", 4, (1, 1, 1, 0, 0, 0))
    listing = parse(d, [*HONEST, old])
    got = {e.name: e for e in listing.entries}
    assert_honest(d, listing)
    assert got["ancient.txt"].mtime == 0.0
    assert len(listing.warnings) == 1 and "clamped time" in listing.warnings[0]


@pytest.mark.parametrize("d", TIMED, ids=[d.id for d in TIMED])
def test_the_latest_four_digit_year_is_in_range(d: Dialect) -> None:
    late = Row("late.txt", 4, (9999, 12, 31, 23, 59, 0))
    listing = parse(d, [*HONEST, late])
    got = {e.name: e for e in listing.entries}
    assert 0 < got["late.txt"].mtime <= MAX_MTIME
    assert listing.warnings == []


GARBAGE = {
    "truncated-json": b'{"dirs": [], "files": [{"href": "a", "sz": 1',
    "json-not-object": b"42",
    "deep-json": b'{"dirs": ' + b"[" * 50_000 + b"]" * 50_000 + b', "files": []}',
    "deep-html": b"<html><body>" + b"<div>" * 100_000 + b'<a href="x">x</a>',
    "binary": bytes(range(256)) * 64,
    "empty": b"",
}


@pytest.mark.parametrize("case", sorted(GARBAGE))
@pytest.mark.parametrize("dialect", [None, "cpp", "nginx", "generic", "apache", "iis"])
def test_invalid_json_and_html_give_entries_or_one_clean_error(
    case: str, dialect: str | None
) -> None:
    for ctype in ("application/json", "text/html"):
        try:
            listing = parse_listing(GARBAGE[case], ctype, url_path="/", dialect=dialect)
        except ListingError as e:
            assert str(e) and "\n" not in str(e)
            continue
        for e in listing.entries:
            assert name_problem(e.name) is None


def test_warnings_past_the_cap_are_counted_in_one_line() -> None:
    rows = [f'{{"href": "bad{i}", "sz": -1, "ts": 1}}' for i in range(250)]
    body = '{"dirs": [], "files": [{"href": "ok", "sz": 1, "ts": 1}, ' + ", ".join(rows) + "]}"
    listing = parse_listing(body.encode(), "application/json", url_path="/")
    assert [e.name for e in listing.entries] == ["ok"]
    assert len(listing.warnings) == 101
    assert listing.warnings[-1].startswith("150 more entries dropped or clamped")


# ---- big listings: complete, and memory bounded -------------------------------

#: Bound on the parse's peak traced memory: PEAK_PER_ENTRY per entry (the Entry,
#: its name and its slot in the builder's dict, plus what the parser holds for a
#: row while it works: a regex match, an anchor) and PEAK_PER_BODY_BYTE times the
#: body (the decoded text).  Measured on CPython 3.11 at 100k and 1M entries
#: (the same per entry): copyparty JSON 432 B/entry, nginx HTML 438, lighttpd
#: 523, Python 644, nginx JSON 742, IIS 917, Apache 1057 (printed with -s).  The
#: transport caps a listing at 256 MiB.
PEAK_PER_BODY_BYTE = 2
PEAK_PER_ENTRY = 1200
BIG_DIALECTS = ["cpp-json", "nginx-html", "nginx-json", "apache", "lighttpd", "python", "iis"]


def _big(d: Dialect, n: int) -> bytes:
    rows = [
        Row(f"file {i:07d} of a big folder.txt", i * 7, (2023, 11, 14, 22, 13, 0)) for i in range(n)
    ]
    rows[n // 2] = Row("bad/name", 1)  # one hostile entry in the middle
    return d.page(rows)


def _measure(d: Dialect, n: int) -> None:
    body = _big(d, n)
    tracemalloc.start()
    try:
        t0 = time.perf_counter()
        listing = parse_listing(body, d.ctype, url_path=SUB, dialect=d.force)
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    bound = PEAK_PER_BODY_BYTE * len(body) + PEAK_PER_ENTRY * n
    print(
        f"\n{n} entries, {d.id} ({len(body) / 1e6:.1f} MB): {elapsed:.1f} s, "
        f"peak {peak / 1e6:.0f} MB = {peak / len(body):.2f} x body "
        f"({peak / n:.0f} B/entry), bound {bound / 1e6:.0f} MB"
    )
    assert len(files(listing)) == n - 1
    assert len(listing.warnings) == 1 and "bad/name" in listing.warnings[0]
    assert peak <= bound


@pytest.mark.parametrize("did", ["nginx-html"])  # every dialect: the soak test below
def test_100k_entries_parse_completely_in_bounded_memory(did: str) -> None:
    _measure(next(d for d in DIALECTS if d.id == did), 100_000)


@pytest.mark.soak
@pytest.mark.timeout(1800)  # minutes per dialect under tracemalloc on a busy machine
@pytest.mark.parametrize("did", BIG_DIALECTS)
def test_a_million_entries_parse_completely_in_bounded_memory(did: str) -> None:
    _measure(next(d for d in DIALECTS if d.id == did), 1_000_000)


# ---- the last guard: values that did not come through a listing ---------------


def test_to_stat_never_hands_the_binding_a_value_that_would_wrap() -> None:
    st = Attrs(False, 2**64, 1e300).to_stat()
    assert st["st_size"] == MAX_FILE_SIZE and st["st_mtime"] == MAX_MTIME
    st = Attrs(False, -1, float("nan")).to_stat()
    assert st["st_size"] == 0 and st["st_mtime"] == 0.0 and st["st_blocks"] == 0
    st = Attrs(False, 1025, 12.5).to_stat()
    assert (st["st_size"], st["st_mtime"], st["st_blocks"]) == (1025, 12.5, 3)


class _ProbeTransport:
    """A folder whose listing gives rounded sizes; the probe of one file lies."""

    def list_dir(self, path: str) -> list[Entry]:
        return [Entry("ok.bin", False, None, 1.0), Entry("liar.bin", False, None, 1.0)]

    def probe(self, path: str, entry: Entry) -> Entry:
        return replace(entry, size=10**30 if path == "liar.bin" else 3)

    def read_range(self, path: str, start: int, end: int, entry: Entry) -> bytes:
        return b"abc"[start:end]


def test_an_impossible_probed_size_costs_that_file_only() -> None:
    fs = make_fs(_ProbeTransport())
    assert sorted(name for name, _ in fs.readdir("/")) == ["liar.bin", "ok.bin"]
    with pytest.raises(FsError) as e:
        fs.getattr("/liar.bin")
    assert e.value.errno == errno.EIO and "impossible size" in str(e.value)
    assert fs.getattr("/ok.bin").size == 3
    fh = fs.open("/ok.bin", os.O_RDONLY)
    assert fs.read("/ok.bin", 10, 0, fh) == b"abc"
