"""One answer from the pool: its headers, and its body read on demand.

The body is read straight from the connection's socket file, decoded when
the server compressed it (gzip, deflate; any other Content-Encoding is an
error when the body is read, never passed off as content), and the
connection goes back to its pool (``Lender``) once the body has been read
to its end, or on ``finish``.
"""

from __future__ import annotations

import http.client
import zlib
from typing import Any, Protocol

from .head import Fields
from .wire import WireConnection, WireResponse

__all__ = ["DRAIN_MAX", "EXCHANGE_ERRORS", "Headers", "Lender", "Response"]

#: Leftover body bytes worth reading to keep a connection alive.
DRAIN_MAX = 64 << 10
#: What a failed exchange raises (ssl.SSLError and socket timeouts are OSErrors).
EXCHANGE_ERRORS: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException)


class Lender(Protocol):
    """Where a response gives its connection back (the pool)."""

    def put(self, conn: WireConnection) -> None: ...


Headers = Fields  # the name the rest of the transport knows


class Response:
    """One answer whose body is read on demand; its connection goes back to
    the pool when the body has been read to its end, or on ``finish``."""

    __slots__ = ("status", "headers", "_raw", "_conn", "_pool", "_decoder", "_bytes", "_bad")

    def __init__(self, raw: WireResponse, conn: WireConnection, pool: Lender) -> None:
        self.status = raw.status
        fields = raw.headers
        self.headers = fields if isinstance(fields, Fields) else Fields(fields.items())
        self._raw = raw
        self._conn: WireConnection | None = conn
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
