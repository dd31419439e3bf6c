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
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import requests
import urllib3

from ..core.errors import Changed, Forbidden, NotFound, ProtocolError, TransportError
from ..core.listings import ListingError
from ..core.listings.copyparty import copyparty_access, parse_copyparty_json
from ..core.model import Entry, Listing
from .auth import AUTH_HEADERS, Credentials
from .errors import connection_error, status_error
from .ranges import expected_last, parse_content_range, range_header, unsatisfied_total
from .session import RetryPolicy, SessionPool
from .tls import TlsOptions
from .urls import BaseUrl, origin_of, parse_base_url

log = logging.getLogger(__name__)

#: Listing dialects that are copyparty, whose downloads take ``?raw``.
COPYPARTY_DIALECTS = frozenset({"cpp", "cpp-html"})
#: Bodies this small are kept whole when a server ignores Range.
SMALL_BODY = 1 << 20
MAX_REDIRECTS = 5
#: A listing bigger than this is a broken or hostile server, not a directory.
MAX_LISTING = 256 << 20
#: Leftover body bytes worth reading to keep a connection alive.
DRAIN_MAX = 64 << 10
_BODY_ERRORS: tuple[type[BaseException], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.Timeout,
    requests.exceptions.ContentDecodingError,
    # raw reads (the fast path for 206 bodies) raise urllib3's own errors
    urllib3.exceptions.HTTPError,
    OSError,
)
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


def _finish(r: requests.Response) -> None:
    """Give the connection back for keep-alive when what is left of the body is
    small, else close it.  (requests' Response.close() closes the socket of any
    body read through ``raw``, which would cost a new TCP connection per range.)"""
    raw = r.raw
    remaining = getattr(raw, "length_remaining", None)
    if remaining is not None and remaining <= DRAIN_MAX:
        try:
            raw.drain_conn()
            raw.release_conn()
            return
        except Exception:  # noqa: BLE001 - a broken connection is just closed
            pass
    r.close()


_READ_ATTR = "_partyfuse_body_bytes"


def _count(r: requests.Response, n: int) -> None:
    """Tally body bytes read for the debug line (urllib3's tell() misses chunked bodies)."""
    setattr(r, _READ_ATTR, getattr(r, _READ_ATTR, 0) + n)


def _log_exchange(method: str, r: requests.Response, rng: str | None, t0: float) -> None:
    log.debug(
        "%s %s%s -> %d, %d bytes, %.0f ms",
        method,
        r.url,
        f" Range: {rng}" if rng else "",
        r.status_code,
        getattr(r, _READ_ATTR, 0),
        (time.monotonic() - t0) * 1000,
    )


def _http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


def _is_listing_type(ctype: str) -> bool:
    ctype = ctype.split(";")[0].strip().lower()
    return ctype.startswith("text/") or ctype.endswith(("json", "xml", "html")) or not ctype


