"""Mounting servers that only have HTML/JSON directory listings: real nginx, fake IIS."""

from __future__ import annotations

import os

import pytest

from fakes import render_iis
from fakes.servers import FakeServer
from fakes.tree import Tree, awkward_tree
from tests.support.fake_servers import FakeServerFactory
from tests.support.mounts import Mount, Mounter
from tests.support.real_servers import RealServerFactory
from tests.support.treecheck import assert_mount_matches, tree_without


@pytest.fixture(scope="module")
def tree() -> Tree:
    return awkward_tree()


@pytest.fixture(scope="module")
def nginx_html(real_server_module: RealServerFactory, module_mounter: Mounter, tree: Tree) -> Mount:
    server = real_server_module("nginx", tree, variant="html")
    return module_mounter(server.url("/"), "-q")


def test_real_nginx_html_listing(nginx_html: Mount, tree: Tree) -> None:
    # nginx's HTML shows minutes only
    assert_mount_matches(nginx_html.path, tree, mtime_slack=60)


@pytest.mark.parametrize(
    ("variant", "extra", "mtime_slack"),
    [
        # rounded sizes ("1.5M") are made exact through the mount; minutes only
        pytest.param("html-rounded", ("--html", "nginx"), 60, id="html-rounded"),
        pytest.param("json", (), 0, id="json"),
    ],
)
def test_real_nginx_listing_through_its_own_mount(
    variant: str,
    extra: tuple[str, ...],
    mtime_slack: float,
    real_server_module: RealServerFactory,
    mounter: Mounter,
    tree: Tree,
) -> None:
    server = real_server_module("nginx", tree, variant=variant)
    m = mounter(server.url("/"), "-q", *extra)
    assert_mount_matches(m.path, tree, mtime_slack=mtime_slack)


@pytest.fixture(scope="module")
def fake_iis_server(fake_server_module: FakeServerFactory, tree: Tree) -> FakeServer:
    # without the names Windows (so IIS) cannot hold
    return fake_server_module("iis", tree_without(tree, lambda n: not render_iis.can_serve(n)))


def test_fake_iis_listing(fake_iis_server: FakeServer, mounter: Mounter) -> None:
    m = mounter(fake_iis_server.url("/"), "-q")
    assert len(list(fake_iis_server.tree.walk())) > 10
    assert_mount_matches(m.path, fake_iis_server.tree, mtime_slack=60)


def test_forced_iis_dialect(fake_iis_server: FakeServer, mounter: Mounter) -> None:
    m = mounter(fake_iis_server.url("/"), "-q", "--html", "iis")
    want = sorted(n for n, _ in fake_iis_server.tree.listdir(""))
    assert sorted(os.listdir(m.path)) == want
