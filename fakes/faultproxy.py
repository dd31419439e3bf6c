"""A TCP proxy that breaks HTTP/1.1 exchanges on a seeded schedule.

It sits in front of any real server (copyparty, nginx, ...) on 127.0.0.1 and
forwards requests and answers byte for byte, except for the exchanges the
schedule picks -- on new *and* kept-alive connections, since the schedule is
asked once per exchange, not per connection.  The faults:

``reset_before``    the request is read, then the connection is reset (RST)
``reset_mid_body``  the headers and part of the body, then RST
``short_body``      part of the body under the true Content-Length, then FIN
``lying_length``    Content-Length rewritten (shorter or longer than the body
                    sent), then FIN
``wrong_range``     a 206's Content-Range shifted by some bytes (same length)
``status``          a burst of 500/502/503/429 answers, with or without
                    Retry-After, made up by the proxy (the server never sees
                    those requests); counted per answer as ``status_503``,
                    ``status_503_retry_after``, ...
``stall``           the request is read and nothing answers for ``stall``
                    seconds (longer than the client's read timeout), then FIN
``trickle``         the answer, one byte at a time
``server_away``     the listening socket is closed and every connection
                    reset; ``outage`` seconds later it listens again on the
                    same port

It parses just enough HTTP/1.1 to find where each answer ends on a kept-alive
connection (HEAD, 1xx/204/304, Transfer-Encoding: chunked, Content-Length,
or the end of the connection).  A fault that needs a body (a cut, a lie about
its length) is only injected when the answer has one; ``injected`` counts
the faults actually injected, by kind, and ``on_kept_alive`` those that hit a
connection that had carried an exchange before.

On Linux, closing a socket that another thread is blocked on in recv() sends
nothing and wakes nobody, and frees its number for the next socket made: so
a thread only ever shuts down another's sockets (which wakes it) and each
socket is closed by the thread that owns it.  A reset is SO_LINGER 0, then
close.
"""

from __future__ import annotations

import random
import select
import socket
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

KINDS = (
    "reset_before",
    "reset_mid_body",
    "short_body",
    "lying_length",
    "wrong_range",
    "status",
    "stall",
    "trickle",
    "server_away",
)
#: Kinds that need an answer with a body from the server.
BODY_KINDS = frozenset({"reset_mid_body", "short_body", "lying_length", "trickle"})
STATUS_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                  429: "Too Many Requests"}  # fmt: skip
MAX_HEAD = 64 << 10
CHUNK = 64 << 10


@dataclass(frozen=True)
class Fault:
    """One fault for one exchange."""

    kind: str
    status: int = 0
    retry_after: str | None = None
    burst: int = 1
    """status: how many answers in a row (this one included) get it."""


class Schedule:
    """Which fault hits the next exchange: a seeded draw, thread-safe.

    ``rate`` is the share of exchanges that get a fault; ``weights`` how the
    kinds share them (all equal by default)."""

    def __init__(
        self,
        seed: int,
        *,
        rate: float = 0.2,
        weights: dict[str, float] | None = None,
        statuses: Sequence[int] = (500, 502, 503, 429),
        retry_afters: Sequence[str | None] = (None, "1", "0", "120"),
    ) -> None:
        self.seed = seed
        self.rate = rate
        self._weights = dict(weights) if weights is not None else dict.fromkeys(KINDS, 1.0)
        unknown = set(self._weights) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}")
        self._statuses = tuple(statuses)
        self._retry_afters = tuple(retry_afters)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def next(self) -> Fault | None:
        with self._lock:
            rng = self._rng
            if rng.random() >= self.rate:
                return None
            kinds = [k for k, w in self._weights.items() if w > 0]
            if not kinds:
                return None
            kind = rng.choices(kinds, [self._weights[k] for k in kinds])[0]
            if kind == "status":
                return Fault(
                    kind,
                    status=rng.choice(self._statuses),
                    retry_after=rng.choice(self._retry_afters),
                    burst=rng.randint(1, 4),
                )
            return Fault(kind)

    def cut(self, length: int) -> int:
        """Where to cut a body of ``length`` (> 0) bytes: 0 <= cut < length."""
        with self._lock:
            return self._rng.randrange(length)

    def shift(self) -> int:
        with self._lock:
            return self._rng.choice((-3, -1, 1, 7, 4096))


