"""The one way tests wait for something to become true.

Every wait in the suite polls with a deadline and fails with what it was waiting for,
so a hung fixture reads as "timed out after 10s waiting for the mount", not as a
silent CI timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(
    cond: Callable[[], object],
    timeout: float = 10.0,
    what: str = "condition",
    interval: float = 0.02,
) -> None:
    """Poll ``cond`` until it is truthy; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
