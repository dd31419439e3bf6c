"""The mount helpers live in tests/support/mounts.py (a plugin tests/conftest.py registers).

These names stay importable from here only for modules outside tests/mount
(tests/reliability, tests/security) that still import them from this file;
tests in tests/mount import tests.support.mounts directly.
"""

from tests.support.mounts import (  # noqa: F401 - re-exported for the modules above
    TEST_ENV,
    Mount,
    Mounter,
    module_mounter,
    mounter,
    run_partyfuse,
    teardown,
)
from tests.support.wait import wait_for as wait_until  # noqa: F401 - tests/reliability/chaos.py
