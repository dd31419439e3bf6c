"""When an exchange is tried again.

GET/HEAD requests (all the transport sends) are retried on connection errors
and on 502/503/504, honouring Retry-After (capped, so a server asking for an
hour cannot freeze a read); other 4xx are never retried (pool.py).  A body
that breaks off after the headers is retried by the transport.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3
    """Extra attempts after the first one, for connection errors and 502/503/504."""
    backoff: float = 0.25
    """Seconds before the first retry; doubles each time."""
    max_retry_after: float = 10.0

    def delay(self, attempt: int) -> float:
        """Pause before retry number ``attempt`` (0-based) when the server named none."""
        return float(self.backoff * 2.0**attempt)


Sleep = Callable[[float], None]
