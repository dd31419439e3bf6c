"""Keep-alive connections to the mount's origin, shared by FUSE's threads.

Redirects are only followed within the mount's origin (see transport.py), so
every exchange goes to one (scheme, host, port) and one pool of
``http.client`` connections serves them all, each lent to one exchange at a
time.  This is the transport's hot path: a FUSE read of a small file is one
ranged GET, and requests.Session cost about 4x, urllib3's pool about 2x the
client CPU of a bare ``http.client`` exchange (URL re-parsing, header
dictionaries rebuilt, retry and timeout objects cloned on every request).

Retries (what urllib3's did): connection errors, timeouts and a connection
dropped before the answer or inside its head (``HeadCut``: http.client would
take a head cut short for a whole one), and 429/502/503/504 answers, honouring
Retry-After (capped, so a server asking for an hour cannot freeze a read).  A
TLS error and any other status are never retried.

Every call has a deadline (``deadline`` seconds, see retry.py): each socket
operation -- connect, TLS handshake, send, every recv of the headers and the
body -- waits at most min(read timeout, time left), so a server that stalls
or trickles a byte at a time ends the call with a TimeoutError when the
deadline passes, though each recv returns.  Retries and Retry-After pauses
never go past it.  The deadline is counted from the start of the outermost
``call_scope`` on the thread (the transport opens one per call, so its body
retries share it; a FUSE operation may open one around all its calls), else
from the request.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

from .answers import retry_delay
from .head import FastHeadResponse, Fields, HeadCut
from .retry import CALL_TIMEOUT, RETRY_STATUSES, RetryPolicy, bounded_call, call_scope, scope_start
from .tls import TlsOptions, default_context
from .urls import BaseUrl

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
#: Leftover body bytes worth reading to keep a connection alive.
DRAIN_MAX = 64 << 10
#: What a failed exchange raises (ssl.SSLError and socket timeouts are OSErrors).
EXCHANGE_ERRORS: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException)


#: How a server that hung up on an idle keep-alive socket shows when we use it.
_HUNG_UP = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class _Budget:
    """The deadline of the exchange a connection is lent to; its socket asks
    it before every operation."""

    __slots__ = ("deadline", "read_timeout", "limit")

    def __init__(self, read_timeout: float, limit: float) -> None:
        self.deadline = float("inf")
        self.read_timeout = read_timeout
        self.limit = limit

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def op_timeout(self) -> float:
        left = self.left()
        if left <= 0:
            raise TimeoutError(f"no complete answer within the call timeout ({self.limit:g} s)")
        return min(self.read_timeout, left)


class _Bounded:
    """Socket mixin: every send and recv waits at most what the budget allows."""

    budget: _Budget | None = None
    _armed: float | None = None

    def settimeout(self, value: float | None) -> None:
        self._armed = None
        super().settimeout(value)  # type: ignore[misc]

    def _arm(self) -> None:
        budget = self.budget
        if budget is None:
            return
        t = budget.op_timeout()
        if t != self._armed:
            super().settimeout(t)  # type: ignore[misc]
            self._armed = t

    def recv_into(self, *args: Any, **kwargs: Any) -> int:
        self._arm()
        n: int = super().recv_into(*args, **kwargs)  # type: ignore[misc]
        return n

    def recv(self, *args: Any, **kwargs: Any) -> bytes:
        self._arm()
        data: bytes = super().recv(*args, **kwargs)  # type: ignore[misc]
        return data

    def send(self, *args: Any, **kwargs: Any) -> int:
        self._arm()
        n: int = super().send(*args, **kwargs)  # type: ignore[misc]
        return n

    def sendall(self, *args: Any, **kwargs: Any) -> None:
        self._arm()
        super().sendall(*args, **kwargs)  # type: ignore[misc]


class _BoundedSocket(_Bounded, socket.socket):
    pass


class _BoundedSSLSocket(_Bounded, ssl.SSLSocket):
    pass


class _Timeouts:
    """Connect under the connect timeout, then wait for answers under the read
    one, never past the deadline of the exchange the connection is lent to;
    an answer counts only once its head is whole (``head.FastHeadResponse``)."""

    response_class: type[http.client.HTTPResponse] = FastHeadResponse
    connect_timeout: float
    read_timeout: float
    budget: _Budget
    sock: Any
    timeout: float | None
    _create_connection: Callable[..., socket.socket]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = self._open_bounded  # http.client's hook for the socket

    def _open_bounded(self, address: Any, timeout: Any, source: Any = None) -> socket.socket:
        """http.client's ``_create_connection``, giving a socket that keeps the budget."""
        plain = socket.create_connection(address, timeout, source)
        sock = _BoundedSocket(plain.family, plain.type, plain.proto, fileno=plain.detach())
        sock.settimeout(self.timeout)
        return sock

    def _after_connect(self) -> None:
        sock = self.sock
        if sock is not None:
            sock.settimeout(self.read_timeout)
            if isinstance(sock, _Bounded):
                sock.budget = self.budget