class Script(Schedule):
    """Exactly these faults for the next exchanges (None: forward), then none."""

    def __init__(self, faults: Iterable[Fault | str | None], seed: int = 0) -> None:
        super().__init__(seed, rate=0.0)
        self._script = [Fault(f) if isinstance(f, str) else f for f in faults]

    def next(self) -> Fault | None:
        with self._lock:
            return self._script.pop(0) if self._script else None


def reset(sock: socket.socket) -> None:
    """Close with a TCP RST (SO_LINGER 0), not a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def wake(sock: socket.socket, *, rst: bool = False) -> None:
    """Wake whoever is blocked on ``sock`` (close alone would not), and leave
    closing it to them: closing another thread's socket frees its number for
    the next socket made, which that thread might then read from."""
    try:
        if rst:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Gone(Exception):
    """The peer closed, or the proxy is stopping: end this connection."""


class _Reader:
    """Buffered reads from a socket, by line, by count, or by head."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def _more(self) -> None:
        data = self.sock.recv(CHUNK)
        if not data:
            raise _Gone("closed")
        self.buf += data

    def head(self) -> bytes:
        """Up to and including the blank line ending a head."""
        return self._through(b"\r\n\r\n", "head")

    def line(self) -> bytes:
        return self._through(b"\r\n", "line")

    def _through(self, end: bytes, what: str) -> bytes:
        """Up to and including the next ``end`` (at most MAX_HEAD bytes before it)."""
        while True:
            i = self.buf.find(end)
            if i >= 0:
                out = bytes(self.buf[: i + len(end)])
                del self.buf[: i + len(end)]
                return out
            if len(self.buf) > MAX_HEAD:
                raise _Gone(f"{what} too long")
            self._more()

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._more()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def some(self, most: int) -> bytes:
        """1..most bytes (fewer only at the end of the connection: raises _Gone)."""
        if not self.buf:
            self._more()
        out = bytes(self.buf[:most])
        del self.buf[:most]
        return out


