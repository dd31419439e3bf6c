"""The connections (wire.py) the pool lends, bound by the call's deadline.

Each connection carries a ``Budget``: the deadline of the exchange it is
lent to.  It connects (TLS handshake included) under min(connect timeout,
time left), as the pool sets it; then its socket asks the budget before every
send and every recv of the headers and the body and waits at most min(read
timeout, time left), so a server that stalls or trickles a byte at a time
ends the call with a TimeoutError when the deadline passes, though each recv
returns.  An answer is read by wire.py (``HeadCut`` when the connection
cut its head short).  The pool (pool.py) sets the deadline and
decides what to retry.
"""

from __future__ import annotations

import select
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any, TypeVar

from .urls import BaseUrl
from .wire import WireConnection

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


def new_connection(
    base: BaseUrl,
    context: ssl.SSLContext | None,
    timeout: tuple[float, float],
    deadline: float,
) -> WireConnection:
    """A connection to ``base``'s origin (https when ``context`` is given) that
    opens its socket on first use; ``timeout`` is (connect, read)."""
    connect_timeout, read_timeout = timeout
    budget = Budget(read_timeout, deadline)

    def open_socket(conn: WireConnection) -> socket.socket:
        """Connect (and shake hands) under the connect timeout the pool set,
        then wait for answers under the read one, never past the deadline."""
        plain = socket.create_connection((base.host, base.port), conn.timeout)
        try:
            plain.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        sock: socket.socket = _BoundedSocket(
            plain.family, plain.type, plain.proto, fileno=plain.detach()
        )
        sock.settimeout(conn.timeout)
        if context is not None:
            sock = context.wrap_socket(sock, server_hostname=base.host)
        sock.settimeout(read_timeout)
        if isinstance(sock, _Budgeted):
            sock.budget = budget
        return sock

    conn = WireConnection(
        base.host,
        base.port,
        host_header=base.netloc,
        timeout=connect_timeout,
        open_socket=open_socket,
    )
    conn.budget = budget
    return conn


def budget_of(conn: WireConnection) -> Budget:
    """The budget of a connection ``new_connection`` made."""
    budget: Budget = conn.budget
    return budget


def dropped(conn: WireConnection) -> bool:
    """An idle keep-alive socket that is readable was closed by the server
    (or holds garbage); either way it must not carry the next request."""
    sock = conn.sock
    if sock is None:
        return False  # closed on our side: it reconnects by itself
    try:
        if hasattr(select, "poll"):
            p = select.poll()
            p.register(sock, select.POLLIN)
            return bool(p.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)
    except (OSError, ValueError):
        return True
