"""fakes.tree writes exactly what it models: names (even undecodable), bytes, mtimes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fakes.tree import AWKWARD_NAMES, Tree, awkward_tree, name_bytes, patterned


def test_write_to_reproduces_names_bytes_and_mtimes(tmp_path: Path) -> None:
    tree = awkward_tree()
    top = tree.write_to(tmp_path / "root")
    seen = 0
    for path, node in tree.walk():
        full = os.path.join(os.fsencode(top), *[name_bytes(p) for p in path.split("/")])
        st = os.stat(full)
        assert st.st_mtime == node.mtime, path  # dirs too: set after their children
        if node.is_dir:
            assert os.path.isdir(full)
        else:
            with open(full, "rb") as f:
                assert f.read() == node.data
        seen += 1
    assert seen == len(list(tree.walk())) > len(AWKWARD_NAMES)
    assert b"bad\xff\xfe.bin" in os.listdir(os.fsencode(top))
    assert os.stat(top).st_mtime == tree.root.mtime


def test_lookup_listdir_and_mutation() -> None:
    tree = Tree()
    tree.add_file("a/b/c.txt", b"abc", mtime=5)
    assert tree.lookup("a/b").is_dir  # type: ignore[union-attr]
    assert tree.lookup("/a/b/c.txt/") is tree.lookup("a/b/c.txt")
    assert [n for n, _ in tree.listdir("a/b")] == ["c.txt"]
    tree.add_file("a/b/c.txt", b"new", mtime=6)
    assert tree.lookup("a/b/c.txt").data == b"new"  # type: ignore[union-attr]
    tree.remove("a/b/c.txt")
    assert tree.lookup("a/b/c.txt") is None
    with pytest.raises(NotADirectoryError):
        tree.listdir("missing")


@pytest.mark.parametrize("bad", ["", ".", "..", "x/y\0z"])
def test_invalid_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        Tree().add_file(bad if "/" in bad else f"d/{bad}" if bad else "", b"")


def test_files_and_dirs_do_not_swap() -> None:
    tree = Tree()
    tree.add_file("f", b"")
    with pytest.raises(ValueError):
        tree.add_dir("f/g")
    tree.add_dir("d")
    with pytest.raises(ValueError):
        tree.add_file("d", b"")


def test_patterned_is_deterministic_and_offset_sensitive() -> None:
    data = patterned(200_000, seed=1)
    assert data == patterned(200_000, seed=1) != patterned(200_000, seed=2)
    assert data[:65536] != data[65536:131072]  # no period at the block size
    assert len(set(data[i : i + 4] for i in range(0, 4096, 4))) > 900
