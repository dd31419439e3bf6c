"""Fixtures for the fidelity tests (until tests/conftest.py registers the plugins suite-wide)."""

from tests.support.fake_servers import fake_server, fake_server_module  # noqa: F401
from tests.support.real_servers import real_server, real_server_module  # noqa: F401
