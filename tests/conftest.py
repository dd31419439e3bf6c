"""Suite-wide settings: hypothesis profiles picked by PARTYFUSE_HYPOTHESIS (default "dev")."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "soak", max_examples=5000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("PARTYFUSE_HYPOTHESIS", "dev"))


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
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
