"""Keep-alive connections to the mount's origin, shared by FUSE's threads,
and the retry loop every exchange goes through.

Redirects are only followed within the mount's origin (see transport.py), so
every exchange goes to one (scheme, host, port) and one pool of
connections (wire.py) serves them all, each lent to one exchange at a
time.  This is the transport's hot path: a FUSE read of a small file is one
ranged GET, so nothing is done per request that can be done once (no URL
re-parsing, no header dictionaries rebuilt, no retry or timeout objects
cloned): a general-purpose client cost several times the client CPU of a
bare ``http.client`` exchange, and that exchange three times wire.py's.

Retries: connection errors, timeouts and a connection dropped before the
answer or inside its head (``HeadCut``: http.client would take a head cut
short for a whole one), and 429/502/503/504 answers, honouring Retry-After
(capped, so a server asking for an hour cannot freeze a read).  A TLS error
and any other status are never retried.

Every call has a deadline (``deadline`` seconds, see retry.py), which every
socket operation of the lent connection keeps (connections.py).  Retries
and Retry-After pauses never go past it.  The deadline is counted from the
start of the outermost ``call_scope`` on the thread (the transport opens one
per call, so its body retries share it; a FUSE operation may open one around
all its calls), else from the request.

The connections are made in connections.py, the answers read by wire.py
and handed out by response.py; this module exports the names its callers
use from them.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

from .answers import retry_delay
from .connections import BoundedSSLSocket, budget_of, dropped, new_connection
from .head import HeadCut
from .response import EXCHANGE_ERRORS, Headers, Response
from .retry import CALL_TIMEOUT, RETRY_STATUSES, RetryPolicy, bounded_call, call_scope, scope_start
from .tls import TlsOptions, default_context
from .urls import BaseUrl
from .wire import WireConnection

__all__ = [
    "EXCHANGE_ERRORS",
    "ConnectionPool",
    "HeadCut",
    "Headers",
    "Response",
    "bounded_call",
    "call_scope",
    "retry_after",
]

#: Idle keep-alive connections kept: FUSE's worker threads plus the read-ahead.
MAX_IDLE = 32

#: How a server that hung up on an idle keep-alive socket shows when we use it.
_HUNG_UP = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def retry_after(value: str | None, cap: float) -> float | None:
    """Seconds a ``Retry-After`` (delay or HTTP date) asks for, capped."""
    secs = retry_delay(value, time.time())
    return None if secs is None else min(secs, cap)


class _Kept:
    """Where the answers of a pipeline but the last give their connection
    back: it stays with the pipeline, which puts it back once (``done``)."""

    def __init__(self) -> None:
        self.done = False

    def put(self, conn: WireConnection) -> None:
        pass


class ConnectionPool:
    """Connections to one origin, lent for one exchange at a time (thread-safe)."""

    def __init__(
        self,
        base: BaseUrl,
        tls: TlsOptions,
        policy: RetryPolicy,
        timeout: tuple[float, float],
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_idle: int = MAX_IDLE,
        deadline: float = CALL_TIMEOUT,
    ) -> None:
        if not deadline > 0:
            raise ValueError(f"the call timeout must be positive, not {deadline!r}")
        self._base = base
        self._policy = policy
        self._timeout = timeout
        self._connect_timeout = timeout[0]
        self._sleep = sleep
        self._max_idle = max_idle
        self.deadline = deadline
        """Seconds a call may take, retries included (see call_scope)."""
        self._context: ssl.SSLContext | None = None
        if base.scheme == "https":
            self._context = tls.context() or default_context()
            # the sockets it wraps check the call's deadline before each recv
            self._context.sslsocket_class = BoundedSSLSocket
        self._lock = threading.Lock()
        self._idle: list[WireConnection] = []
        self._closed = False
        self.connections_made = 0
        """Connection objects created (each opens its socket on first use)."""

    def _new(self) -> WireConnection:
        conn = new_connection(self._base, self._context, self._timeout, self.deadline)
        with self._lock:
            self.connections_made += 1
        return conn

    def _get(self) -> WireConnection:
        with self._lock:
            if self._closed:
                raise RuntimeError("transport is closed")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            return self._new()
        if dropped(conn):
            conn.close()  # it opens a new socket on the next request
        return conn

    def _lend(self, deadline: float) -> WireConnection:
        """A connection for an exchange that must end by ``deadline``: its
        sockets keep that deadline, a connect waits at most what is left."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no answer within the call timeout ({self.deadline:g} s)")
        conn = self._get()
        budget_of(conn).deadline = deadline
        conn.timeout = min(self._connect_timeout, left)
        return conn

    def put(self, conn: WireConnection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        conn.close()

    def urlopen(
        self, method: str, target: str, headers: dict[str, Any], body: bytes | None = None
    ) -> Response:
        """Send ``method target`` (origin-form: path and query) and ``body``
        with retries; the answer's body is left unread.  Raises
        OSError/HTTPException when every attempt failed, or RuntimeError once the pool is closed."""
        policy = self._policy
        attempt = 0
        fresh_tried = False
        deadline = (scope_start() or time.monotonic()) + self.deadline
        while True:
            conn = self._lend(deadline)
            reused = conn.sock is not None
            try:
                conn.request(method, target, body=body, headers=headers)
                raw = conn.getresponse()
            except EXCHANGE_ERRORS as e:
                conn.close()
                self.put(conn)
                if reused and not fresh_tried and isinstance(e, _HUNG_UP):
                    # The server closed this idle keep-alive socket as we sent
                    # (its idle timeout raced ours): not a failure of the server,
                    # so once, straight away and without using up a retry.
                    fresh_tried = True
                    continue
                if isinstance(e, ssl.SSLError) or attempt >= policy.retries:
                    raise
                pause = policy.delay(attempt)
                if pause >= deadline - time.monotonic():
                    raise  # no time left to try again
                self._sleep(pause)
                attempt += 1
                continue
            r = Response(raw, conn, self)
            if r.status in RETRY_STATUSES and attempt < policy.retries:
                wait = retry_after(r.headers.get("Retry-After"), policy.max_retry_after)
                pause = policy.delay(attempt) if wait is None else wait
                if pause >= deadline - time.monotonic():
                    return r  # asked to come back after the deadline: say why we gave up
                r.finish()
                self._sleep(pause)
                attempt += 1
                continue
            return r

    def pipeline(
        self, method: str, requests: list[tuple[str, dict[str, Any]]]
    ) -> Generator[Response, None, None]:
        """The answers to ``requests`` (target, headers), sent together on one
        connection, in order: each is given once the one before it was read
        to its end or finished.  When an answer ends the connection (a
        server's keep-alive limit, an answer not read to its end), the
        requests not answered yet are sent again on a new one; nothing else is
        retried: an error ends the answers, and the caller asks for what did
        not come on its own.  The connection goes back to the pool after the
        last answer (or closed, when the caller stops early)."""
        deadline = (scope_start() or time.monotonic()) + self.deadline
        conn = self._lend(deadline)
        kept = _Kept()
        last = len(requests) - 1
        try:
            conn.request_many(method, requests)
            for i in range(len(requests)):
                if conn.sock is None and i:
                    # the answer before ended the connection: ask again for the rest
                    conn.timeout = min(self._connect_timeout, deadline - time.monotonic())
                    conn.request_many(method, requests[i:])
                raw = conn.getresponse()
                if i == last:
                    kept.done = True  # the last answer puts the connection back
                    yield Response(raw, conn, self)
                else:
                    yield Response(raw, conn, kept)
        except BaseException:
            conn.close()
            raise
        finally:
            if not kept.done:
                conn.close()  # answers left unread, or the caller stopped early
                self.put(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
