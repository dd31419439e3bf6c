"""Compare what a mount shows with the files the server serves.

Two kinds of source: a copyparty ``SourceTree`` (files on disk, whole-second
mtimes) and a fakes ``Tree`` (what the fakes and Debian's servers serve). Both
are checked against one walk of the mount.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

from fakes.tree import Node, Tree
from tests.support.copyparty import SourceTree


def walk(mnt: Path) -> tuple[dict[str, os.stat_result], set[str]]:
    """(files rel -> stat, dirs rel) of everything under the mount."""
    files: dict[str, os.stat_result] = {}
    dirs: set[str] = {""}
    for top, dnames, fnames in os.walk(mnt):
        rel_top = os.path.relpath(top, mnt)
        rel_top = "" if rel_top == "." else rel_top
        for d in dnames:
            dirs.add(f"{rel_top}/{d}" if rel_top else d)
        for f in fnames:
            rel = f"{rel_top}/{f}" if rel_top else f
            files[rel] = os.stat(os.path.join(top, f))
    return files, dirs


def expected(tree: SourceTree, *, dots: bool) -> tuple[dict[str, bytes], set[str]]:
    def shown(rel: str) -> bool:
        return dots or not any(p.startswith(".") for p in rel.split("/"))

    return (
        {k: v for k, v in tree.files.items() if shown(k)},
        {d for d in tree.dirs if shown(d)},
    )


def assert_tree_matches(mnt: Path, tree: SourceTree, *, dots: bool) -> None:
    files, dirs = walk(mnt)
    want_files, want_dirs = expected(tree, dots=dots)
    assert sorted(dirs) == sorted(want_dirs)
    assert sorted(files) == sorted(want_files)
    for rel, st in files.items():
        assert stat.S_ISREG(st.st_mode), rel
        assert st.st_size == len(want_files[rel]), rel
        src_mtime = os.stat(tree.root / rel).st_mtime
        # copyparty lists whole seconds
        assert abs(st.st_mtime - int(src_mtime)) < 1.0, (rel, st.st_mtime, src_mtime)


def assert_contents_match(mnt: Path, tree: SourceTree, *, dots: bool) -> int:
    want_files, _ = expected(tree, dots=dots)
    total = 0
    for rel, data in want_files.items():
        got = hashlib.sha256((mnt / rel).read_bytes()).hexdigest()
        assert got == hashlib.sha256(data).hexdigest(), rel
        total += len(data)
    return total


def tree_files(tree: Tree) -> tuple[dict[str, Node], set[str]]:
    """(files rel -> node, dirs rel) of a fakes Tree, as walk() gives them for a mount."""
    files: dict[str, Node] = {}
    dirs: set[str] = {""}
    for path, node in tree.walk():
        rel = path.strip("/")
        if node.is_dir:
            dirs.add(rel)
        else:
            files[rel] = node
    return files, dirs


def assert_mount_matches(mnt: Path, tree: Tree, *, mtime_slack: float) -> None:
    """Names, sizes, mtimes (within ``mtime_slack`` seconds) and bytes of ``tree`` under ``mnt``."""
    want_files, want_dirs = tree_files(tree)
    got_files, got_dirs = walk(mnt)
    assert sorted(got_dirs) == sorted(want_dirs)
    assert sorted(got_files) == sorted(want_files)
    for rel, node in want_files.items():
        st = got_files[rel]
        assert st.st_size == len(node.data), rel
        assert abs(st.st_mtime - node.mtime) <= mtime_slack, (rel, st.st_mtime, node.mtime)
        got = hashlib.sha256((mnt / rel).read_bytes()).hexdigest()
        assert got == hashlib.sha256(node.data).hexdigest(), rel


def tree_without(tree: Tree, unservable: Callable[[str], bool]) -> Tree:
    """A copy of ``tree`` less every path with a name the server cannot serve."""
    out = Tree(root_mtime=tree.root.mtime)
    for path, node in tree.walk():
        if any(unservable(part) for part in path.strip("/").split("/")):
            continue
        if node.is_dir:
            out.add_dir(path, mtime=node.mtime)
        else:
            out.add_file(path, node.data, mtime=node.mtime)
    return out
