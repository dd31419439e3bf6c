"""Suite-wide settings: hypothesis profiles picked by PARTYFUSE_HYPOTHESIS (default "dev"),
the soak runs left out by default, the ``linux_only`` marker given to every test
that starts one of Debian's real servers, and the shared fixtures.

The fixtures live in tests/support/ and are registered here once as plugins, so
no test module or conftest imports a fixture by name (an import that a linter
calls unused, and that shadows the argument of the same name, F811)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = [
    "tests.support.copyparty",  # real copyparty servers (+ their log on failure)
    "tests.support.fake_servers",  # fakes/servers.py on a free port
    "tests.support.real_servers",  # Debian's nginx, apache2, lighttpd; python http.server
    "tests.support.mounts",  # real FUSE mounts, always unmounted
    "tests.support.raw_servers",  # raw-socket servers that misbehave on purpose
]

settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "soak", max_examples=5000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("PARTYFUSE_HYPOTHESIS", "dev"))


#: Fixtures of this module start Debian's nginx/apache2/lighttpd: a test that needs one
#: (directly or through another fixture) is Linux-only, whatever its module says.
LINUX_ONLY_FIXTURE_MODULE = "tests.support.real_servers"


def needs_linux_fixture(item: pytest.Item) -> str | None:
    """The first fixture in ``item``'s closure that only Linux provides, else None."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    for name in item.fixturenames:  # type: ignore[attr-defined]
        for fixturedef in info.name2fixturedefs.get(name, ()):
            if getattr(fixturedef.func, "__module__", "") == LINUX_ONLY_FIXTURE_MODULE:
                return name
    return None


@pytest.hookimpl(tryfirst=True)  # before -m selects by marker
def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    for item in items:
        if item.get_closest_marker("linux_only") is None and needs_linux_fixture(item):
            item.add_marker(pytest.mark.linux_only)
    _leave_out_soak(config, items)


def _leave_out_soak(config, items):  # type: ignore[no-untyped-def]
    """Leave long soak runs out of the default suite instead of skipping them.

    They run with PARTYFUSE_HYPOTHESIS=soak (``tox -e soak``) or when asked for
    by marker (``-m soak``); a default run neither executes nor reports them.
    """
    if os.environ.get("PARTYFUSE_HYPOTHESIS") == "soak" or "soak" in (config.option.markexpr or ""):
        return
    keep = [item for item in items if item.get_closest_marker("soak") is None]
    dropped = [item for item in items if item.get_closest_marker("soak") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
