"""When an exchange is tried again.

Idempotent GET/HEAD requests are retried by urllib3 on connection errors and
on 502/503/504, honouring Retry-After (capped, so a server asking for an hour
cannot freeze a read); other 4xx are never retried.  A body that breaks off
after the headers is retried by the transport, with ``delay``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from urllib3.util.retry import Retry

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


Sleep = Callable[[float], None]
