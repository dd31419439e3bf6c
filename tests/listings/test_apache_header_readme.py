"""Debian's HeaderName HEADER.html / ReadmeName README.html paste arbitrary HTML around the listing.

mod_autoindex sends a directory's HEADER.html raw in place of the <h1> and its
README.html raw after the listing (fakes/render_apache.py, checked byte for
byte against apache2 in tests/listings/fidelity/).  Whatever those files hold
-- links, tables, <pre>, lists, near-copies of mod_autoindex's own markup --
the parser must read mod_autoindex's block and nothing else: no phantom entry
from a pasted link, no real entry hidden behind a pasted table.
"""

from __future__ import annotations

import urllib.request

import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from fakes import render_apache
from fakes.tree import Tree
from partyfuse.core.listings import parse_listing
from partyfuse.core.model import Entry
from tests.support.listing_cases import FAST, Case, cases, expect
from tests.support.real_servers import APACHE_VARIANTS, RealServerFactory

STYLES = ("table", "pre", "ul")
RULES = {"table": ("apache", "min"), "pre": ("apache", "min"), "ul": ("none", "none")}

#: Names linked from the pasted HTML that are never in the tree.
PHANTOMS = ["x.txt", "phantom/", "Phantom%20file", "./p:q", "/abs-phantom", "HEADER.htm"]


def _fragments(name: str) -> list[str]:
    """Pieces of HTML a HEADER/README could hold, many shaped like mod_autoindex's own."""
    return [
        f'<a href="{name}">{name}</a>',
        f"<a href='{name}'>{name}</a>",
        f'<a href="{name}"> {name}</a>',
        f'<A HREF="{name}">{name}</A>',
        "<table>",
        "  <table>\n",
        "<TABLE>",
        "</table>",
        "</table>\n",
        f'<tr><td><a href="{name}">{name}</a></td><td>2023-01-01 00:00</td><td>5</td></tr>',
        '<tr><td valign="top"><img src="/icons/text.gif" alt="[TXT]"></td>'
        f'<td><a href="{name}">{name}</a></td><td align="right">2023-01-01 00:00  </td>'
        '<td align="right">  5 </td><td>&nbsp;</td></tr>\n',
        '   <tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th>'
        '<th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th></tr>\n',
        '   <tr><th colspan="5"><hr></th></tr>\n',
        '<a href="?C=N;O=D">Name</a>',
        '<a href="/">Parent Directory</a>',
        '<a href="../">Parent Directory</a>',
        "<pre>",
        "</pre>",
        "<hr></pre>\n",
        "<hr>",
        f'<img src="/icons/text.gif" alt="[TXT]"> <a href="{name}">{name}</a>'
        "       2023-01-01 00:00    5  \n",
        "<ul>",
        "<ul></ul>",
        "</ul>",
        "</ul>\n",
        f'<li><a href="{name}"> {name}</a></li>\n',
        "<h1>Index of /</h1>\n",
        "</body></html>\n",
        " <body>\n",
        "<!-- ",
        " -->",
        "plain words\n",
        "\n",
        "&amp; &lt;",
    ]


@st.composite
def pasted(draw: st.DrawFn) -> bytes | None:
    """None (no such file) or HTML bytes built from the fragments."""
    if draw(st.integers(0, 3)) == 0:
        return None
    name = draw(st.sampled_from(PHANTOMS))
    parts = draw(st.lists(st.sampled_from(_fragments(name)), max_size=12))
    return "".join(parts).encode()


