"""Listings captured from real servers (data/, capture_samples.py) parse to the tree they show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from partyfuse.core.listings import parse_listing
from partyfuse.core.model import Entry
from tests.support.listed import listed_entry
from tests.support.samples import SAMPLE_TREE, SUBDIR_TREE

DATA = Path(__file__).parent / "data"
MANIFEST: dict[str, dict[str, str]] = json.loads((DATA / "samples.json").read_text())

# label -> (dialect detected, size rule, mtime rule)
#   size rules: "exact" | "nginx" (<=9999 exact) | "apache" (<973 exact) | "none"
#   mtime rules: "sec" | "min" (minute precision) | "none"
RULES = {
    "nginx_exact": ("nginx", "exact", "min"),
    "nginx_rounded": ("nginx", "nginx", "min"),
    "nginx_json": ("nginx-json", "exact", "sec"),
    "nginx_xml": ("nginx-xml", "exact", "sec"),
    "apache_table": ("apache", "apache", "min"),
    "apache_pre": ("apache", "apache", "min"),
    "apache_ul": ("apache", "none", "none"),
    "lighttpd": ("lighttpd", "none", "sec"),
    "python": ("python", "none", "none"),
    "copyparty_html": ("cpp-html", "exact", "sec"),
}


def expected(
    tree: dict[bytes, tuple[int | None, int]], size_rule: str, mtime_rule: str
) -> dict[str, Entry]:
    out = {}
    for raw, (size, mtime) in tree.items():
        name = raw.decode("utf-8", "surrogateescape")
        out[name] = listed_entry(name, size is None, size or 0, mtime, size_rule, mtime_rule)
    return out


@pytest.mark.parametrize("fname", sorted(MANIFEST))
def test_real_sample_parses_to_the_served_tree(fname: str) -> None:
    meta = MANIFEST[fname]
    label, which = fname.removesuffix(".bin").split("__")
    dialect, size_rule, mtime_rule = RULES[label]
    listing = parse_listing(
        (DATA / fname).read_bytes(), meta["content_type"], url_path=meta["url_path"]
    )
    assert listing.dialect == dialect
    assert listing.warnings == []
    tree = SAMPLE_TREE if which == "root" else SUBDIR_TREE
    got = {e.name: e for e in listing.entries}
    assert got == expected(tree, size_rule, mtime_rule)


@pytest.mark.parametrize("fname", sorted(MANIFEST))
def test_real_sample_parses_the_same_when_its_dialect_is_forced(fname: str) -> None:
    meta = MANIFEST[fname]
    auto = parse_listing(
        (DATA / fname).read_bytes(), meta["content_type"], url_path=meta["url_path"]
    )
    forced_name = {"cpp-html": "cpp"}.get(auto.dialect, auto.dialect.split("-")[0])
    forced = parse_listing(
        (DATA / fname).read_bytes(),
        meta["content_type"],
        url_path=meta["url_path"],
        dialect=forced_name,
    )
    assert forced.entries == auto.entries
    assert forced.dialect == auto.dialect


@pytest.mark.parametrize("fname", sorted(f for f in MANIFEST if "json" not in f and "xml" not in f))
def test_generic_fallback_finds_every_name_of_a_real_sample(fname: str) -> None:
    meta = MANIFEST[fname]
    listing = parse_listing(
        (DATA / fname).read_bytes(),
        meta["content_type"],
        url_path=meta["url_path"],
        dialect="generic",
    )
    label, which = fname.removesuffix(".bin").split("__")
    tree = SAMPLE_TREE if which == "root" else SUBDIR_TREE
    want = {}
    for raw, (size, _) in tree.items():
        name = raw.decode("utf-8", "surrogateescape")
        if label == "python":
            # Only the python dialect knows http.server's surrogatepass quoting;
            # generic keeps the bytes it was given ("%ED%B3%BF" for 0xFF).
            name = name.encode("utf-8", "surrogatepass").decode("utf-8", "surrogateescape")
        want[name] = size is None
    assert {e.name: e.is_dir for e in listing.entries} == want


@pytest.mark.parametrize(
    ("module", "fname"),
    [
        ("nginx", "nginx_exact__root.bin"),
        ("nginx", "nginx_rounded__root.bin"),
        ("nginx", "nginx_exact__sub.bin"),
        ("apache", "apache_table__root.bin"),
        ("apache", "apache_table__sub.bin"),
    ],
)
def test_real_nginx_and_apache_pages_take_the_whole_line_fast_path(
    monkeypatch: pytest.MonkeyPatch, module: str, fname: str
) -> None:
    from partyfuse.core.listings import apache, nginx

    def slow_path(*_a: object, **_k: object) -> None:
        raise AssertionError("the tolerant per-anchor path was used")

    mod = {"nginx": nginx, "apache": apache}[module]
    for name in ("iter_anchor_lines", "iter_table_rows"):
        if hasattr(mod, name):
            monkeypatch.setattr(mod, name, slow_path)
    meta = MANIFEST[fname]
    listing = parse_listing(
        (DATA / fname).read_bytes(), meta["content_type"], url_path=meta["url_path"]
    )
    assert listing.entries
