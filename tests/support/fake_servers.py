"""Pytest fixtures for the fake servers in fakes/servers.py.

``fake_server("nginx" | "apache" | "iis", tree, **options)`` starts a fake on
127.0.0.1 and a free port; every fake a test started is stopped in teardown.
``fake_nginx`` / ``fake_apache`` / ``fake_iis`` are the same with the kind
filled in.  Options are the server classes' keyword arguments (``fmt``,
``exact_size``, ``style``, ``flags``, ``auth=(user, password)`` ...).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

import pytest

from fakes.servers import KINDS, FakeServer
from fakes.tree import Tree

FakeServerFactory = Callable[..., FakeServer]


def _factory() -> Iterator[FakeServerFactory]:
    started: list[FakeServer] = []

    def make(kind: str, tree: Tree, **options: object) -> FakeServer:
        server = KINDS[kind](tree, **options)
        server.start()
        started.append(server)
        return server

    try:
        yield make
    finally:
        for server in started:
            if server.is_running():
                server.stop()


@pytest.fixture
def fake_server() -> Iterator[FakeServerFactory]:
    yield from _factory()


@pytest.fixture(scope="module")
def fake_server_module() -> Iterator[FakeServerFactory]:
    yield from _factory()


@pytest.fixture
def fake_nginx(fake_server: FakeServerFactory) -> FakeServerFactory:
    return functools.partial(fake_server, "nginx")


@pytest.fixture
def fake_apache(fake_server: FakeServerFactory) -> FakeServerFactory:
    return functools.partial(fake_server, "apache")


@pytest.fixture
def fake_iis(fake_server: FakeServerFactory) -> FakeServerFactory:
    return functools.partial(fake_server, "iis")
