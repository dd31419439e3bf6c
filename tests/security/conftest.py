"""Real copyparty fixtures (tests/support/copyparty.py) and the mount helpers."""

from tests.mount.conftest import module_mounter, mounter  # noqa: F401 - fixtures
from tests.support.copyparty import *  # noqa: F403 - fixtures and the log-attaching report hook