class _HTTPConnection(_Timeouts, http.client.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        self._after_connect()


class _HTTPSConnection(_Timeouts, http.client.HTTPSConnection):
    def connect(self) -> None:
        super().connect()  # includes the TLS handshake, under the connect timeout
        self._after_connect()


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """An idle keep-alive socket that is readable was closed by the server
    (or holds garbage); either way it must not carry the next request."""
    sock = conn.sock
    if sock is None:
        return False  # closed on our side: http.client reconnects by itself
    try:
        if hasattr(select, "poll"):
            p = select.poll()
            p.register(sock, select.POLLIN)
            return bool(p.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)
    except (OSError, ValueError):
        return True


def retry_after(value: str | None, cap: float) -> float | None:
    """Seconds a ``Retry-After`` (delay or HTTP date) asks for, capped."""
    secs = retry_delay(value, time.time())
    return None if secs is None else min(secs, cap)


Headers = Fields  # the name the rest of the transport knows


class Response:
    """One answer whose body is read on demand; its connection goes back to
    the pool when the body has been read to its end, or on ``finish``."""

    __slots__ = ("status", "headers", "_raw", "_conn", "_pool", "_decoder", "_bytes", "_bad")

    def __init__(
        self, raw: http.client.HTTPResponse, conn: http.client.HTTPConnection, pool: ConnectionPool
    ) -> None:
        self.status = raw.status
        fields = raw.headers
        self.headers = fields if isinstance(fields, Fields) else Fields(fields.items())
        self._raw = raw
        self._conn: http.client.HTTPConnection | None = conn
        self._pool = pool
        self._bytes = 0
        self._decoder: Any = None
        self._bad: str | None = None
        enc = self.headers.get("Content-Encoding")
        if enc:
            enc = enc.strip().lower()
            if enc in ("gzip", "x-gzip"):
                self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
            elif enc == "deflate":
                self._decoder = _Deflate()
            elif enc != "identity":
                self._bad = enc  # said when the body is read: never pass it off as content

    @property
    def length_remaining(self) -> int | None:
        """Body bytes still to come, when the server said (None: chunked or until close)."""
        return self._raw.length

    def tell(self) -> int:
        """Body bytes read so far, as sent (before decoding)."""
        return self._bytes

    def read(self, amt: int | None = None, decode_content: bool = True) -> bytes:
        """Up to ``amt`` body bytes (all of it for None), decoded when the
        server compressed it and ``decode_content``; b"" at the end.  A body
        that ends before its Content-Length raises IncompleteRead."""
        raw = self._raw
        if self._bad is not None and decode_content:
            self._abandon()
            raise http.client.HTTPException(f"unsupported Content-Encoding {self._bad!r}")
        while True:
            try:
                data = raw.read() if amt is None else raw.read(amt)
            except EXCHANGE_ERRORS:
                self._abandon()
                raise
            self._bytes += len(data)
            if not data and amt and raw.length:
                self._abandon()
                raise http.client.IncompleteRead(b"", raw.length)
            if raw.isclosed():
                self._release()
            if self._decoder is None or not decode_content:
                return data
            if not data:
                out: bytes = self._decoder.flush()
                return out
            out = self._decoder.decompress(data)
            if out or amt is None:
                return out

    def finish(self) -> None:
        """Give the connection back for keep-alive when what is left of the body
        is small (an error page, a redirect), else close it."""
        if self._conn is None:
            return
        remaining = self._raw.length
        if remaining is not None and remaining <= DRAIN_MAX:
            try:
                self._raw.read()
            except EXCHANGE_ERRORS:
                self._abandon()
                return
            self._release()
        else:
            self._abandon()

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool.put(conn)

    def _abandon(self) -> None:
        self._raw.close()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()  # a later exchange on it opens a new socket
            self._pool.put(conn)


class _Deflate:
    """``Content-Encoding: deflate`` is zlib-wrapped by the RFC, raw in practice."""

    def __init__(self) -> None:
        self._first = True
        self._obj = zlib.decompressobj()

    def decompress(self, data: bytes) -> bytes:
        if self._first:
            self._first = False
            try:
                return self._obj.decompress(data)
            except zlib.error:
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._obj.decompress(data)

    def flush(self) -> bytes:
        return self._obj.flush()


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
        self._connect_timeout, self._read_timeout = timeout
        self._sleep = sleep
        self._max_idle = max_idle
        self.deadline = deadline
        """Seconds a call may take, retries included (see call_scope)."""
        self._context: ssl.SSLContext | None = None
        if base.scheme == "https":
            self._context = tls.context() or default_context()
            # the sockets it wraps check the call's deadline before each recv
            self._context.sslsocket_class = _BoundedSSLSocket
        self._lock = threading.Lock()
        self._idle: list[http.client.HTTPConnection] = []
        self._closed = False
        self.connections_made = 0
        """Connection objects created (each opens its socket on first use)."""

    def _new(self) -> http.client.HTTPConnection:
        conn: _HTTPConnection | _HTTPSConnection
        host, port = self._base.host, self._base.port
        if self._context is not None:
            conn = _HTTPSConnection(
                host, port, timeout=self._connect_timeout, context=self._context
            )
        else:
            conn = _HTTPConnection(host, port, timeout=self._connect_timeout)
        conn.connect_timeout = self._connect_timeout
        conn.read_timeout = self._read_timeout
        conn.budget = _Budget(self._read_timeout, self.deadline)
        with self._lock:
            self.connections_made += 1
        return conn

    def _get(self) -> http.client.HTTPConnection:
        with self._lock:
            if self._closed:
                raise RuntimeError("transport is closed")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            return self._new()
        if _dropped(conn):
            conn.close()  # reopened by http.client on the next request
        return conn

    def put(self, conn: http.client.HTTPConnection) -> None:
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
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer within the call timeout ({self.deadline:g} s)")
            conn = self._get()
            conn.budget.deadline = deadline  # type: ignore[attr-defined]
            conn.timeout = min(self._connect_timeout, left)
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

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
