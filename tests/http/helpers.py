"""Small shared helpers for the HTTP tests."""

from __future__ import annotations

import threading
import time
from typing import Any

from partyfuse.core.remotefs import CacheConfig, RemoteFS
from partyfuse.http import HttpTransport, RetryPolicy

#: Fast retries so failure tests stay quick; the behaviour is the same.
FAST = RetryPolicy(retries=2, backoff=0.01, max_retry_after=2.0)


OPEN: list[HttpTransport] = []


def transport(url: str, **kw: Any) -> HttpTransport:
    """An HttpTransport closed after the test (tests/http/conftest.py), so no
    idle keep-alive connection delays a server's shutdown."""
    kw.setdefault("retry", FAST)
    kw.setdefault("connect_timeout", 3.0)
    kw.setdefault("read_timeout", 5.0)
    t = HttpTransport(url, **kw)
    OPEN.append(t)
    return t


def close_all() -> None:
    while OPEN:
        OPEN.pop().close()


def remotefs(t: HttpTransport, *, readahead: bool = True, **config: Any) -> RemoteFS:
    def spawn(fn: Any) -> None:
        threading.Thread(target=fn, daemon=True).start()

    return RemoteFS(
        t,
        clock=time.monotonic,
        config=CacheConfig(**config),
        lock_factory=threading.Lock,
        spawn=spawn if readahead else None,
    )


def wait_for(cond: Any, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
