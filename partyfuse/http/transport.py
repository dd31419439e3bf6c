"""HttpTransport: the core's Transport over HTTP(S), copyparty first.

copyparty is asked for JSON listings (``dir/?ls&dots``) and raw downloads
(``file?raw``, plus its ``k=`` file key); any other server is listed by
requesting the directory and letting ``partyfuse.core.listings`` recognise
the page.  Every read is a single-range GET whose answer is checked against
what was asked and against the version the listing described, so a read
never mixes two versions of a file.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from .. import __version__
from ..core.errors import Changed, Forbidden, NotFound, ProtocolError, TransportError
from ..core.listings import ListingError
from ..core.listings.copyparty import copyparty_access, parse_copyparty_json
from ..core.model import Entry, Listing
from .auth import AUTH_HEADERS, Credentials
from .errors import connection_error, status_error
from .pool import EXCHANGE_ERRORS, ConnectionPool, Response, bounded_call
from .ranges import expected_last, parse_content_range, range_header, unsatisfied_total
from .retry import CALL_TIMEOUT, RetryPolicy, fit_call_timeout
from .tls import TlsOptions
from .urls import BaseUrl, origin_of, parse_base_url

log = logging.getLogger(__name__)

#: Listing dialects that are copyparty, whose downloads take ``?raw``.
COPYPARTY_DIALECTS = frozenset({"cpp", "cpp-html"})
#: Bodies this small are kept whole when a server ignores Range.
SMALL_BODY = 1 << 20
MAX_REDIRECTS = 5
#: Quoted download targets remembered (see HttpTransport._file_url).
MAX_TARGETS = 4096
#: A listing bigger than this is a broken or hostile server, not a directory.
MAX_LISTING = 256 << 20
#: Bodies are read in steps this big when their length is not known.
CHUNK = 256 << 10
_BODY_ERRORS: tuple[type[BaseException], ...] = (*EXCHANGE_ERRORS, zlib.error)
#: What requests sent for listings: they may come compressed, file bytes never.
LISTING_ENCODINGS = "gzip, deflate"
ListingParser = Callable[..., Listing]


class _ShortBody(Exception):
    """The server closed the body early; worth another attempt."""


def _find_parse_listing() -> ListingParser | None:
    """The listing helper's auto-detecting parser, once it exists."""
    try:
        from ..core import listings
    except ImportError:  # pragma: no cover - the package always exists
        return None
    fn = getattr(listings, "parse_listing", None)
    return fn if callable(fn) else None


def _log_exchange(method: str, url: str, r: Response, rng: str | None, t0: float) -> None:
    log.debug(
        "%s %s%s -> %d, %d bytes, %.0f ms",
        method,
        url,
        f" Range: {rng}" if rng else "",
        r.status,
        r.tell(),
        (time.monotonic() - t0) * 1000,
    )


def _http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


def _is_listing_type(ctype: str) -> bool:
    ctype = ctype.split(";")[0].strip().lower()
    return ctype.startswith("text/") or ctype.endswith(("json", "xml", "html")) or not ctype


class _HeaderCache(dict[bool, dict[str, "str | bytes"]]):
    """Built request headers; they hold the password, so no repr shows them."""

    def __repr__(self) -> str:
        return "<headers hidden>"