@dataclass
class _Message:
    head: bytes
    first: str
    headers: list[tuple[str, str]]

    def get(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def with_header(self, name: str, value: str) -> _Message:
        """The same message with header ``name`` (present) set to ``value``."""
        headers = [(k, value if k.lower() == name.lower() else v) for k, v in self.headers]
        lines = [self.first, *(f"{k}: {v}" for k, v in headers)]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return _Message(head, self.first, headers)


def _parse(head: bytes) -> _Message:
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers.append((k.strip(), v.strip()))
    return _Message(head, lines[0], headers)


class FaultProxy:
    """``FaultProxy((host, port), schedule)``: listens on 127.0.0.1 (``port``,
    free by default) and forwards to the server at (host, port).

    ``enabled`` switches faults on and off (off: a plain proxy); ``injected``
    counts the faults injected by kind.  Stop it with ``stop()`` (or use it as a
    context manager): every socket and thread it made is gone afterwards."""

    def __init__(
        self,
        upstream: tuple[str, int],
        schedule: Schedule,
        *,
        port: int = 0,
        stall: float = 10.0,
        outage: float = 1.0,
        trickle_delay: float = 0.01,
    ) -> None:
        self.upstream = upstream
        self.schedule = schedule
        self.stall = stall
        self.outage = outage
        self.trickle_delay = trickle_delay
        self.injected: Counter[str] = Counter()
        self.exchanges = 0
        self.on_kept_alive = 0
        """Faults injected on a connection that had carried an exchange before."""
        self._conn = threading.local()  # per connection thread: is it a kept-alive one
        self.recent: deque[str] = deque(maxlen=400)
        """The last exchanges, one line each (request, status, type, fault): evidence."""
        self.connections = 0
        self.enabled = threading.Event()
        self.enabled.set()
        self._port = port
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._socks: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._burst: Fault | None = None
        self._burst_left = 0
        self._away_until = 0.0

    # -- lifecycle ---------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/"

    def start(self) -> FaultProxy:
        self._listen()
        return self

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Close every socket (shut down first: that wakes their threads) and join them."""
        self._stopping.set()
        self.enabled.clear()
        deadline = time.monotonic() + 10
        while True:
            with self._lock:  # owners close their sockets under the lock: none is closed here
                listener, self._listener = self._listener, None
                if listener is not None:
                    wake(listener)
                for s in self._socks:
                    wake(s)
                threads = [t for t in self._threads if t is not threading.current_thread()]
            if not threads:
                return
            for t in threads:
                t.join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() > deadline:
                alive = [t.name for t in threads if t.is_alive()]
                if alive:
                    raise RuntimeError(f"fault proxy threads did not end: {alive}")

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self.injected)

    def total(self) -> int:
        with self._lock:
            return sum(self.injected.values())

    def _count(self, kind: str) -> None:
        with self._lock:
            self.injected[kind] += 1
            if getattr(self._conn, "kept", False):
                self.on_kept_alive += 1

    def _spawn(self, target: object, *args: object, name: str) -> None:
        t = threading.Thread(target=self._run, args=(target, *args), name=name, daemon=True)
        with self._lock:  # started under the lock: stop() never joins an unstarted thread
            self._threads.add(t)
            t.start()

    def _run(self, target: object, *args: object) -> None:
        try:
            target(*args)  # type: ignore[operator]
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _listen(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 10
        while True:
            try:
                sock.bind(("127.0.0.1", self._port))
                break
            except OSError:
                if not self._port or time.monotonic() > deadline or self._stopping.is_set():
                    sock.close()
                    raise
                time.sleep(0.05)  # coming back on the same port: wait for it
        sock.listen(64)
        self._port = sock.getsockname()[1]
        with self._lock:
            if self._stopping.is_set():
                sock.close()
                return
            self._listener = sock
        self._spawn(self._accept, sock, name=f"faultproxy-accept-{self._port}")

    def _accept(self, listener: socket.socket) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    client, _ = listener.accept()
                except OSError:
                    return  # shut down: stopping, or the server went away
                with self._lock:
                    if self._listener is not listener:
                        reset(client)
                        return
                    self._socks.add(client)
                    self.connections += 1
                self._spawn(self._serve, client, name="faultproxy-conn")
        finally:
            with self._lock:
                listener.close()

    def _own(self, sock: socket.socket) -> None:
        """``sock`` is this thread's: others may wake it (see wake), not close it."""
        with self._lock:
            if self._stopping.is_set() or self._listener is None:
                wake(sock)  # stopping or away: it must not outlive that
            self._socks.add(sock)

    def _close(self, sock: socket.socket, *, rst: bool = False) -> None:
        """Close one of this thread's sockets (with a RST if ``rst``)."""
        with self._lock:
            self._socks.discard(sock)
            if rst:
                reset(sock)
            else:
                sock.close()

    # -- the server going away ---------------------------------------------

    def go_away(self, seconds: float | None = None) -> None:
        """Stop listening and reset every connection; listen again on the same
        port after ``seconds`` (``outage`` by default)."""
        with self._lock:
            listener, self._listener = self._listener, None
            if listener is None:
                return  # already away
            wake(listener)
            for s in self._socks:
                wake(s, rst=True)
        self._spawn(self._come_back, self.outage if seconds is None else seconds,
                    name="faultproxy-outage")  # fmt: skip

    def _come_back(self, seconds: float) -> None:
        if self._stopping.wait(seconds):
            return
        self._listen()

    # -- one client connection ---------------------------------------------

    def _next_fault(self) -> Fault | None:
        if not self.enabled.is_set():
            return None
        with self._lock:
            self.exchanges += 1
            if self._burst_left > 0 and self._burst is not None:
                self._burst_left -= 1
                return self._burst
        fault = self.schedule.next()
        if fault is not None and fault.kind == "status" and fault.burst > 1:
            with self._lock:
                self._burst, self._burst_left = fault, fault.burst - 1
        return fault

    def _serve(self, client: socket.socket) -> None:
        up: socket.socket | None = None
        served = 0
        creader = _Reader(client)
        ureader: _Reader | None = None
        try:
            while not self._stopping.is_set():
                try:
                    req = _parse(creader.head())
                except _Gone:
                    return
                length = req.get("Content-Length")
                body = creader.exactly(int(length)) if length and length.isdigit() else b""
                method = req.first.split(" ", 1)[0].upper()
                close_after = (req.get("Connection") or "").lower() == "close"
                fault = self._next_fault()
                self._conn.kept = served > 0
                self._conn.request = f"#{id(client) % 10_000:04d}.{served} {req.first}"
                served += 1
                kind = fault.kind if fault else None
                if kind in ("server_away", "reset_before", "stall"):
                    self._log(0, "", kind)
                if kind == "server_away":
                    self._count(kind)
                    self.go_away()
                    return
                if kind == "reset_before":
                    self._count(kind)
                    self._reset(client)
                    return
                if kind == "stall":
                    self._count(kind)
                    self._stall(client)
                    return
                if kind == "status" and fault is not None:
                    ra = "_retry_after" if fault.retry_after is not None else ""
                    self._count(f"status_{fault.status}{ra}")
                    self._log(fault.status, "text/plain", kind)
                    client.sendall(self._status_answer(fault))
                    if close_after:
                        return
                    continue
                if up is None:
                    try:
                        up = socket.create_connection(self.upstream, timeout=30)
                    except OSError:
                        return  # the server is down: so are we, for this client
                    up.settimeout(None)
                    self._own(up)
                    ureader = _Reader(up)
                assert ureader is not None
                try:
                    up.sendall(req.head + body)
                    keep = self._answer(client, ureader, method, fault)
                except _Gone:
                    return
                if not keep or close_after:
                    return
        except (OSError, ValueError):  # ValueError: closed under us (the server went away)
            return
        finally:
            if up is not None:
                self._close(up)
            self._close(client)

    def _log(self, status: int, ctype: str, kind: str | None, extra: str | None = None) -> None:
        line = f"{time.monotonic():.3f} {getattr(self._conn, 'request', '?')} -> {status} {ctype}"
        line += f" [{extra}]" if extra else ""
        line += f" FAULT {kind}" if kind else ""
        with self._lock:
            self.recent.append(line)

    def _reset(self, client: socket.socket) -> None:
        self._close(client, rst=True)

    def _stall(self, client: socket.socket) -> None:
        """Say nothing for ``stall`` seconds (or until the client gives up), then FIN."""
        end = time.monotonic() + self.stall
        while not self._stopping.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return
            readable, _, _ = select.select([client], [], [], min(left, 0.2))
            if readable and not client.recv(CHUNK):
                return  # the client gave up

    @staticmethod
    def _status_answer(fault: Fault) -> bytes:
        body = f"fault proxy: {fault.status}\n".encode()
        head = f"HTTP/1.1 {fault.status} {STATUS_REASONS.get(fault.status, 'Error')}\r\n"
        head += "Content-Type: text/plain\r\n"
        if fault.retry_after is not None:
            head += f"Retry-After: {fault.retry_after}\r\n"
        head += f"Content-Length: {len(body)}\r\n\r\n"
        return head.encode() + body

    def _answer(self, client: socket.socket, up: _Reader, method: str, fault: Fault | None) -> bool:
        """Forward one answer, faulted or not; False when the connection must end."""
        resp = _parse(up.head())
        try:
            status = int(resp.first.split(" ")[1])
        except (IndexError, ValueError):
            raise _Gone("bad status line") from None
        while 100 <= status < 200:  # interim answers: pass on, read the real one
            client.sendall(resp.head)
            resp = _parse(up.head())
            status = int(resp.first.split(" ")[1])
        kind = fault.kind if fault else None
        self._log(status, resp.get("Content-Type") or "", kind, resp.get("Content-Range"))
        no_body = method == "HEAD" or status in (204, 304)
        chunked = "chunked" in (resp.get("Transfer-Encoding") or "").lower()
        length_h = resp.get("Content-Length")
        length = int(length_h) if length_h and length_h.isdigit() else None
        keep = (resp.get("Connection") or "").lower() != "close"
        if no_body:
            body: bytes | None = b""
        elif chunked:
            body = self._chunked(up)
        elif length is not None:
            body = None  # streamed below, unless a fault needs it whole
        else:
            keep = False  # ends with the connection
            body = self._until_close(up)
        size = len(body) if body is not None else (length or 0)

        if kind == "wrong_range" and status == 206 and resp.get("Content-Range"):
            cr = resp.get("Content-Range") or ""
            try:
                unit, rest = cr.split(" ", 1)
                span, total = rest.split("/", 1)
                first, last = (int(x) for x in span.split("-"))
                d = self.schedule.shift()
                if first + d < 0:
                    d = -d
                resp = resp.with_header("Content-Range", f"{unit} {first + d}-{last + d}/{total}")
                self._count(kind)
            except ValueError:
                pass
            kind = None  # the body goes through untouched
        elif kind in BODY_KINDS and (size == 0 or (kind == "lying_length" and length is None)):
            kind = None  # nothing to cut or lie about: forward it as it is

        if kind == "trickle":
            self._count(kind)
            self._trickle(client, resp.head)
            if body is None:
                body = up.exactly(size)
            self._trickle(client, body)
            return keep
        if kind in ("reset_mid_body", "short_body"):
            cut = self.schedule.cut(size)
            data = body[:cut] if body is not None else up.exactly(cut)
            self._count(kind)  # counted before the client can see it
            client.sendall(resp.head + data)
            if kind == "reset_mid_body":
                self._reset(client)
            raise _Gone(kind)
        if kind == "lying_length" and length is not None:
            shorter = self.schedule.cut(2) == 0
            lie = self.schedule.cut(size) if shorter else size + 1 + self.schedule.cut(size)
            resp = resp.with_header("Content-Length", str(lie))
            data = body if body is not None else up.exactly(size)
            self._count(kind)
            client.sendall(resp.head + data[:lie])
            raise _Gone(kind)  # FIN: the client either has too little, or had too much

        client.sendall(resp.head)
        if body is not None:
            client.sendall(body)
        else:
            left = size
            while left > 0:
                data = up.some(min(left, CHUNK))
                client.sendall(data)
                left -= len(data)
        return keep

    def _trickle(self, client: socket.socket, data: bytes) -> None:
        for i in range(len(data)):
            if self._stopping.is_set():
                raise _Gone("stopping")
            client.sendall(data[i : i + 1])
            time.sleep(self.trickle_delay)

    @staticmethod
    def _chunked(up: _Reader) -> bytes:
        out = bytearray()
        while True:
            line = up.line()
            out += line
            try:
                n = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise _Gone("bad chunk size") from None
            if n == 0:
                while True:  # trailers, then the blank line
                    t = up.line()
                    out += t
                    if t == b"\r\n":
                        return bytes(out)
            out += up.exactly(n + 2)

    @staticmethod
    def _until_close(up: _Reader) -> bytes:
        out = bytearray(up.buf)
        up.buf.clear()
        while True:
            data = up.sock.recv(CHUNK)
            if not data:
                return bytes(out)
            out += data
