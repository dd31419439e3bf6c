"""One HTTP/1.1 keep-alive connection: the request written in one piece, the
answer read from one buffer kept for the connection's life.

Why not ``http.client``: on loopback the daemon is CPU-bound and makes one
request per small file and per folder.  A bare ``http.client`` 4 KiB GET cost
about 180 µs of CPU on these machines, the same request written to a socket
and its answer cut out by hand about 25 µs.  ``http.client`` builds the
request header by header (``putheader`` validates and encodes each), makes a
new buffered socket file for every answer and reads it line by line through
Python-level socket methods.  Here a request is one string encoded once and
sent with one ``sendall``; an answer's head and a small body usually arrive in
the first ``recv`` and are cut out of it (the fields in one split,
``head.plain_fields``).  Through the pool, a 4 KiB GET went from about 80 to
50 µs, and the transport's whole ``read_range`` from about 120 to 90.

The semantics are ``http.client``'s, including its exception classes, so the
pool's retry rules and errors.py read failures the same way:

* the status line: ``RemoteDisconnected`` when the connection ends before it,
  ``BadStatusLine`` for anything but ``HTTP/x.y NNN``, ``UnknownProtocol``
  for a version other than 0.9, 1.0 or 1.1; 1xx answers are skipped;
* the head: ``head.read_fields`` (the same limits; ``HeadCut`` when the
  connection ends inside it);
* the body: by Content-Length, chunked, or until the connection closes; none
  for HEAD, 204, 304 and 1xx.  A chunked body that breaks off or carries a bad
  chunk size raises ``IncompleteRead``.  ``read(amt)`` returns fewer than
  ``amt`` bytes only at the end of the body or when the connection ended.

Unlike ``http.client``, bytes the server sends past the end of an answer are
never taken for the next answer: the connection is closed instead.

Every send and recv goes through the connection's socket, which keeps the
exchange's deadline (connections.py).
"""

from __future__ import annotations

import http.client
import io
import re
from typing import Any

from .head import MAX_LINE, Fields, plain_fields, read_fields

__all__ = ["WireConnection", "WireResponse"]

#: Bytes asked of the socket at a time while reading a head or a small body.
RECV = 64 << 10
#: Most bytes one recv of a body may take (and allocate) at once.
MAX_RECV = 1 << 20
#: A body read at least this big goes straight from the socket into the bytes
#: returned (``_Body``); smaller ones are joined from recv pieces.
BIG_BODY = 64 << 10

_NO_BODY = (http.client.NO_CONTENT, http.client.NOT_MODIFIED)
_BODY_METHODS = ("POST", "PUT", "PATCH")
#: What a request target must not hold (http.client refuses the same, and anything not ASCII).
_BAD_TARGET = re.compile(r"[^\x21-\x7e]").search