class HttpTransport:
    """Transport over HTTP(S); thread-safe (one keep-alive connection pool per mount)."""

    def __init__(
        self,
        base_url: str,
        *,
        password: str | None = None,
        tls: TlsOptions | None = None,
        dialect: str | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        small_body: int = SMALL_BODY,
        sleep: Callable[[float], None] = time.sleep,
        call_timeout: float = CALL_TIMEOUT,
    ) -> None:
        self.base: BaseUrl = parse_base_url(base_url)
        self._creds = Credentials(password) if password else None
        self._forced = dialect
        self._detected: str | None = None
        self._timeout = (connect_timeout, read_timeout)
        self._policy = retry or RetryPolicy()
        tls = tls or TlsOptions()
        if tls.insecure and self.base.scheme == "https":
            log.warning(
                "TLS certificate verification is disabled (-td): anyone on the path "
                "can read and alter what %s serves",
                self.base.netloc,
            )
        deadline = fit_call_timeout(call_timeout)
        self._pool = ConnectionPool(
            self.base, tls, self._policy, self._timeout, sleep=sleep, deadline=deadline
        )
        self._origin = f"{self.base.scheme}://{self.base.netloc}"
        self._user_agent = f"partyfuse/{__version__}"
        # Request headers by "is copyparty" (the PW header goes only there),
        # built once: FUSE reads are many and small.
        self._base_headers = _HeaderCache()
        # Request targets of files, by (path, file key, dialect); see _file_url.
        self._targets: dict[tuple[str, str | None, str | None], str] = {}
        self._small_body = small_body
        self._sleep = sleep
        self._lock = threading.Lock()
        # Whole small bodies from servers that ignore Range, by (path, version).
        self._bodies: OrderedDict[tuple[str, Any], bytes] = OrderedDict()
        # Validators (strong ETag or Last-Modified) seen for (path, version).
        self._validators: OrderedDict[tuple[str, Any], str] = OrderedDict()
        self.requests = 0
        self._said_no_ranges = False

    # -- public --------------------------------------------------------

    @property
    def dialect(self) -> str | None:
        """The forced dialect, else what the listings turned out to be (None before any)."""
        return self._forced or self._detected

    @property
    def is_copyparty(self) -> bool:
        d = self.dialect
        return d is None or d in COPYPARTY_DIALECTS

    @property
    def _surrogatepass(self) -> bool:
        """Quote names the way python http.server links them (see urls.py)."""
        return self.dialect == "python"

    def close(self) -> None:
        self._pool.close()

    @property
    def connections_made(self) -> int:
        """TCP connections opened so far (keep-alive reuse keeps this low)."""
        return self._pool.connections_made

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def list_dir(self, path: str) -> list[Entry]:
        return self.list_dir_full(path).entries

    @bounded_call
    def list_dir_full(self, path: str) -> Listing:
        listing, _body = self._fetch_listing(path)
        return listing

    @bounded_call
    def check(self) -> None:
        """Mount-time check that the root can be listed with the given password.

        copyparty does not always say 403: a protected *root* volume answers a
        wrong password with an empty 200 listing whose ``perms`` lack "read"
        and whose ``acct`` is "*" (anonymous) -- so that is checked too.
        """
        try:
            listing, body = self._fetch_listing("")
        except Forbidden as e:
            raise Forbidden(f"cannot list {self.base}: {self._denied_hint(e)}") from None
        if listing.dialect != "cpp":
            return
        access = copyparty_access(body)
        if self._creds is not None and access.anonymous:
            raise Forbidden(f"{self.base}: copyparty rejected the password (-a)")
        if not access.can_read:
            who = "anonymous users" if access.anonymous else access.account
            raise Forbidden(
                f"{self.base}: copyparty gives {who} no read access here"
                + ("" if self._creds else "; a password (-a) is probably needed")
            )

    @bounded_call
    def read_range(self, path: str, start: int, end: int, entry: Entry) -> bytes:
        if start < 0 or end < start:
            raise ValueError(f"bad range [{start}, {end})")
        if entry.size is not None:
            end = min(end, entry.size)
        if end <= start:
            return b""
        key = (path, entry.version())
        with self._lock:
            whole = self._bodies.get(key)
            if whole is not None:
                self._bodies.move_to_end(key)
        if whole is not None:
            return whole[start:end]
        data: bytes = self._with_body_retries(
            lambda: self._read_once(path, start, end, entry, key), f"read {path!r}"
        )
        return data

    @bounded_call
    def probe_size(self, path: str, entry: Entry) -> int:
        url = self._file_url(path, entry)
        what = f"size of {path!r}"
        with self._exchange("HEAD", url, {"Accept-Encoding": "identity"}, what=what) as r:
            length = r.headers.get("Content-Length", "")
            identity = r.headers.get("Content-Encoding", "identity") == "identity"
            if r.status == 200 and length.isdigit() and identity:
                return int(length)
            if r.status not in (200, 405, 501):
                raise status_error(r.status, what)
        # HEAD refused or without a length: ask for one byte and read the total.
        headers = {"Range": "bytes=0-0", "Accept-Encoding": "identity"}
        with self._exchange("GET", url, headers, what=what) as r:
            content_range = r.headers.get("Content-Range")
            if r.status == 206:
                cr = parse_content_range(content_range)
                if cr is not None and cr.first == 0 and cr.total is not None:
                    return cr.total
                raise ProtocolError(f"{what}: unusable Content-Range {content_range!r}")
            if r.status == 416:
                total = unsatisfied_total(content_range)
                if total is not None:
                    return total
                raise ProtocolError(f"{what}: 416 without a size")
            if r.status == 200:
                length = r.headers.get("Content-Length", "")
                if length.isdigit() and "Content-Encoding" not in r.headers:
                    return int(length)
                raise ProtocolError(f"{what}: the server gives no size")
            raise status_error(r.status, what)

    # -- listings ------------------------------------------------------

    def _fetch_listing(self, path: str) -> tuple[Listing, bytes]:
        cpp = self.is_copyparty
        url = self.base.url_path(path, is_dir=True, surrogatepass=self._surrogatepass)
        if cpp:
            url += "?ls&dots"
        what = f"list {path or '/'!r}"
        headers = {"Accept-Encoding": LISTING_ENCODINGS}

        def once() -> tuple[Listing, bytes]:
            with self._exchange("GET", url, headers, what=what) as r:
                if r.status != 200:
                    raise status_error(r.status, what)
                ctype = r.headers.get("Content-Type", "")
                if not _is_listing_type(ctype):
                    # copyparty answers ?ls on a file with the file itself.
                    raise NotFound(f"{what}: not a directory ({ctype})")
                body = self._read_all(r, limit=MAX_LISTING + 1)
                if len(body) > MAX_LISTING:
                    raise ProtocolError(f"{what}: listing larger than {MAX_LISTING >> 20} MiB")
            return self._parse(body, ctype, path), body

        try:
            listing, body = self._with_body_retries(once, what)
        except (NotFound, ListingError) as e:
            if path == "" and self._names_a_file():
                raise NotFound(
                    f"{self.base.url('').rstrip('/')}: the URL must name a folder, not a file"
                ) from None
            if isinstance(e, ListingError):
                raise ListingError(f"{self._origin}{url.split('?')[0]}: {e}") from None
            raise
        if self._forced is None and self._detected != listing.dialect:
            log.debug("%s: server looks like %s", self.base, listing.dialect)
            self._detected = listing.dialect
        for w in listing.warnings:
            log.warning("%s: %s", what, w)
        return listing, body

    def _names_a_file(self) -> bool:
        """After the root failed to list: is the base URL, without its "/", a file?

        Servers answer "file/" with a 404 (nginx, Apache, python), or with the
        file itself (lighttpd, copyparty's ``file/?ls``), while a folder without
        its "/" redirects (nginx, Apache, lighttpd, python) or lists (copyparty)
        -- and would have listed with it.  So a 200 here means a file.
        """
        if self.base.prefix == "/":
            return False
        url = self.base.url_path("").rstrip("/")
        headers = self._headers({"Accept-Encoding": "identity"})
        try:
            r = self._pool.urlopen("HEAD", url, headers)
        except EXCHANGE_ERRORS:
            return False
        r.finish()
        with self._lock:
            self.requests += 1
        log.debug("HEAD %s%s -> %d (is the URL a file?)", self._origin, url, r.status)
        return r.status == 200

    def _parse(self, body: bytes, ctype: str, path: str) -> Listing:
        parse_listing = _find_parse_listing()
        if parse_listing is not None:
            try:
                result = parse_listing(
                    body,
                    ctype,
                    url_path=self.base.url_path(
                        path, is_dir=True, surrogatepass=self._surrogatepass
                    ),
                    dialect=self._forced,
                )
            except TransportError:
                raise
            except ValueError as e:
                raise ProtocolError(f"unparseable listing of {path or '/'!r}: {e}") from None
            return result
        # Until the auto-detecting parser exists: copyparty's JSON only.
        if "json" in ctype.lower():
            return Listing(parse_copyparty_json(body), "cpp")
        raise ProtocolError(f"no parser for a {ctype or 'typeless'} listing of {path or '/'!r}")

    # -- reads ---------------------------------------------------------

    def _file_url(self, path: str, entry: Entry) -> str:
        """The request target (path and query, no origin) that downloads ``path``.

        Remembered per (path, file key, dialect): a file is read in many
        ranges, and quoting its name again for each one showed in profiles."""
        dialect = self.dialect
        ck = (path, entry.key, dialect)
        url = self._targets.get(ck)
        if url is not None:
            return url
        if dialect is not None and dialect not in COPYPARTY_DIALECTS:
            url = self.base.url_path(path, surrogatepass=dialect == "python")
        else:
            query = f"k={quote(entry.key, safe='')}&raw" if entry.key else "raw"
            url = f"{self.base.url_path(path)}?{query}"
        if len(self._targets) >= MAX_TARGETS:
            self._targets.clear()  # crude, but a re-quote is all a miss costs
        self._targets[ck] = url
        return url

    def _validator(self, key: tuple[str, Any], entry: Entry) -> str | None:
        if entry.etag and not entry.etag.startswith("W/"):
            return entry.etag
        with self._lock:
            seen = self._validators.get(key)
        if seen:
            return seen
        if self.dialect in COPYPARTY_DIALECTS and entry.mtime > 0:
            # copyparty's listing "ts" is the same whole second it sends as
            # Last-Modified, and it compares If-Range dates exactly.
            return _http_date(entry.mtime)
        return None

    def _remember(self, key: tuple[str, Any], r: Response) -> None:
        etag = r.headers.get("ETag")
        value = etag if etag and not etag.startswith("W/") else r.headers.get("Last-Modified")
        if value:
            with self._lock:
                self._validators[key] = value
                self._validators.move_to_end(key)
                while len(self._validators) > 4096:
                    self._validators.popitem(last=False)

    def _read_once(
        self, path: str, start: int, end: int, entry: Entry, key: tuple[str, Any]
    ) -> bytes:
        what = f"read {path!r}"
        headers = {"Range": range_header(start, end), "Accept-Encoding": "identity"}
        validator = self._validator(key, entry)
        if validator:
            headers["If-Range"] = validator
        with self._exchange("GET", self._file_url(path, entry), headers, what=what) as r:
            if r.status == 206:
                return self._partial(r, start, end, entry, key, what)
            if r.status == 200:
                return self._whole(r, start, end, entry, key, what, validator)
            if r.status == 416:
                total = unsatisfied_total(r.headers.get("Content-Range"))
                if entry.size is not None and total is not None and total != entry.size:
                    raise Changed(f"{what}: size is now {total}, was {entry.size}")
                return b""
            raise status_error(r.status, what)

    def _partial(
        self,
        r: Response,
        start: int,
        end: int,
        entry: Entry,
        key: tuple[str, Any],
        what: str,
    ) -> bytes:
        header = r.headers.get("Content-Range")
        cr = parse_content_range(header)
        if cr is None:
            raise ProtocolError(f"{what}: 206 with unusable Content-Range {header!r}")
        if entry.size is not None and cr.total is not None and cr.total != entry.size:
            raise Changed(f"{what}: size is now {cr.total}, was {entry.size}")
        if cr.first != start or cr.last != expected_last(start, end, cr.total):
            raise ProtocolError(f"{what}: asked for bytes {start}-{end - 1}, got {header!r}")
        want = cr.last - cr.first + 1
        data = self._read_exact(r, want)
        if len(data) != want:
            raise _ShortBody(f"{what}: got {len(data)} of {want} bytes")
        self._remember(key, r)
        return data

    def _whole(
        self,
        r: Response,
        start: int,
        end: int,
        entry: Entry,
        key: tuple[str, Any],
        what: str,
        validator: str | None,
    ) -> bytes:
        """A 200 to a Range request: If-Range failed, or the server ignores Range."""
        length_h = r.headers.get("Content-Length", "")
        length = int(length_h) if length_h.isdigit() else None
        if entry.size is not None and length is not None and length != entry.size:
            raise Changed(f"{what}: size is now {length}, was {entry.size}")
        if validator is not None:
            field = "ETag" if validator.startswith('"') else "Last-Modified"
            now = r.headers.get(field)
            if now is not None and now != validator:
                # Forget what we learnt about this version: if the listing still
                # describes it the same way, the next attempt starts afresh.
                with self._lock:
                    self._validators.pop(key, None)
                raise Changed(f"{what}: changed on the server ({field} {validator} -> {now})")
        if not self._said_no_ranges:
            self._said_no_ranges = True
            log.warning(
                "%s ignores Range requests: every read of a large file downloads it "
                "from the start (slow)",
                self.base.netloc,
            )
        small = length is not None and length <= self._small_body
        if small or (entry.size is not None and entry.size <= self._small_body):
            body = self._read_all(r, limit=self._small_body + 1)
            expect = length if length is not None else entry.size
            if expect is not None and len(body) < expect:
                raise _ShortBody(f"{what}: got {len(body)} of {expect} bytes")
            if entry.size is not None and len(body) != entry.size:
                raise Changed(f"{what}: size is now {len(body)}, was {entry.size}")
            self._remember(key, r)
            with self._lock:
                self._bodies[key] = body
                while len(self._bodies) > 8:
                    self._bodies.popitem(last=False)
            return body[start:end]
        # Large: skip to start, keep only [start, end), then drop the connection.
        out = bytearray()
        pos = 0
        while chunk := r.read(CHUNK):
            nxt = pos + len(chunk)
            if nxt > start:
                out += chunk[max(0, start - pos) : end - pos]
            pos = nxt
            if pos >= end:
                break
        available = end if length is None else min(end, length)
        if len(out) < available - start:
            raise _ShortBody(f"{what}: body ended at {pos}, wanted up to {end}")
        self._remember(key, r)
        return bytes(out)

    # -- exchanges -----------------------------------------------------

    def _with_body_retries(self, fn: Callable[[], Any], what: str) -> Any:
        """Repeat an exchange whose body broke off: the pool retries only up to
        the headers, a server dying mid-body is ours to retry."""
        last: BaseException | None = None
        for attempt in range(self._policy.retries + 1):
            if attempt:
                self._sleep(self._policy.delay(attempt - 1))
            try:
                return fn()
            except _ShortBody as e:
                last = e
                log.debug("%s: %s (attempt %d)", what, e, attempt + 1)
            except _BODY_ERRORS as e:
                last = e
                log.debug("%s: body broke off: %s (attempt %d)", what, e, attempt + 1)
        if isinstance(last, _ShortBody):
            raise ProtocolError(str(last))
        assert last is not None
        raise connection_error(last, self.base, what) from None

    def _read_exact(self, r: Response, want: int) -> bytes:
        """Up to ``want`` body bytes.  An unencoded body is read in one call
        (http.client loops until it has them all or the body ends), which is
        what keeps a 4 KiB read cheap."""
        if r.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
            return self._read_all(r, limit=want)
        data = r.read(want, decode_content=False)
        if len(data) < want and data:
            parts = [data]
            got = len(data)
            while got < want and (chunk := r.read(want - got, decode_content=False)):
                parts.append(chunk)
                got += len(chunk)
            data = b"".join(parts)
        return data

    def _read_all(self, r: Response, limit: int | None = None) -> bytes:
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

    def _headers(self, extra: dict[str, str]) -> dict[str, str | bytes]:
        """``extra`` on top of the headers every request carries (and the
        password: a request only ever goes to the mount's own origin)."""
        cpp = self.is_copyparty
        base = self._base_headers.get(cpp)
        if base is None:
            base = {"User-Agent": self._user_agent, "Accept": "*/*"}
            if self._creds is not None:
                base.update(self._creds.headers(copyparty=cpp))
            self._base_headers[cpp] = base
        return {**base, **extra}

    @contextlib.contextmanager
    def _exchange(
        self, method: str, url: str, headers: dict[str, str], *, what: str
    ) -> Iterator[Response]:
        """A streamed response for request target ``url``, finished on exit.

        Logs one debug line per exchange once its body is read, so ``-d``
        shows what each read asked for and what it cost."""
        t0 = time.monotonic()
        r, url = self._send(method, url, headers, what=what)
        try:
            yield r
        finally:
            if log.isEnabledFor(logging.DEBUG):
                _log_exchange(method, self._origin + url, r, headers.get("Range"), t0)
            r.finish()

    def _send(
        self, method: str, url: str, headers: dict[str, str], *, what: str
    ) -> tuple[Response, str]:
        """One request and the target that answered it, following redirects
        only within the mount's origin, so the password (PW header, Basic
        auth) never reaches another host."""
        hdrs = self._headers(headers)
        for _ in range(MAX_REDIRECTS + 1):
            t0 = time.monotonic()
            try:
                r = self._pool.urlopen(method, url, hdrs)
            except EXCHANGE_ERRORS as e:
                # the pool has already retried what was worth retrying
                raise connection_error(e, self.base, what) from None
            with self._lock:
                self.requests += 1
            location = r.headers.get("Location")
            if r.status not in (301, 302, 303, 307, 308) or location is None:
                return r, url
            target = urljoin(self._origin + url, location)
            log.debug(
                "%s %s%s -> %d, redirect to %s (%.0f ms)",
                method,
                self._origin,
                url,
                r.status,
                target,
                (time.monotonic() - t0) * 1000,
            )
            r.finish()  # a redirect's small body: keep the connection
            if origin_of(target) != self.base.origin:
                raise ProtocolError(
                    f"{what}: the server redirects to another site ({target.split('?')[0]}); "
                    "refusing to follow (mount that URL instead)"
                )
            if r.status == 303:
                method = "GET" if method != "HEAD" else method
            parts = urlsplit(target)
            url = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        raise ProtocolError(f"{what}: too many redirects")

    def _denied_hint(self, e: Forbidden) -> str:
        if self._creds is None:
            return "access denied; a password (-a) is probably needed"
        return "access denied; wrong password (-a)?"


__all__ = ["HttpTransport", "AUTH_HEADERS"]