class HttpTransport:
    """Transport over HTTP(S); thread-safe (keep-alive sessions lent per exchange)."""

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
            # said once here, instead of urllib3's warning on every request
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self._pool = SessionPool(tls, self._policy)
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

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def list_dir(self, path: str) -> list[Entry]:
        return self.list_dir_full(path).entries

    def list_dir_full(self, path: str) -> Listing:
        listing, _body = self._fetch_listing(path)
        return listing

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

    def probe_size(self, path: str, entry: Entry) -> int:
        url = self._file_url(path, entry)
        what = f"size of {path!r}"
        with self._exchange("HEAD", url, {"Accept-Encoding": "identity"}, what=what) as r:
            length = r.headers.get("Content-Length", "")
            identity = r.headers.get("Content-Encoding", "identity") == "identity"
            if r.status_code == 200 and length.isdigit() and identity:
                return int(length)
            if r.status_code not in (200, 405, 501):
                raise status_error(r.status_code, what)
        # HEAD refused or without a length: ask for one byte and read the total.
        headers = {"Range": "bytes=0-0", "Accept-Encoding": "identity"}
        with self._exchange("GET", url, headers, what=what) as r:
            content_range = r.headers.get("Content-Range")
            if r.status_code == 206:
                cr = parse_content_range(content_range)
                if cr is not None and cr.first == 0 and cr.total is not None:
                    return cr.total
                raise ProtocolError(f"{what}: unusable Content-Range {content_range!r}")
            if r.status_code == 416:
                total = unsatisfied_total(content_range)
                if total is not None:
                    return total
                raise ProtocolError(f"{what}: 416 without a size")
            if r.status_code == 200:
                length = r.headers.get("Content-Length", "")
                if length.isdigit() and "Content-Encoding" not in r.headers:
                    return int(length)
                raise ProtocolError(f"{what}: the server gives no size")
            raise status_error(r.status_code, what)

    # -- listings ------------------------------------------------------

    def _fetch_listing(self, path: str) -> tuple[Listing, bytes]:
        cpp = self.is_copyparty
        url = self.base.url(
            path, is_dir=True, query="ls&dots" if cpp else "", surrogatepass=self._surrogatepass
        )
        what = f"list {path or '/'!r}"

        def once() -> tuple[Listing, bytes]:
            with self._exchange("GET", url, {}, what=what) as r:
                if r.status_code != 200:
                    raise status_error(r.status_code, what)
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
                raise ListingError(f"{url.split('?')[0]}: {e}") from None
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
        url = self.base.url("").rstrip("/")
        headers: dict[str, str | bytes] = {"Accept-Encoding": "identity"}
        headers.update(self._auth_headers())
        try:
            with self._pool.session() as session:
                r = session.head(url, headers=headers, timeout=self._timeout, allow_redirects=False)
                r.close()
        except requests.exceptions.RequestException:
            return False
        with self._lock:
            self.requests += 1
        log.debug("HEAD %s -> %d (is the URL a file?)", url, r.status_code)
        return r.status_code == 200

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
        if not self.is_copyparty:
            return self.base.url(path, surrogatepass=self._surrogatepass)
        query = f"k={quote(entry.key, safe='')}&raw" if entry.key else "raw"
        return self.base.url(path, query=query)

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

    def _remember(self, key: tuple[str, Any], r: requests.Response) -> None:
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
            if r.status_code == 206:
                return self._partial(r, start, end, entry, key, what)
            if r.status_code == 200:
                return self._whole(r, start, end, entry, key, what, validator)
            if r.status_code == 416:
                total = unsatisfied_total(r.headers.get("Content-Range"))
                if entry.size is not None and total is not None and total != entry.size:
                    raise Changed(f"{what}: size is now {total}, was {entry.size}")
                return b""
            raise status_error(r.status_code, what)

    def _partial(
        self,
        r: requests.Response,
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
        r: requests.Response,
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
        for chunk in r.iter_content(1 << 16):
            _count(r, len(chunk))
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
        """Repeat an exchange whose body broke off: urllib3 retries only up to
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
        raise connection_error(last, self.base, what) from None  # type: ignore[arg-type]

    def _read_exact(self, r: requests.Response, want: int) -> bytes:
        """Up to ``want`` body bytes; reads straight from urllib3 when the body is
        not encoded (nearly twice as fast as iter_content's 64 KiB steps)."""
        if r.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
            return self._read_all(r, limit=want)
        parts: list[bytes] = []
        got = 0
        while got < want:
            chunk = r.raw.read(want - got)
            if not chunk:
                break
            parts.append(chunk)
            _count(r, len(chunk))
            got += len(chunk)
        return b"".join(parts)

    def _read_all(self, r: requests.Response, limit: int | None = None) -> bytes:
        out = bytearray()
        for chunk in r.iter_content(1 << 16):
            out += chunk
            _count(r, len(chunk))
            if limit is not None and len(out) >= limit:
                del out[limit:]
                break
        return bytes(out)

    def _auth_headers(self) -> dict[str, str | bytes]:
        if self._creds is None:
            return {}
        return self._creds.headers(copyparty=self.is_copyparty)

    @contextlib.contextmanager
    def _exchange(
        self, method: str, url: str, headers: dict[str, str], *, what: str
    ) -> Iterator[requests.Response]:
        """A streamed response, closed (and its session given back) on exit.

        Logs one debug line per exchange once its body is read, so ``-d``
        shows what each read asked for and what it cost."""
        t0 = time.monotonic()
        with self._pool.session() as session:
            r = self._send(session, method, url, headers, what=what)
            try:
                yield r
            finally:
                if log.isEnabledFor(logging.DEBUG):
                    _log_exchange(method, r, headers.get("Range"), t0)
                _finish(r)

    def _send(
        self,
        session: requests.Session,
        method: str,
        url: str,
        headers: dict[str, str],
        *,
        what: str,
    ) -> requests.Response:
        """One request, following redirects only within the mount's origin so
        the password (PW header, Basic auth) never reaches another host."""
        for _ in range(MAX_REDIRECTS + 1):
            hdrs: dict[str, str | bytes] = {**headers}
            if origin_of(url) == self.base.origin:
                hdrs.update(self._auth_headers())
            t0 = time.monotonic()
            try:
                r = session.request(
                    method,
                    url,
                    headers=hdrs,
                    stream=True,
                    timeout=self._timeout,
                    allow_redirects=False,
                )
            except requests.exceptions.RequestException as e:
                # urllib3 has already retried what was worth retrying.
                raise connection_error(e, self.base, what) from None
            with self._lock:
                self.requests += 1
            if r.status_code not in (301, 302, 303, 307, 308) or "Location" not in r.headers:
                return r
            target = requests.compat.urljoin(url, r.headers["Location"])
            log.debug(
                "%s %s -> %d, redirect to %s (%.0f ms)",
                method,
                url,
                r.status_code,
                target,
                (time.monotonic() - t0) * 1000,
            )
            _finish(r)  # a redirect's small body: keep the connection
            if origin_of(target) != self.base.origin:
                raise ProtocolError(
                    f"{what}: the server redirects to another site ({target.split('?')[0]}); "
                    "refusing to follow (mount that URL instead)"
                )
            if r.status_code == 303:
                method = "GET" if method != "HEAD" else method
            url = target
        raise ProtocolError(f"{what}: too many redirects")

    def _denied_hint(self, e: Forbidden) -> str:
        if self._creds is None:
            return "access denied; a password (-a) is probably needed"
        return "access denied; wrong password (-a)?"


__all__ = ["HttpTransport", "AUTH_HEADERS"]
