"""Pytest fixtures for the fake servers in fakes/servers.py.

``fake_server("nginx" | "apache" | "iis", tree, **options)`` starts a fake on
127.0.0.1 and a free port; every fake a test started is stopped in teardown.
Options are the server classes' keyword arguments (``fmt``, ``exact_size``,
``style``, ``flags``, ``auth=(user, password)`` ...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from fakes.servers import KINDS, FakeServer
from fakes.tree import Tree
from tests.support.factories import stopped_afterwards

FakeServerFactory = Callable[..., FakeServer]


def start_fake_server(kind: str, tree: Tree, **options: object) -> FakeServer:
    server = KINDS[kind](tree, **options)
    server.start()
    return server


def _stop(server: FakeServer) -> None:
    if server.is_running():
        server.stop()


@pytest.fixture
def fake_server() -> Iterator[FakeServerFactory]:
    yield from stopped_afterwards(start_fake_server, _stop)


@pytest.fixture(scope="module")
def fake_server_module() -> Iterator[FakeServerFactory]:
    yield from stopped_afterwards(start_fake_server, _stop)
