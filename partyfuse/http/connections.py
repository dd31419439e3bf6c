"""The ``http.client`` connections the pool lends, bound by the call's deadline.

Each connection carries a ``Budget``: the deadline of the exchange it is
lent to.  It connects (TLS handshake included) under min(connect timeout,
time left), as the pool sets it; then its socket asks the budget before every
send and every recv of the headers and the body and waits at most min(read
timeout, time left), so a server that stalls or trickles a byte at a time
ends the call with a TimeoutError when the deadline passes, though each recv
returns.  An answer's head is read by head.py (``HeadCut`` when
the connection cut it short).  The pool (pool.py) sets the deadline and
decides what to retry.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any, TypeVar

from .head import FastHeadResponse
from .urls import BaseUrl

__all__ = ["BoundedSSLSocket", "Budget", "budget_of", "dropped", "new_connection"]

_S = TypeVar("_S", bound=type)

#: The socket methods that wait for the network (SSLSocket.sendall calls send).
_WAITING_OPS = ("recv_into", "recv", "send", "sendall")


class Budget:
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


class _Budgeted:
    """Socket mixin: arms the socket's timeout from the budget (see ``_bounded``)."""

    budget: Budget | None = None
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


def _arming(plain: Callable[..., Any]) -> Callable[..., Any]:
    def op(self: _Budgeted, *args: Any, **kwargs: Any) -> Any:
        self._arm()
        return plain(self, *args, **kwargs)

    op.__name__ = op.__qualname__ = plain.__name__
    return op


def _bounded(cls: _S) -> _S:
    """Every send and recv of ``cls`` waits at most what the budget allows."""
    for name in _WAITING_OPS:
        setattr(cls, name, _arming(getattr(cls, name)))
    return cls


@_bounded
class _BoundedSocket(_Budgeted, socket.socket):
    pass


@_bounded
class BoundedSSLSocket(_Budgeted, ssl.SSLSocket):
    """What an https pool's SSLContext wraps sockets in (``sslsocket_class``)."""


class _Timeouts:
    """Connect under the connect timeout, then wait for answers under the read
    one, never past the deadline of the exchange the connection is lent to;
    an answer counts only once its head is whole (``head.FastHeadResponse``)."""

    response_class: type[http.client.HTTPResponse] = FastHeadResponse
    read_timeout: float
    budget: Budget
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

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]  # https: includes the TLS handshake
        sock = self.sock
        if sock is not None:
            sock.settimeout(self.read_timeout)
            if isinstance(sock, _Budgeted):
                sock.budget = self.budget


class _HTTPConnection(_Timeouts, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_Timeouts, http.client.HTTPSConnection):
    pass


def new_connection(
    base: BaseUrl,
    context: ssl.SSLContext | None,
    timeout: tuple[float, float],
    deadline: float,
) -> http.client.HTTPConnection:
    """A connection to ``base``'s origin (https when ``context`` is given) that
    opens its socket on first use; ``timeout`` is (connect, read)."""
    connect_timeout, read_timeout = timeout
    conn: _HTTPConnection | _HTTPSConnection
    if context is not None:
        conn = _HTTPSConnection(base.host, base.port, timeout=connect_timeout, context=context)
    else:
        conn = _HTTPConnection(base.host, base.port, timeout=connect_timeout)
    conn.read_timeout = read_timeout
    conn.budget = Budget(read_timeout, deadline)
    return conn


def budget_of(conn: http.client.HTTPConnection) -> Budget:
    """The budget of a connection ``new_connection`` made."""
    budget: Budget = conn.budget  # type: ignore[attr-defined]
    return budget


def dropped(conn: http.client.HTTPConnection) -> bool:
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
