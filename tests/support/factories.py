"""The body every "start one, stop it afterwards" fixture shares.

Servers and mounts a test starts through a factory fixture are stopped in the
fixture's teardown, whatever the test did; writing that list-and-finally loop
once keeps each fixture down to what it starts and how it is stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")


def stopped_afterwards(
    start: Callable[..., T], stop: Callable[[T], object]
) -> Iterator[Callable[..., T]]:
    """Yield ``start``; after the yield, ``stop`` everything it returned (newest last)."""
    started: list[T] = []

    def make(*args: object, **kwargs: object) -> T:
        thing = start(*args, **kwargs)
        started.append(thing)
        return thing

    try:
        yield make
    finally:
        for thing in started:
            stop(thing)
