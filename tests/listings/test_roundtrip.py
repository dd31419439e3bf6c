"""Hypothesis trees with awkward names -> each fake renderer -> parse_listing -> the same tree.

The renderers (fakes/render_*.py) are byte-exact copies of what nginx, Apache
and IIS write (checked against the real servers in tests/listings/fidelity/),
so this is the parser against every name the servers can be made to show.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import assume, given, note
from hypothesis import strategies as st

from fakes import render_apache, render_iis, render_nginx
from fakes.tree import Tree
from partyfuse.core.listings import parse_listing
from partyfuse.core.model import Entry
from tests.support.listing_cases import FAST, Case, cases, expect


def parsed(body: bytes, headers: dict[str, str], case: Case, dialect: str) -> dict[str, Entry]:
    note(body.decode("utf-8", "replace")[:3000])
    listing = parse_listing(body, headers.get("Content-Type", ""), url_path=case.url_path)
    assert listing.dialect == dialect
    assert listing.warnings == []
    return {e.name: e for e in listing.entries}


@FAST
@given(cases(), st.booleans(), st.booleans())
def test_nginx_html_roundtrip(case: Case, exact: bool, utf8: bool) -> None:
    body, headers = render_nginx.render_html(
        case.tree, case.path, exact_size=exact, charset="utf-8" if utf8 else None
    )
    got = parsed(body, headers, case, "nginx")
    assert got == expect(case, "exact" if exact else "nginx", "min")


@FAST
@given(cases())
def test_nginx_json_roundtrip(case: Case) -> None:
    body, headers = render_nginx.render_json(case.tree, case.path)
    assert parsed(body, headers, case, "nginx-json") == expect(case, "exact", "sec")


@FAST
@given(cases())
def test_nginx_xml_roundtrip(case: Case) -> None:
    body, headers = render_nginx.render_xml(case.tree, case.path)
    assert parsed(body, headers, case, "nginx-xml") == expect(case, "exact", "sec")


@FAST
@given(cases(), st.sampled_from(["table", "pre", "ul"]))
def test_apache_roundtrip(case: Case, style: str) -> None:
    body, headers = render_apache.render(case.tree, case.path, style=style)
    got = parsed(body, headers, case, "apache")
    rules = {"table": ("apache", "min"), "pre": ("apache", "min"), "ul": ("none", "none")}[style]
    assert got == expect(case, *rules, skip=render_apache.ignored)


IIS_FLAGS = st.sampled_from(
    [
        render_iis.DEFAULT_FLAGS,
        render_iis.DEFAULT_FLAGS | render_iis.SHOW_LONGDATE,
        render_iis.SHOW_DATE | render_iis.SHOW_TIME | render_iis.SHOW_SIZE,
        render_iis.SHOW_SIZE | render_iis.SHOW_EXTENSION,
    ]
)


@FAST
@given(cases(raw_bytes=False, iis=True), IIS_FLAGS, st.booleans())
def test_iis_roundtrip(case: Case, flags: int, meta: bool) -> None:
    assume(all(render_iis.can_serve(n) for n in [case.path, *case.children] if n))
    body, headers = render_iis.render(case.tree, case.path, flags=flags, meta=meta)
    got = parsed(body, headers, case, "iis")
    has_date = bool(flags & render_iis.SHOW_DATE and flags & render_iis.SHOW_TIME)
    assert got == expect(case, "exact", "min" if has_date else "none")


Render = Callable[[Tree, str], tuple[bytes, dict[str, str]]]
EMPTY_RENDERS: dict[str, tuple[Render, str]] = {
    "nginx-html": (lambda t, p: render_nginx.render_html(t, p), "nginx"),
    "nginx-json": (lambda t, p: render_nginx.render_json(t, p), "nginx-json"),
    "nginx-xml": (lambda t, p: render_nginx.render_xml(t, p), "nginx-xml"),
    "apache-table": (lambda t, p: render_apache.render(t, p, style="table"), "apache"),
    "apache-pre": (lambda t, p: render_apache.render(t, p, style="pre"), "apache"),
    "apache-ul": (lambda t, p: render_apache.render(t, p, style="ul"), "apache"),
    "iis": (lambda t, p: render_iis.render(t, p), "iis"),
    "iis-names-only": (lambda t, p: render_iis.render(t, p, flags=0), "iis"),
}


@pytest.mark.parametrize("path", ["", "empty dir"])
@pytest.mark.parametrize("kind", sorted(EMPTY_RENDERS))
def test_empty_directories_are_recognised_as_empty_listings(kind: str, path: str) -> None:
    tree = Tree()
    if path:
        tree.add_dir(path)
    render, dialect = EMPTY_RENDERS[kind]
    body, headers = render(tree, path)
    case = Case(tree, path, {})
    listing = parse_listing(body, headers["Content-Type"], url_path=case.url_path)
    assert (listing.dialect, listing.entries, listing.warnings) == (dialect, [], [])