class WireConnection:
    """A keep-alive connection to one origin, for one exchange at a time.

    Opens its socket on the first request, and again after ``close`` or an
    answer that ends the connection; ``sock`` is None while it has none."""

    budget: Any = None
    """What keeps the deadline of the exchange it is lent to (connections.py)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        host_header: str,
        timeout: float,
        open_socket: Any,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        """Seconds the next connect may take (the pool sets it per exchange)."""
        self.sock: Any = None
        self._open_socket = open_socket  # (connection) -> socket, connected and bounded
        self._head = f"\r\nHost: {host_header}\r\n"
        self._buf = b""
        self._pos = 0
        self._busy = False  # an answer's body is still on the wire
        self._waiting = 0  # answers sent for and not begun
        self._method = "GET"

    # -- the socket --------------------------------------------------------------

    def connect(self) -> None:
        self.sock = self._open_socket(self)
        self._buf, self._pos, self._busy, self._waiting = b"", 0, False, 0

    def close(self) -> None:
        sock, self.sock = self.sock, None
        self._buf, self._pos, self._busy, self._waiting = b"", 0, False, 0
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def _fill(self) -> bool:
        """Receive more bytes into the buffer; False when the connection ended."""
        data = self.sock.recv(RECV)
        if not data:
            return False
        if self._pos >= len(self._buf):
            self._buf = data
        else:
            self._buf = self._buf[self._pos :] + data
        self._pos = 0
        return True

    def readline(self, limit: int = -1, /) -> bytes:
        """One line, its end included; at most ``limit`` bytes; b"" at the end."""
        buf, pos = self._buf, self._pos
        while True:
            stop = len(buf) if limit < 0 else min(len(buf), pos + limit)
            i = buf.find(b"\n", pos, stop)
            if i >= 0:
                self._pos = i + 1
                return buf[pos : i + 1]
            if stop - pos == limit or not self._fill():
                self._pos = stop
                return buf[pos:stop]
            buf, pos = self._buf, self._pos

    def read_up_to(self, n: int) -> bytes:
        """Up to ``n`` bytes (at least one unless the connection ended)."""
        buf, pos = self._buf, self._pos
        have = len(buf) - pos
        if have:
            if have <= n:
                self._buf, self._pos = b"", 0
                return buf[pos:] if pos else buf
            self._pos = pos + n
            return buf[pos : pos + n]
        if self.sock is None:
            return b""
        data: bytes = self.sock.recv(min(n, MAX_RECV))
        return data

    def read_exact(self, n: int) -> bytes:
        """``n`` bytes, or fewer when the connection ended first."""
        buf, pos = self._buf, self._pos
        have = len(buf) - pos
        if have >= n:
            self._pos = pos + n
            return buf if (pos == 0 and have == n) else buf[pos : pos + n]
        if self.sock is None:
            self._buf, self._pos = b"", 0
            return buf[pos:]
        if n - have >= BIG_BODY:
            # io.BufferedReader.read(n) makes the result once and has the
            # socket write straight into it: collecting recv pieces and joining
            # them cost 40% more CPU per MiB of a stream
            return io.BufferedReader(_Body(self, n), BIG_BODY).read(n)
        parts = [buf[pos:]] if have else []
        self._buf, self._pos = b"", 0
        got = have
        recv = self.sock.recv
        while got < n:
            chunk = recv(n - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        if len(parts) == 1:
            return parts[0]
        return b"".join(parts)

    def read_fields(self) -> list[tuple[str, str]]:
        """The header fields of the answer whose status line was just read."""
        buf, pos = self._buf, self._pos
        if buf.startswith(b"\r\n", pos):
            self._pos = pos + 2
            return []
        end = buf.find(b"\r\n\r\n", pos)
        if end >= 0:
            fields = plain_fields(buf[pos:end])
            if fields is not None:
                self._pos = end + 4
                return fields
        return read_fields(self)

    def leftover(self) -> bool:
        """Bytes received past the end of the answer just read."""
        return self._pos < len(self._buf)

    # -- one exchange ------------------------------------------------------------

    def request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: dict[str, Any] | None = None,
    ) -> None:
        """Send ``method target`` with ``headers`` (and ``body``) in one piece."""
        self._send(self._encode(method, target, body, headers or {}), method, 1)

    def request_many(self, method: str, requests: list[tuple[str, dict[str, Any]]]) -> None:
        """Send one ``method`` request per (target, headers) of ``requests``,
        all in one piece (HTTP/1.1 pipelining); ``getresponse`` then gives
        their answers in the same order, each once the one before was read to
        its end."""
        data = b"".join([self._encode(method, t, None, h) for t, h in requests])
        self._send(data, method, len(requests))

    def _send(self, data: bytes, method: str, answers: int) -> None:
        if self._busy or self._waiting:
            self.close()  # the last answers were not all read: never reuse that
        if self.sock is None:
            self.connect()
        self._method = method
        self._waiting = answers
        self.sock.sendall(data)

    def _encode(
        self, method: str, target: str, body: bytes | None, fields: dict[str, Any]
    ) -> bytes:
        if _BAD_TARGET(target):
            raise http.client.InvalidURL(f"URL can't contain control characters. {target!r}")
        block = "".join(
            [
                f"{name}: {value.decode('latin-1') if isinstance(value, bytes) else value}\r\n"
                for name, value in fields.items()
            ]
        )
        n = len(fields)
        if block.count("\n") != n or block.count("\r") != n or "\0" in block:
            raise ValueError("Invalid header value: a line end or NUL inside a header")
        extra = ""
        if "accept-encoding" not in (name.lower() for name in fields):
            extra = "Accept-Encoding: identity\r\n"
        if body is not None:
            extra += f"Content-Length: {len(body)}\r\n"
        elif method in _BODY_METHODS:
            extra += "Content-Length: 0\r\n"
        data = f"{method} {target} HTTP/1.1{self._head}{block}{extra}\r\n".encode("latin-1")
        return data + body if body else data

    def getresponse(self) -> WireResponse:
        """The next answer's status and head; its body is read from the response."""
        if self.sock is None or not self._waiting or self._busy:
            # an earlier answer ended the connection, or was not read to its end
            self.close()
            raise http.client.RemoteDisconnected("the connection ended before this answer")
        self._waiting -= 1
        try:
            r = WireResponse(self, self._method)
        except BaseException:
            self.close()
            raise
        if r.isclosed():
            self._done(r)
        else:
            self._busy = True
        return r

    def _done(self, r: WireResponse) -> None:
        """The answer ``r`` was read to its end."""
        self._busy = False
        if r.will_close or (not self._waiting and self.leftover()):
            self.close()


class _Body(io.RawIOBase):
    """The next ``n`` bytes of a connection as a raw stream: the buffered
    ones first, then the socket's, never a byte past them."""

    def __init__(self, conn: WireConnection, n: int) -> None:
        super().__init__()
        self._conn = conn
        self._left = n

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        want = min(len(b), self._left)
        if want <= 0:
            return 0
        conn = self._conn
        buf, pos = conn._buf, conn._pos
        have = len(buf) - pos
        if have:
            k = min(have, want)
            b[:k] = buf[pos : pos + k]
            conn._pos = pos + k
        else:
            k = conn.sock.recv_into(b, want)
        self._left -= k
        return int(k)


