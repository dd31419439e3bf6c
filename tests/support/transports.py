"""HTTP transports a test opens, closed after it, with retries fast enough for failure tests.

``transport(url)`` is an HttpTransport that tests/http/conftest.py closes after
each test (``close_all``), so no idle keep-alive connection delays a server's
shutdown; the retry policy, short timeouts and all, are the ones failure tests
were measured with.
"""

from __future__ import annotations

from typing import Any

from partyfuse.http import HttpTransport, RetryPolicy

#: Fast retries so failure tests stay quick; the behaviour is the same.
FAST = RetryPolicy(retries=2, backoff=0.01, max_retry_after=2.0)


OPEN: list[HttpTransport] = []


def transport(url: str, **kw: Any) -> HttpTransport:
    """An HttpTransport closed after the test (``close_all``)."""
    kw.setdefault("retry", FAST)
    kw.setdefault("connect_timeout", 3.0)
    kw.setdefault("read_timeout", 5.0)
    t = HttpTransport(url, **kw)
    OPEN.append(t)
    return t


def close_all() -> None:
    while OPEN:
        OPEN.pop().close()
