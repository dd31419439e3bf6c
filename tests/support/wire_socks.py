"""Sockets made of bytes, to drive wire.py's connection and http.client's
response over the same answers (tests/http/test_head.py, test_wire.py)."""

from __future__ import annotations

import http.client
import io
from typing import Any

from partyfuse.http.wire import WireConnection, WireResponse


class _Sock:
    """What http.client reads an answer from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self._data))


class PieceSock:
    """A socket that hands ``data`` out in the pieces ``cuts`` make (a piece
    never longer than the recv asks for), and records what is sent."""

    def __init__(self, data: bytes, cuts: list[int] | None = None) -> None:
        self._pieces: list[bytes] = []
        last = 0
        for at in sorted({c for c in cuts or [] if 0 < c < len(data)}):
            self._pieces.append(data[last:at])
            last = at
        self._pieces.append(data[last:])
        self.sent = b""
        self.closed = False

    def recv(self, n: int) -> bytes:
        while self._pieces and not self._pieces[0]:
            self._pieces.pop(0)
        if not self._pieces:
            return b""
        piece = self._pieces[0]
        self._pieces[0] = piece[n:]
        return piece[:n]

    def recv_into(self, buffer: Any, n: int = 0) -> int:
        data = self.recv(n or len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def close(self) -> None:
        self.closed = True


def wire_for(sock: Any) -> WireConnection:
    return WireConnection("h", 80, host_header="h", timeout=1.0, open_socket=lambda conn: sock)


def wire_answer(data: bytes, method: str = "GET", cuts: list[int] | None = None) -> WireResponse:
    conn = wire_for(PieceSock(data, cuts))
    conn.request(method, "/x", headers={})
    return conn.getresponse()


def stock_answer(data: bytes, method: str = "GET") -> http.client.HTTPResponse:
    r = http.client.HTTPResponse(_Sock(data), method=method)  # type: ignore[arg-type]
    r.begin()
    return r
