"""Hypothesis cases for the listing round trips: a directory of awkward names, what it lists.

A case is a tree with one listed directory (the root or an awkwardly named
one) whose children have awkward names, sizes around every rounding step and
any mtime; :func:`expect` gives the entries a listing of it should parse to
under a server's size and mtime rules.  Shared by tests/listings/test_roundtrip.py
(the fakes' renderers) and the real-server round trips next to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from fakes import render_nginx
from fakes.tree import Node, Tree, name_bytes
from partyfuse.core.limits import name_problem
from partyfuse.core.model import Entry
from tests.support.listed import listed_entry
from tests.support.names import name_chars

#: Settings for tests that draw cases: a slow draw is not a failure.
FAST = settings(suppress_health_check=[HealthCheck.too_slow])


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
