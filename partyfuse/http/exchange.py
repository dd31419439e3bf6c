"""The socket side of the transport: send a request, follow redirects, read bodies.

What an answer *means* is decided in ``answers.py``; this module only moves
bytes.  Every request goes through the connection pool (``pool.py``:
keep-alive, retries up to the headers); redirects are followed only within
the mount's origin, so the password (PW header, Basic auth) never reaches
another host; a body that breaks off after the headers is retried here
(``with_body_retries``), since only the caller knows how to ask again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import zlib
from collections.abc import Callable, Generator, Iterator
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

from ..core.errors import ProtocolError
from .answers import ShortBody
from .auth import Credentials
from .errors import connection_error
from .pool import EXCHANGE_ERRORS, ConnectionPool, Response
from .retry import RetryPolicy
from .urls import BaseUrl, origin_of

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_REDIRECTS = 5
#: Bodies are read in steps this big when their length is not known.
CHUNK = 256 << 10
_BODY_ERRORS: tuple[type[BaseException], ...] = (*EXCHANGE_ERRORS, zlib.error)
_REDIRECTS = (301, 302, 303, 307, 308)


class _HeaderCache(dict[bool, dict[str, "str | bytes"]]):
    """Built request headers; they hold the password, so no repr shows them."""

    def __repr__(self) -> str:
        return "<headers hidden>"


class Exchange:
    """Requests to one origin through one pool; thread-safe."""

    def __init__(
        self,
        base: BaseUrl,
        pool: ConnectionPool,
        *,
        creds: Credentials | None,
        user_agent: str,
        policy: RetryPolicy,
        sleep: Callable[[float], None],
    ) -> None:
        self.base = base
        self.origin = f"{base.scheme}://{base.netloc}"
        self._pool = pool
        self._creds = creds
        self._user_agent = user_agent
        self._policy = policy
        self._sleep = sleep
        # by "is copyparty" (the PW header goes only there); built once: reads are many
        self._base_headers = _HeaderCache()
        self._lock = threading.Lock()
        self.requests = 0

    def _count(self) -> None:
        with self._lock:
            self.requests += 1

    def headers(self, extra: dict[str, str], *, copyparty: bool) -> dict[str, str | bytes]:
        """``extra`` on top of what every request carries (the password too: a
        request only ever goes to the mount's own origin)."""
        base = self._base_headers.get(copyparty)
        if base is None:
            base = {"User-Agent": self._user_agent, "Accept": "*/*"}
            if self._creds is not None:
                base.update(self._creds.headers(copyparty=copyparty))
            self._base_headers[copyparty] = base
        return {**base, **extra}

    @contextlib.contextmanager
    def open(
        self,
        method: str,
        target: str,
        extra: dict[str, str],
        *,
        what: str,
        copyparty: bool,
        body: bytes | None = None,
    ) -> Iterator[Response]:
        """A streamed response for request target ``target``, finished on exit.

        Logs one debug line per exchange once its body is read, so ``-d``
        shows what each read asked for and what it cost."""
        t0 = time.monotonic()
        headers = self.headers(extra, copyparty=copyparty)
        r, target = self._send(method, target, headers, what, body)
        try:
            yield r
        finally:
            if log.isEnabledFor(logging.DEBUG):
                rng = extra.get("Range")
                log.debug(
                    "%s %s%s%s -> %d, %d bytes, %.0f ms",
                    method,
                    self.origin,
                    target,
                    f" Range: {rng}" if rng else "",
                    r.status,
                    r.tell(),
                    (time.monotonic() - t0) * 1000,
                )
            r.finish()

    def _send(
        self,
        method: str,
        target: str,
        headers: dict[str, str | bytes],
        what: str,
        body: bytes | None = None,
    ) -> tuple[Response, str]:
        """One request and the target that answered it (redirects within the origin)."""
        for _ in range(MAX_REDIRECTS + 1):
            t0 = time.monotonic()
            try:
                r = self._pool.urlopen(method, target, headers, body)
            except EXCHANGE_ERRORS as e:
                # the pool has already retried what was worth retrying
                raise connection_error(e, self.base, what) from None
            self._count()
            location = r.headers.get("Location")
            if r.status not in _REDIRECTS or location is None:
                return r, target
            url = urljoin(self.origin + target, location)
            log.debug(
                "%s %s%s -> %d, redirect to %s (%.0f ms)",
                method,
                self.origin,
                target,
                r.status,
                url,
                (time.monotonic() - t0) * 1000,
            )
            r.finish()  # a redirect's small body: keep the connection
            if origin_of(url) != self.base.origin:
                raise ProtocolError(
                    f"{what}: the server redirects to another site ({url.split('?')[0]}); "
                    "refusing to follow (mount that URL instead)"
                )
            if r.status == 303 and method != "HEAD":
                method, body = "GET", None
            parts = urlsplit(url)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        raise ProtocolError(f"{what}: too many redirects")

    def pipeline(
        self, targets: list[tuple[str, dict[str, str]]], *, what: str
    ) -> Generator[Response, None, None]:
        """GET answers for (target, extra headers) of ``targets``, sent together
        on one connection (see ``ConnectionPool.pipeline``), each finished
        once the caller takes the next.  Never to copyparty (no PW header), no
        redirects followed, nothing retried: the caller asks for what did not
        come on its own."""
        t0 = time.monotonic()
        requests = [(target, self.headers(extra, copyparty=False)) for target, extra in targets]
        answers = self._pool.pipeline("GET", requests)
        n = 0
        try:
            for r in answers:
                n += 1
                self._count()
                try:
                    yield r
                finally:
                    r.finish()
        except EXCHANGE_ERRORS as e:
            raise connection_error(e, self.base, what) from None
        finally:
            answers.close()
            log.debug(
                "GET %d of %d pipelined from %s, %.0f ms",
                n,
                len(targets),
                self.origin,
                (time.monotonic() - t0) * 1000,
            )

    def head_status(self, target: str, *, copyparty: bool) -> int | None:
        """The status a HEAD of ``target`` gets without following redirects; None if unreachable."""
        headers = self.headers({"Accept-Encoding": "identity"}, copyparty=copyparty)
        try:
            r = self._pool.urlopen("HEAD", target, headers)
        except EXCHANGE_ERRORS:
            return None
        r.finish()
        self._count()
        log.debug("HEAD %s%s -> %d", self.origin, target, r.status)
        return r.status

    def with_body_retries(self, fn: Callable[[], T], what: str) -> T:
        """Repeat an exchange whose body broke off: the pool retries only up to
        the headers, a server dying mid-body is ours to retry."""
        last: BaseException | None = None
        for attempt in range(self._policy.retries + 1):
            if attempt:
                self._sleep(self._policy.delay(attempt - 1))
            try:
                return fn()
            except ShortBody as e:
                last = e
                log.debug("%s: %s (attempt %d)", what, e, attempt + 1)
            except _BODY_ERRORS as e:
                last = e
                log.debug("%s: body broke off: %s (attempt %d)", what, e, attempt + 1)
        if isinstance(last, ShortBody):
            raise ProtocolError(str(last))
        assert last is not None
        raise connection_error(last, self.base, what) from None

    def close(self) -> None:
        self._pool.close()


# -- bodies -------------------------------------------------------------------


def read_exact(r: Response, want: int) -> bytes:
    """Up to ``want`` body bytes.  An unencoded body is read in one call
    (wire.py loops until it has them all or the body ends), which is what
    keeps a 4 KiB read cheap."""
    if (r.headers.get("Content-Encoding") or "identity").strip().lower() != "identity":
        return read_all(r, limit=want)
    data = r.read(want, decode_content=False)
    if len(data) < want and data:
        parts = [data]
        got = len(data)
        while got < want and (chunk := r.read(want - got, decode_content=False)):
            parts.append(chunk)
            got += len(chunk)
        data = b"".join(parts)
    return data


def read_pieces(r: Response, want: int, size: int) -> list[bytes]:
    """Up to ``want`` body bytes as pieces of ``size`` bytes (the last may be
    shorter), each read straight from the socket into its own bytes: a read of
    several cache blocks is stored without cutting it up.  Fewer bytes when
    the body ends first."""
    if (r.headers.get("Content-Encoding") or "identity").strip().lower() != "identity":
        return cut(read_exact(r, want), size)  # decoded (never seen on a ranged read)
    pieces: list[bytes] = []
    got = 0
    while got < want:
        ask = min(size, want - got)
        piece = read_exact(r, ask)
        if piece:
            pieces.append(piece)
            got += len(piece)
        if len(piece) < ask:
            break  # the body ended
    return pieces or [b""]


def cut(data: bytes, size: int) -> list[bytes]:
    """``data`` in pieces of ``size`` bytes (the last may be shorter; [b""] for
    none): for bodies that could not be read piece by piece (a copy)."""
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def read_all(r: Response, limit: int | None = None) -> bytes:
    """The (decoded) body, cut at ``limit`` bytes."""
    length = r.length_remaining
    if length is not None and "Content-Encoding" not in r.headers:
        if limit is None or length <= limit:
            return r.read()  # one call: the length is known and small enough
    out = bytearray()
    while chunk := r.read(CHUNK):
        out += chunk
        if limit is not None and len(out) >= limit:
            del out[limit:]
            break
    return bytes(out)


def read_slice(
    r: Response, start: int, end: int, *, to_the_end: bool, limit: int
) -> tuple[bytes, int]:
    """``[start, end)`` of a whole body streamed past, and how far the body went.

    Only the slice is kept, never the body: a 200 to a ranged request costs
    the bytes asked for, whatever the file's size.  ``to_the_end`` reads the
    rest too (so its length can be checked and the connection reused), but
    never more than ``limit`` bytes: a "small" body that keeps coming is not one."""
    out = bytearray()
    pos = 0
    while chunk := r.read(CHUNK):
        nxt = pos + len(chunk)
        if nxt > start and pos < end:
            out += chunk[max(0, start - pos) : end - pos]
        pos = nxt
        if pos >= (limit if to_the_end else end):
            break
    return bytes(out), pos