def _join(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name


def _expected(case: Case, style: str, extra: dict[str, bytes]) -> dict[str, Entry]:
    want = expect(case, *RULES[style], skip=render_apache.ignored)
    size_rule, mtime_rule = RULES[style]
    for name, data in extra.items():
        node = case.tree.lookup(_join(case.path, name))
        assert node is not None
        size = len(data) if size_rule == "apache" and len(data) < 973 else None
        mtime = float(node.mtime - node.mtime % 60) if mtime_rule == "min" else 0.0
        want[name] = Entry(name, False, size, mtime)
    return want


def _parse(body: bytes, headers: dict[str, str], url_path: str) -> tuple[dict[str, Entry], str]:
    if currently_in_test_context():
        note(body.decode("utf-8", "replace")[:4000])
    listing = parse_listing(body, headers["Content-Type"], url_path=url_path)
    assert listing.warnings == []
    return {e.name: e for e in listing.entries}, listing.dialect


@FAST
@given(cases(), st.sampled_from(STYLES), pasted(), pasted())
def test_pasted_header_and_readme_never_add_or_hide_entries(
    case: Case, style: str, header: bytes | None, readme: bytes | None
) -> None:
    extra = {}
    for name, data in (("HEADER.html", header), ("README.html", readme)):
        if data is not None:
            case.tree.add_file(_join(case.path, name), data)
            extra[name] = data
    body, headers = render_apache.render(case.tree, case.path, style=style)
    got, dialect = _parse(body, headers, case.url_path)
    assert dialect == "apache"
    assert got == _expected(case, style, extra)


def _tree(path: str, header: bytes | None, readme: bytes | None) -> Tree:
    tree = Tree()
    tree.add_file(_join(path, "real.bin"), b"abc")
    tree.add_dir(_join(path, "real dir"))
    if header is not None:
        tree.add_file(_join(path, "HEADER.html"), header)
    if readme is not None:
        tree.add_file(_join(path, "README.html"), readme)
    return tree


PASTES = {
    "bare-link": b'<a href="x.txt">x</a>',
    "table": b'<table><tr><td><a href="x.txt">x</a></td></tr></table>',
    "unclosed-table": b'<table><tr><td><a href="x.txt">x</a>',
    "pre": b'<pre><a href="x.txt">x</a>\n</pre>',
    "ul-like-apache": b'<ul><li><a href="x.txt"> x.txt</a></li>\n</ul>\n',
    "empty-ul": b"<ul></ul>",
    "sort-links-and-parent": (
        b'<table><tr><th><a href="?C=N;O=D">Name</a></th></tr>'
        b'<tr><td><a href="/">Parent Directory</a></td></tr>'
        b'<tr><td><img alt="[TXT]"><a href="x.txt">x.txt</a></td></tr></table>'
    ),
}


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("path", ["", "d"])
@pytest.mark.parametrize("where", ["header", "readme", "both"])
@pytest.mark.parametrize("paste", sorted(PASTES))
def test_known_pastes_give_exactly_the_real_entries(
    style: str, path: str, where: str, paste: str
) -> None:
    data = PASTES[paste]
    header = data if where in ("header", "both") else None
    readme = data if where in ("readme", "both") else None
    tree = _tree(path, header, readme)
    body, headers = render_apache.render(tree, path, style=style)
    got, dialect = _parse(body, headers, "/" + (path + "/" if path else ""))
    assert dialect == "apache"
    want = {"real.bin", "real dir"} | {
        n for n, d in (("HEADER.html", header), ("README.html", readme)) if d is not None
    }
    assert set(got) == want
    assert got["real dir"].is_dir and not got["real.bin"].is_dir


def test_a_big_header_does_not_hide_the_page_from_auto_detection() -> None:
    """The markers after a long HEADER.html are far from the start of the page."""
    header = b"<p>" + b"words " * 5000 + b"</p>\n"
    for style in STYLES:
        tree = _tree("", header, None)
        body, headers = render_apache.render(tree, "", style=style)
        got, dialect = _parse(body, headers, "/")
        assert dialect == "apache", style
        assert set(got) == {"real.bin", "real dir", "HEADER.html"}


def test_a_header_shaped_like_another_server_does_not_change_the_dialect() -> None:
    """The page's first bytes are mod_autoindex's, whatever the header imitates."""
    imitations = [
        b'<h1>Index of /</h1><hr><pre><a href="x.txt">x.txt</a>\n</pre><hr>',  # nginx
        b'<div class="list"><table summary="Directory Listing"><tr><td class="n">'
        b'<a href="x.txt">x.txt</a></td></tr></table></div>',  # lighttpd
    ]
    for header in imitations:
        for style in STYLES:
            tree = _tree("d", header, None)
            body, headers = render_apache.render(tree, "d", style=style)
            got, dialect = _parse(body, headers, "/d/")
            assert dialect == "apache", (style, header)
            assert set(got) == {"real.bin", "real dir", "HEADER.html"}


def test_real_apache2_pages_with_pasted_files_give_exactly_the_real_entries(
    real_server: RealServerFactory,
) -> None:
    """The same pastes served by the real apache2 (Debian's autoindex.conf), every style."""
    tree = Tree()
    dirs: dict[str, tuple[set[str], list[bytes]]] = {
        "": ({"HEADER.html", "README.html"}, [PASTES["table"], PASTES["ul-like-apache"]])
    }
    tree.add_file("HEADER.html", PASTES["table"])
    tree.add_file("README.html", PASTES["ul-like-apache"])
    for paste, data in sorted(PASTES.items()):
        for where in ("header", "readme", "both"):
            d = f"{paste}-{where}"
            dirs[""][0].add(d)
            dirs[d] = ({"real.bin", "real dir"}, [])
            tree.add_file(f"{d}/real.bin", b"abc")
            tree.add_dir(f"{d}/real dir")
            for name, wanted in (("HEADER.html", "readme"), ("README.html", "header")):
                if where != wanted:
                    tree.add_file(f"{d}/{name}", data)
                    dirs[d][0].add(name)
                    dirs[d][1].append(data)
    for variant in APACHE_VARIANTS:
        server = real_server("apache", tree, variant=variant)
        for d, (want, pastes) in dirs.items():
            url_path = f"/{d}/" if d else "/"
            with urllib.request.urlopen(server.url(url_path), timeout=10) as r:
                body, ctype = r.read(), r.headers.get("Content-Type", "")
            assert all(p in body for p in pastes), (variant, d)  # apache2 did paste them
            listing = parse_listing(body, ctype, url_path=url_path)
            assert listing.dialect == "apache", (variant, d)
            assert listing.warnings == [], (variant, d)
            assert {e.name for e in listing.entries} == want, (variant, d)
