"""Real-copyparty fixtures for the HTTP transport tests (see tests/support/copyparty.py)."""

import pytest

from tests.support.copyparty import *  # noqa: F403 - fixtures and the log-attaching report hook

from .helpers import close_all


@pytest.fixture(autouse=True)
def _close_transports():
    yield
    close_all()
