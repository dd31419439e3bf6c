"""Hypothesis trees with awkward names -> each fake renderer -> parse_listing -> the same tree.

The renderers (fakes/render_*.py) are byte-exact copies of what nginx, Apache
and IIS write (checked against the real servers in tests/listings/fidelity/),
so this is the parser against every name the servers can be made to show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from fakes import render_apache, render_iis, render_nginx
from fakes.tree import Node, Tree, name_bytes
from partyfuse.core.limits import name_problem
from partyfuse.core.listings import parse_listing
from partyfuse.core.model import Entry
from tests.support.listed import listed_entry
from tests.support.names import name_chars


def _ok(name: str) -> bool:
    return (
        name not in (".", "..")
        and not name.startswith(".")  # nginx and Apache hide dot-files
        and 0 < len(name_bytes(name)) <= 255
        and name_problem(name) is None  # e.g. a C1 control made of two raw bytes
    )


def names(raw_bytes: bool, iis: bool = False) -> st.SearchStrategy[str]:
    short = st.text(name_chars(raw_bytes=raw_bytes, iis=iis), min_size=1, max_size=24)
    long = st.integers(200, 255).map(lambda n: "L" * (n - 4) + ".bin")  # NAME_MAX
    # Canonical form: bytes that happen to make valid UTF-8 are that character.
    canon = short.map(lambda n: name_bytes(n).decode("utf-8", "surrogateescape"))
    return st.one_of(canon, canon, canon, long).filter(_ok)


class _Sized(Node):
    """A file node that claims a size without holding the bytes (listings only)."""

    def __init__(self, size: int, mtime: int) -> None:
        super().__init__(is_dir=False, mtime=mtime)
        self._size = size

    @property
    def size(self) -> int:
        return self._size


SIZES = st.one_of(
    st.sampled_from([0, 1, 972, 973, 1023, 1024, 9999, 10000, 10240, 1048575, 1048576]),
    st.integers(0, 1 << 20),
    st.integers(0, 1 << 42),
)
MTIMES = st.integers(0, 2**31 - 1)


@dataclass
class Case:
    tree: Tree
    path: str
    """The listed directory ("" root, or one awkwardly named subdirectory)."""
    children: dict[str, tuple[bool, int, int]]
    """name -> (is_dir, size, mtime) of what the listing shows."""

    @property
    def url_path(self) -> str:
        if not self.path:
            return "/"
        return "/" + render_nginx.escape_uri_component(name_bytes(self.path)).decode() + "/"


@st.composite
def cases(draw: st.DrawFn, raw_bytes: bool = True, iis: bool = False) -> Case:
    tree = Tree()
    path = draw(st.one_of(st.just(""), names(raw_bytes, iis)))
    if path:
        tree.add_dir(path)
    kids = draw(
        st.dictionaries(
            names(raw_bytes, iis),
            st.tuples(st.booleans(), SIZES, MTIMES),
            min_size=0,
            max_size=12,
        )
    )
    parent = tree.lookup(path)
    assert parent is not None
    for name, (is_dir, size, mtime) in kids.items():
        if is_dir:
            tree.add_dir(f"{path}/{name}" if path else name, mtime=mtime)
        else:
            parent.children[name] = _Sized(size, mtime)
    return Case(tree, path, kids)


def expect(
    case: Case, size_rule: str, mtime_rule: str, skip: Callable[[str], bool] = lambda n: False
) -> dict[str, Entry]:
    return {
        name: listed_entry(name, is_dir, size, mtime, size_rule, mtime_rule)
        for name, (is_dir, size, mtime) in case.children.items()
        if not skip(name)
    }


def parsed(body: bytes, headers: dict[str, str], case: Case, dialect: str) -> dict[str, Entry]:
    note(body.decode("utf-8", "replace")[:3000])
    listing = parse_listing(body, headers.get("Content-Type", ""), url_path=case.url_path)
    assert listing.dialect == dialect
    assert listing.warnings == []
    return {e.name: e for e in listing.entries}


FAST = settings(suppress_health_check=[HealthCheck.too_slow])


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
