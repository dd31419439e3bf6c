"""The HTTP transport tests: transports closed after each test, pytest-httpserver
on 127.0.0.1, and no connection anywhere but loopback (the server fixtures are
plugins, see tests/conftest.py)."""

import pytest

from tests.support.transports import close_all


@pytest.fixture(autouse=True)
def _close_transports():
    yield
    close_all()


@pytest.fixture(scope="session")
def httpserver_listen_address():
    """pytest-httpserver on 127.0.0.1 only (never "localhost", which may mean ::1)."""
    return ("127.0.0.1", 0)


LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """Any connection from a test here to anything but loopback is a failure."""
    import socket

    real_connect = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in LOOPBACK:
            raise AssertionError(f"test tried to reach {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
