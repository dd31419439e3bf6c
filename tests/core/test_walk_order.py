"""walk_order against a plain recursive model: the same folders, in the same
order, on any tree with any folders listed or not, from any walker and top."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from partyfuse.core.model import Entry
from partyfuse.core.walk import files_after, parent_of, walk_order


def model_order(
    listing: dict[str, dict[str, Entry]], at: str, root: str
) -> Iterator[tuple[str, bool]]:
    """Pre-order from ``at``: everything below it, then the later folders of
    each ancestor up to ``root``, stopping at the first ancestor not listed."""

    def below(folder: str) -> Iterator[tuple[str, bool]]:
        for e in listing[folder].values():
            if e.is_dir:
                path = f"{folder}/{e.name}" if folder else e.name
                yield path, path in listing
                if path in listing:
                    yield from below(path)

    if at in listing:
        yield from below(at)
    node = at
    while node != root:
        up = parent_of(node)
        if up is None or up not in listing:
            return
        name = node.rpartition("/")[2]
        names = [e.name for e in listing[up].values() if e.is_dir]
        if name in names:
            for later in names[names.index(name) + 1 :]:
                path = f"{up}/{later}" if up else later
                yield path, path in listing
                if path in listing:
                    yield from below(path)
        node = up


@st.composite
def trees(draw: st.DrawFn) -> tuple[dict[str, dict[str, Entry]], str, str]:
    """A tree of folders (some listed, some not) and files, a walker and a top."""
    listing: dict[str, dict[str, Entry]] = {}
    folders = [""]

    def grow(path: str, depth: int) -> None:
        if not draw(st.booleans()) and path:
            return  # not listed (yet)
        entries: dict[str, Entry] = {}
        for i in range(draw(st.integers(0, 4 if depth < 3 else 0))):
            is_dir = draw(st.booleans())
            name = f"{'d' if is_dir else 'f'}{i}"
            entries[name] = Entry(name, is_dir, None if is_dir else 1, 0.0)
        listing[path] = entries
        for name, e in entries.items():
            if e.is_dir:
                sub = f"{path}/{name}" if path else name
                folders.append(sub)
                grow(sub, depth + 1)

    grow("", 0)
    at = draw(st.sampled_from(folders))
    ups = [at]
    while (p := parent_of(ups[-1])) is not None:
        ups.append(p)
    root = draw(st.sampled_from(ups))
    return listing, at, root


@settings(max_examples=300, deadline=None)
@given(trees())
def test_walk_order_is_the_recursive_pre_order(case: tuple[dict[str, Any], str, str]) -> None:
    listing, at, root = case

    def look(path: str) -> Mapping[str, Entry] | None:
        return listing.get(path)

    assert list(walk_order(look, at, root)) == list(model_order(listing, at, root))


def test_files_after_follow_the_walk_order() -> None:
    def f(name: str) -> Entry:
        return Entry(name, False, 1, 0.0)

    listing = {
        "": {"a": Entry("a", True, None, 0.0), "b": Entry("b", True, None, 0.0)},
        "a": {"x": f("x"), "y": f("y")},
        "b": {"z": f("z")},
    }
    got = [p for p, _ in files_after(listing.get, "a/x", "")]
    assert got == ["a/y", "b/z"]
