"""Real-copyparty fixtures for the HTTP transport tests (see tests/support/copyparty.py)."""

import pytest

from tests.support.copyparty import *  # noqa: F403 - fixtures and the log-attaching report hook
from tests.support.real_servers import real_server  # noqa: F401 - fixture

from .helpers import close_all


@pytest.fixture(autouse=True)
def _close_transports():
    yield
    close_all()


@pytest.fixture(scope="session")
def httpserver_listen_address():
    """pytest-httpserver on 127.0.0.1 only (never "localhost", which may mean ::1)."""
    return ("127.0.0.1", 0)
