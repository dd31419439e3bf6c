"""requests sessions that are safe under FUSE's worker threads.

A requests.Session is not thread-safe (its cookie jar and adapters are shared
mutable state), so every thread gets its own Session and keep-alive pool.
Idempotent GET/HEAD requests are retried by urllib3 on connection errors and
on 502/503/504, honouring Retry-After (capped, so a server asking for an hour
cannot freeze a read); other 4xx are never retried.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.util.retry import Retry

from .. import __version__
from .tls import ContextAdapter, TlsOptions

RETRY_STATUSES = frozenset({502, 503, 504})


class CappedRetry(Retry):
    """urllib3's Retry with an upper bound on the server's Retry-After."""

    max_retry_after: float = 10.0

    def get_retry_after(self, response: Any) -> float | None:
        value: float | None = super().get_retry_after(response)
        if value is None:
            return None
        return min(value, self.max_retry_after)


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3
    """Extra attempts after the first one, for connection errors and 502/503/504."""
    backoff: float = 0.25
    """Seconds before the first retry; doubles each time."""
    max_retry_after: float = 10.0

    def urllib3_retry(self) -> Retry:
        cls = type("Retry", (CappedRetry,), {"max_retry_after": self.max_retry_after})
        retry: Retry = cls(
            total=self.retries,
            connect=self.retries,
            read=self.retries,
            status=self.retries,
            other=0,
            redirect=False,
            allowed_methods=frozenset({"GET", "HEAD"}),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=self.backoff,
            respect_retry_after_header=True,
            raise_on_status=False,
            raise_on_redirect=False,
        )
        return retry

    def delay(self, attempt: int) -> float:
        """Pause before our own retry number ``attempt`` (0-based) of a broken body."""
        return float(self.backoff * 2.0**attempt)


class SessionPool:
    """Sessions lent out one exchange at a time.

    A requests.Session is not thread-safe, so no two threads share one at
    the same moment; lending (rather than one per thread) bounds the number
    of sessions and sockets by the peak concurrency even when FUSE or the
    read-ahead pool churn through threads.  An exchange whose body was not
    read to the end closes its connection (urllib3 never reuses it), so a
    returned session is always safe to lend again.
    """

    def __init__(self, tls: TlsOptions, policy: RetryPolicy, max_idle: int = 8) -> None:
        self._context = tls.context()
        self._policy = policy
        self._max_idle = max_idle
        self._lock = threading.Lock()
        self._idle: list[requests.Session] = []
        self._all: list[requests.Session] = []
        self._closed = False

    @contextlib.contextmanager
    def session(self) -> Iterator[requests.Session]:
        with self._lock:
            if self._closed:
                raise RuntimeError("transport is closed")
            s = self._idle.pop() if self._idle else None
        if s is None:
            s = self._make()
            with self._lock:
                self._all.append(s)
        try:
            yield s
        finally:
            with self._lock:
                keep = not self._closed and len(self._idle) < self._max_idle
                if keep:
                    self._idle.append(s)
                else:
                    self._all.remove(s)
            if not keep:
                s.close()

    def _make(self) -> requests.Session:
        s = requests.Session()
        # No proxies or .netrc from the environment: a password for this
        # server must not be replaced, and requests must not leave for a proxy
        # the user did not name.
        s.trust_env = False
        s.headers["User-Agent"] = f"partyfuse/{__version__}"
        adapter = ContextAdapter(
            self._context,
            max_retries=self._policy.urllib3_retry(),
            pool_connections=1,
            pool_maxsize=1,
        )
        s.mount("http://", adapter)
        s.mount("https://", adapter)
        return s

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sessions, self._all, self._idle = self._all, [], []
        for s in sessions:
            s.close()


Sleep = Callable[[float], None]
