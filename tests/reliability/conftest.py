"""Real copyparty fixtures (and their log on failure) for the reliability tests."""

from tests.support.copyparty import *  # noqa: F403 - real copyparty fixtures + report hook
from tests.support.fake_servers import fake_server  # noqa: F401 - fixture
from tests.support.real_servers import real_server_module  # noqa: F401 - fixture
