"""An in-memory file tree that fake servers render and real servers are fed from.

One model serves both sides of a fidelity test: the fake renders a listing
from it, and :meth:`Tree.write_to` puts the very same names, bytes and mtimes
on disk for nginx/apache2/lighttpd to list, so the two listings can be
compared byte for byte.

Names are ``str``; bytes that are not UTF-8 are carried as surrogateescape
(exactly what ``os.fsdecode`` gives on Linux), so ``name_bytes(name)`` is the
on-disk name.  Paths are ``"/"``-joined names without leading or trailing
slash; ``""`` is the root.  Mtimes are integer UTC epoch seconds: every
listing format we fake shows at most seconds.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: 2023-11-14 22:13:20 UTC: a fixed default so rendered listings are reproducible.
DEFAULT_MTIME = 1700000000


def name_bytes(name: str) -> bytes:
    """The on-disk (and on-the-wire, before escaping) bytes of a name."""
    return name.encode("utf-8", "surrogateescape")


def from_bytes(raw: bytes) -> str:
    """The name for on-disk bytes (os.fsdecode on Linux, but the same on every OS)."""
    return raw.decode("utf-8", "surrogateescape")


def split_path(path: str) -> list[str]:
    return [p for p in path.strip("/").split("/") if p]


@dataclass
class Node:
    """A file (``data`` is bytes) or a directory (``children``)."""

    is_dir: bool
    mtime: int = DEFAULT_MTIME
    data: bytes = b""
    children: dict[str, Node] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return 0 if self.is_dir else len(self.data)


class Tree:
    """A mutable tree; tests may change it while a fake server serves it."""

    def __init__(self, root_mtime: int = DEFAULT_MTIME) -> None:
        self.root = Node(is_dir=True, mtime=root_mtime)

    # -- building ---------------------------------------------------------
    def add_dir(self, path: str, mtime: int = DEFAULT_MTIME) -> Node:
        """Create directory ``path`` (and missing parents, which get ``mtime`` too)."""
        node = self.root
        for name in split_path(path):
            _check_name(name)
            child = node.children.get(name)
            if child is None:
                child = node.children[name] = Node(is_dir=True, mtime=mtime)
            elif not child.is_dir:
                raise ValueError(f"{path!r}: {name!r} is a file")
            node = child
        node.mtime = mtime
        return node

    def add_file(self, path: str, data: bytes, mtime: int = DEFAULT_MTIME) -> Node:
        """Create or replace file ``path``; missing parent directories are created."""
        parts = split_path(path)
        if not parts:
            raise ValueError("a file needs a name")
        parent = self._dir_for("/".join(parts[:-1]))
        _check_name(parts[-1])
        old = parent.children.get(parts[-1])
        if old is not None and old.is_dir:
            raise ValueError(f"{path!r} is a directory")
        node = parent.children[parts[-1]] = Node(is_dir=False, mtime=mtime, data=data)
        return node

    def remove(self, path: str) -> None:
        parts = split_path(path)
        parent = self.lookup("/".join(parts[:-1]))
        if parent is None or not parent.is_dir or parts[-1] not in parent.children:
            raise KeyError(path)
        del parent.children[parts[-1]]

    def _dir_for(self, path: str) -> Node:
        node = self.lookup(path)
        if node is None:
            return self.add_dir(path)
        if not node.is_dir:
            raise ValueError(f"{path!r} is a file")
        return node

    # -- reading ----------------------------------------------------------
    def lookup(self, path: str) -> Node | None:
        node = self.root
        for name in split_path(path):
            if not node.is_dir or name not in node.children:
                return None
            node = node.children[name]
        return node

    def listdir(self, path: str) -> list[tuple[str, Node]]:
        """Children of directory ``path`` in no particular order (servers sort)."""
        node = self.lookup(path)
        if node is None or not node.is_dir:
            raise NotADirectoryError(path)
        return list(node.children.items())

    def walk(self, path: str = "") -> Iterator[tuple[str, Node]]:
        """Every node below ``path`` (depth first), as (path, node)."""
        node = self.lookup(path)
        if node is None:
            return
        for name, child in sorted(node.children.items()):
            sub = f"{path}/{name}" if path else name
            yield sub, child
            if child.is_dir:
                yield from self.walk(sub)

    # -- materialising ----------------------------------------------------
    def write_to(self, directory: Path | str) -> Path:
        """Write the tree under ``directory`` with exact names, bytes and mtimes.

        Directory mtimes are set last, deepest first, because creating a
        child bumps its parent's mtime.
        """
        top = Path(directory)
        top.mkdir(parents=True, exist_ok=True)
        top_b = os.fsencode(top)
        dirs: list[tuple[bytes, int]] = []
        for path, node in self.walk():
            full = os.path.join(top_b, *[name_bytes(p) for p in split_path(path)])
            if node.is_dir:
                os.makedirs(full, exist_ok=True)
                dirs.append((full, node.mtime))
            else:
                with open(full, "wb") as f:
                    f.write(node.data)
                os.utime(full, (node.mtime, node.mtime))
        for full, mtime in sorted(dirs, key=lambda d: -d[0].count(b"/")):
            os.utime(full, (mtime, mtime))
        os.utime(top_b, (self.root.mtime, self.root.mtime))
        return top


def _check_name(name: str) -> None:
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise ValueError(f"not a valid file name: {name!r}")
    name_bytes(name)  # raises on lone surrogates that are not escaped bytes


def patterned(size: int, seed: int = 0) -> bytes:
    """Deterministic content with no period: a block served at the wrong offset shows.

    (A repeating pattern would hide a cache that returns block n+1 for block n
    whenever the period divides the block size.)
    """
    return random.Random(seed).randbytes(size)


#: Names that trip listing parsers: URL/HTML metacharacters, unicode, long
#: names (nginx truncates at 50 columns), a leading dash and a non-UTF-8 name.
AWKWARD_NAMES: tuple[str, ...] = (
    "plain.txt",
    "with space.txt",
    "pct%41.txt",
    "hash#.txt",
    "q?mark.txt",
    "amp&and.txt",
    "plus+.txt",
    'quote"d.txt',
    "apos'd.txt",
    "lt<gt>.txt",
    "ünïcødé.txt",
    "emoji😀.txt",
    "-leading.txt",
    "semi;colon.txt",
    "co:lon.txt",
    "ämp&amp;.txt",
    "a" * 60 + ".txt",
    "é" * 30 + ".txt",  # 64 bytes but 34 characters
    "tab\tname.txt",
    "back\\slash.txt",
    b"bad\xff\xfe.bin".decode("utf-8", "surrogateescape"),  # not os.fsdecode: Windows
)


def awkward_tree() -> Tree:
    """The fidelity tree: awkward names, sizes straddling every rounding step.

    Sizes cover nginx's (9999/10000, K/M rounding at half) and Apache's
    (972/973) thresholds; mtimes differ per file and include a midnight.
    """
    t0 = DEFAULT_MTIME
    tree = Tree(root_mtime=t0)
    sizes = [0, 5, 972, 973, 1001, 9999, 10000, 10751, 12012, 1048063, 1572864, 3000000]
    for i, name in enumerate(AWKWARD_NAMES):
        size = sizes[i % len(sizes)]
        tree.add_file(name, patterned(size, seed=i), mtime=t0 + i * 86400 + i * 61)
    tree.add_file("midnight.txt", b"0", mtime=1577836800)  # 2020-01-01 00:00:00 UTC
    tree.add_dir("sub dir", mtime=t0 + 3600)
    tree.add_file("sub dir/inner.txt", b"inner", mtime=t0 + 7200)
    tree.add_dir("sub dir/deeper", mtime=t0 + 10800)
    tree.add_dir("b" * 70, mtime=t0 + 14400)
    tree.add_dir("d" * 49, mtime=t0 + 18000)  # nginx: 49 + "/" fills exactly 50 columns
    tree.add_dir("e" * 50, mtime=t0 + 21600)  # nginx: exactly 50, the "/" is dropped
    tree.add_dir("dir&<x>", mtime=t0 + 25200)
    return tree


def tree_strategy(max_entries: int = 12, *, non_utf8: bool = True) -> Any:
    """A hypothesis strategy for one flat directory of awkward entries.

    Names mix arbitrary unicode, digit runs (natural-sort edge cases),
    URL/HTML metacharacters, names some server treats specially and,
    optionally, undecodable bytes; sizes sit around every rounding
    threshold; about half the entries are (empty) directories.  Imported
    lazily: hypothesis is a test dependency only.
    """
    from hypothesis import strategies as st

    unicode_names = st.text(
        st.characters(codec="utf-8", exclude_characters="/\0"),
        min_size=1,
        max_size=70,
    )
    sortish = st.text(alphabet="0123456789 ._-aAbB~#%&<>\"'\t", min_size=1, max_size=12)
    # short names around hide rules (Apache ".??*" counts bytes, nginx hides
    # every dotfile), mod_mime's leading-dot base names and icon suffixes
    hidden_ish = st.builds(
        str.__add__,
        st.sampled_from(["", ".", ".."]),
        st.text(alphabet=".~#,acgzZtvREADMCSo\u0080é", min_size=1, max_size=4),
    )
    raw = st.binary(min_size=1, max_size=60).map(
        lambda b: b.replace(b"/", b"_").replace(b"\0", b"_").decode("utf-8", "surrogateescape")
    )
    # names servers treat specially: Apache splices HEADER.html/README.html
    # into the page, hides RCS/CVS, has icons for README and core
    special = st.sampled_from(["HEADER.html", "README.html", "README", "core", "RCS", "CVS"])
    name = st.one_of(
        [unicode_names, sortish, hidden_ish, special] + ([raw] if non_utf8 else [])
    ).filter(lambda n: n not in (".", "..") and len(name_bytes(n)) <= 255)
    size = st.one_of(
        st.integers(0, 20000),
        st.sampled_from([972, 973, 9999, 10000, 10751, 1048063, 1048576, 1572864, 2621440]),
    )
    mtime = st.integers(0, 4102444800)
    entry = st.tuples(name, st.booleans(), size, mtime)

    def build(entries: list[tuple[str, bool, int, int]]) -> Tree:
        tree = Tree()
        for n, is_dir, sz, mt in entries:
            if is_dir:
                tree.add_dir(n, mtime=mt)
            else:
                tree.add_file(n, patterned(sz), mtime=mt)
        return tree

    return st.lists(entry, max_size=max_entries, unique_by=lambda e: e[0]).map(build)
