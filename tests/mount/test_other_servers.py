"""Mounting servers that only have HTML/JSON directory listings: real nginx, fake IIS."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes import render_iis
from fakes.servers import KINDS as FAKE_KINDS
from fakes.servers import FakeServer
from fakes.tree import Node, Tree, awkward_tree
from tests.support.mounts import Mount, Mounter
from tests.support.real_servers import RealServerFactory


@pytest.fixture(scope="module")
def tree() -> Tree:
    return awkward_tree()


def _expected(tree: Tree) -> tuple[dict[str, Node], set[str]]:
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
    want_files, want_dirs = _expected(tree)
    got_files: dict[str, os.stat_result] = {}
    got_dirs: set[str] = {""}
    for top, dnames, fnames in os.walk(mnt):
        rel_top = os.path.relpath(top, mnt)
        rel_top = "" if rel_top == "." else rel_top
        got_dirs.update(f"{rel_top}/{d}" if rel_top else d for d in dnames)
        for f in fnames:
            rel = f"{rel_top}/{f}" if rel_top else f
            got_files[rel] = os.stat(os.path.join(top, f))
    assert sorted(got_dirs) == sorted(want_dirs)
    assert sorted(got_files) == sorted(want_files)
    for rel, node in want_files.items():
        st = got_files[rel]
        assert st.st_size == len(node.data), rel
        assert abs(st.st_mtime - node.mtime) <= mtime_slack, (rel, st.st_mtime, node.mtime)
        got = hashlib.sha256((mnt / rel).read_bytes()).hexdigest()
        assert got == hashlib.sha256(node.data).hexdigest(), rel


@pytest.fixture(scope="module")
def nginx_html(real_server_module: RealServerFactory, module_mounter: Mounter, tree: Tree) -> Mount:
    server = real_server_module("nginx", tree, variant="html")
    return module_mounter(server.url("/"), "-q")


def test_real_nginx_html_listing(nginx_html: Mount, tree: Tree) -> None:
    # nginx's HTML shows minutes only
    assert_mount_matches(nginx_html.path, tree, mtime_slack=60)


def test_real_nginx_rounded_sizes_are_exact_through_the_mount(
    real_server_module: RealServerFactory,
    mounter: Mounter,
    tree: Tree,
) -> None:
    server = real_server_module("nginx", tree, variant="html-rounded")
    m = mounter(server.url("/"), "-q", "--html", "nginx")
    assert_mount_matches(m.path, tree, mtime_slack=60)


def test_real_nginx_json_listing(
    real_server_module: RealServerFactory,
    mounter: Mounter,
    tree: Tree,
) -> None:
    server = real_server_module("nginx", tree, variant="json")
    m = mounter(server.url("/"), "-q")
    assert_mount_matches(m.path, tree, mtime_slack=0)


def iis_tree(tree: Tree) -> Tree:
    """The awkward tree without the names Windows (so IIS) cannot hold."""
    out = Tree(root_mtime=tree.root.mtime)
    for path, node in tree.walk():
        if not all(render_iis.can_serve(part) for part in path.strip("/").split("/")):
            continue
        if node.is_dir:
            out.add_dir(path, mtime=node.mtime)
        else:
            out.add_file(path, node.data, mtime=node.mtime)
    return out


@pytest.fixture(scope="module")
def fake_iis_server(tree: Tree) -> Iterator[FakeServer]:
    server = FAKE_KINDS["iis"](iis_tree(tree))
    server.start()
    yield server
    server.stop()


def test_fake_iis_listing(fake_iis_server: FakeServer, mounter: Mounter) -> None:
    m = mounter(fake_iis_server.url("/"), "-q")
    assert len(list(fake_iis_server.tree.walk())) > 10
    assert_mount_matches(m.path, fake_iis_server.tree, mtime_slack=60)


def test_forced_iis_dialect(fake_iis_server: FakeServer, mounter: Mounter) -> None:
    m = mounter(fake_iis_server.url("/"), "-q", "--html", "iis")
    want = sorted(n for n, _ in fake_iis_server.tree.listdir(""))
    assert sorted(os.listdir(m.path)) == want