class WireResponse:
    """An answer on a ``WireConnection``: what the pool and response.py need
    of ``http.client.HTTPResponse`` (status, reason, headers, version,
    ``length`` still to come, ``read``, ``isclosed``, ``close``)."""

    def __init__(self, conn: WireConnection, method: str) -> None:
        self._conn: WireConnection | None = conn
        while True:
            version, status, reason = _status_line(conn)
            if not 100 <= status < 200:
                break
            read_fields(conn)  # an interim (1xx) answer's own head: the final one follows
        self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = Fields(conn.read_fields())
        tr_enc = self.headers.get("transfer-encoding")
        self.chunked = bool(tr_enc and tr_enc.lower() == "chunked")
        self._chunk_left: int | None = None
        self.will_close = self._check_close()
        self.length: int | None = None
        length = self.headers.get("content-length")
        if length and not self.chunked:
            try:
                n = int(length)
            except ValueError:
                n = -1
            self.length = n if n >= 0 else None
        if status in _NO_BODY or method == "HEAD":
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True
        if self.length == 0:
            self._conn = None

    def _check_close(self) -> bool:
        conn = self.headers.get("connection")
        if self.version == 11:
            return bool(conn and "close" in conn.lower())
        if self.headers.get("keep-alive"):
            return False
        if conn and "keep-alive" in conn.lower():
            return False
        pconn = self.headers.get("proxy-connection")
        return not (pconn and "keep-alive" in pconn.lower())

    def isclosed(self) -> bool:
        """Whether the body has been read to its end (or given up)."""
        return self._conn is None

    def close(self) -> None:
        """Give up the rest of the body: the connection cannot carry another answer."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _end(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn._done(self)

    def read(self, amt: int | None = None) -> bytes:
        conn = self._conn
        if conn is None:
            if amt is None and self.length and not self.chunked:
                # cut short by an earlier read: the rest never comes
                raise http.client.IncompleteRead(b"", self.length)
            return b""
        if self.chunked:
            return self._read_chunked(conn, amt)
        length = self.length
        if length is None:  # until the connection closes
            if amt is None:
                parts = []
                while chunk := conn.read_up_to(MAX_RECV):
                    parts.append(chunk)
                self._end()
                return b"".join(parts)
            data = conn.read_up_to(amt) if amt else b""
            if amt and not data:
                self._end()
            return data
        want = length if amt is None or amt > length else amt
        data = conn.read_exact(want)
        self.length = length - len(data)
        if len(data) < want:
            self.close()
            if amt is None:
                raise http.client.IncompleteRead(data, length - len(data))
        elif not self.length:
            self._end()
        return data

    def _read_chunked(self, conn: WireConnection, amt: int | None) -> bytes:
        parts: list[bytes] = []
        got = 0
        try:
            while amt is None or got < amt:
                left = self._chunk_left
                if left is None:
                    left = self._chunk_size(conn)
                    if left == 0:
                        self._trailer(conn)
                        self._end()
                        break
                take = left if amt is None else min(left, amt - got)
                data = conn.read_exact(take)
                if len(data) < take:
                    raise http.client.IncompleteRead(b"".join(parts))
                parts.append(data)
                got += take
                left -= take
                if left == 0:
                    conn.read_exact(2)  # the chunk's line end
                    self._chunk_left = None
                else:
                    self._chunk_left = left
        except (http.client.IncompleteRead, ValueError) as e:
            self.close()
            if isinstance(e, http.client.IncompleteRead):
                raise
            raise http.client.IncompleteRead(b"".join(parts)) from None
        return b"".join(parts)

    @staticmethod
    def _chunk_size(conn: WireConnection) -> int:
        line = conn.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("chunk size")
        i = line.find(b";")
        if i >= 0:
            line = line[:i]
        return int(line, 16)  # ValueError: a bad size, or the connection ended

    @staticmethod
    def _trailer(conn: WireConnection) -> None:
        while True:
            line = conn.readline(MAX_LINE + 1)
            if len(line) > MAX_LINE:
                raise http.client.LineTooLong("trailer line")
            if line in (b"\r\n", b"\n", b""):
                return


def _status_line(conn: WireConnection) -> tuple[str, int, str]:
    line = str(conn.readline(MAX_LINE + 1), "iso-8859-1")
    if len(line) > MAX_LINE:
        raise http.client.LineTooLong("status line")
    if not line:
        raise http.client.RemoteDisconnected("Remote end closed connection without response")
    try:
        version, status, reason = line.split(None, 2)
    except ValueError:
        try:
            version, status = line.split(None, 1)
            reason = ""
        except ValueError:
            version = ""
    if not version.startswith("HTTP/"):
        raise http.client.BadStatusLine(line)
    try:
        code = int(status)
    except ValueError:
        raise http.client.BadStatusLine(line) from None
    if not 100 <= code <= 999:
        raise http.client.BadStatusLine(line)
    return version, code, reason
