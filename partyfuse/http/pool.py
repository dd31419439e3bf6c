"""One urllib3 connection pool per mount: keep-alive sockets shared by FUSE's threads.

Redirects are only followed within the mount's origin (see transport.py), so
every exchange goes to one (scheme, host, port) and a single pool serves them
all.  urllib3's pool is thread-safe; with ``block=False`` a burst beyond
``maxsize`` opens extra sockets instead of waiting, and only ``maxsize`` of
them are kept for reuse.  This replaced requests.Session, which cost about
three times the CPU per request (its hooks, cookie jar, URL re-parsing and
header merging run on every call) and is not thread-safe.
"""

from __future__ import annotations

import threading
from typing import Any

import urllib3
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.response import BaseHTTPResponse

from .retry import RetryPolicy
from .tls import TlsOptions, pool_options
from .urls import BaseUrl

#: Idle keep-alive sockets kept: FUSE's worker threads plus the read-ahead.
MAX_IDLE = 16


class ConnectionPool:
    """Connections to the mount's origin, lent for one exchange at a time."""

    def __init__(
        self,
        base: BaseUrl,
        tls: TlsOptions,
        policy: RetryPolicy,
        timeout: tuple[float, float],
        maxsize: int = MAX_IDLE,
    ) -> None:
        self._retry = policy.urllib3_retry()
        self._timeout = urllib3.Timeout(connect=timeout[0], read=timeout[1])
        kw: dict[str, Any] = {
            "maxsize": maxsize,
            "block": False,
            "timeout": self._timeout,
            "retries": self._retry,
        }
        pool: HTTPConnectionPool
        if base.scheme == "https":
            pool = HTTPSConnectionPool(base.host, base.port, **kw, **pool_options(tls.context()))
        else:
            pool = HTTPConnectionPool(base.host, base.port, **kw)
        self._pool = pool
        self._lock = threading.Lock()
        self._closed = False

    @property
    def connections_made(self) -> int:
        """Sockets opened so far (urllib3 counts new connection objects)."""
        return int(self._pool.num_connections)

    def urlopen(self, method: str, target: str, headers: dict[str, Any]) -> BaseHTTPResponse:
        """Send ``method target`` (an origin-form path with query); the body is
        left unread, and the connection goes back to the pool once the body has
        been read to its end (or by ``release``)."""
        if self._closed:
            raise RuntimeError("transport is closed")
        return self._pool.urlopen(
            method,
            target,
            headers=headers,
            retries=self._retry,
            redirect=False,
            assert_same_host=False,
            timeout=self._timeout,
            preload_content=False,
            release_conn=False,
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._pool.close()
