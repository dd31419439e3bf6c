"""Real copyparty fixtures for the command-line tests (see tests/support/copyparty.py)."""

from tests.support.copyparty import *  # noqa: F403 - fixtures and the log-attaching report hook
