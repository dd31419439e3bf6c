"""HttpTransport: the core's Transport over HTTP(S), copyparty first -- the façade.

It wires three parts and holds no rule of its own:

- ``listing.Listings`` fetches listings and recognises the server (the
  dialect decides how files are downloaded);
- ``exchange.Exchange`` sends requests through the keep-alive pool, follows
  redirects within the origin and reads bodies;
- ``answers`` decides what each answer means for what was asked: take N
  bytes, cut a whole body, the file changed, an error.

Every read is a single-range GET whose answer is checked against what was
asked and against the version the listing described, so a read never mixes
two versions of a file.

Cache policy: this class keeps no file data.  The core's block cache holds
file bytes, inside the ``-cf`` memory bound; a server that ignores Range has
its whole body streamed past and only the asked span kept (the core pads a
small read to a whole small file, so such a file is still fetched once).
What is remembered here is per-file metadata -- request targets and
validators -- in ``memo.Memo``s of a fixed number of entries (see memo.py).

A little over 400 lines: the façade's public calls and the read path's
bookkeeping (which validator a read sends, what its answer taught, which
reads wait for a first answer) share those memos; the rules themselves are
in ``answers``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from urllib.parse import quote

from .. import __version__
from ..core.errors import Changed, Forbidden, ProtocolError, TransportError
from ..core.listings.copyparty import copyparty_access
from ..core.model import Entry, FileVersion, Listing
from . import tarbatch
from .answers import (
    AskWithGet,
    NothingToRead,
    Probed,
    ReadDecision,
    ReadRequest,
    SliceWhole,
    TakeBytes,
    decide_head,
    decide_probe_get,
    decide_read,
    parse_http_date,
    partial_body_error,
    resolved_entry,
    status_error,
    validator_seen,
    validator_to_send,
    whole_body_error,
)
from .auth import AUTH_HEADERS, Credentials
from .errors import connection_error
from .exchange import Exchange, cut, read_exact, read_pieces, read_slice
from .listing import COPYPARTY_DIALECTS, Listings
from .memo import KeyedLocks, Memo
from .pool import EXCHANGE_ERRORS, ConnectionPool, Response, bounded_call
from .ranges import range_header
from .retry import CALL_TIMEOUT, RetryPolicy, fit_call_timeout
from .tls import TlsOptions
from .urls import BaseUrl, parse_base_url

log = logging.getLogger(__name__)

#: A 200 body this small is read to its end when a server ignores Range (its
#: length is checked and the connection kept); a bigger one only up to the
#: asked end, then its connection is dropped.
SMALL_BODY = 1 << 20
#: Servers whose listings show they answer requests sent together on one
#: connection, in order (HTTP/1.1 pipelining): nginx, Apache, lighttpd and IIS
#: do.  Python's http.server closes after each answer, and a server not known
#: might wait for each answer to be read first: their files go one request at
#: a time.  copyparty gets a tar of the files instead.
PIPELINE_DIALECTS = frozenset({"nginx", "nginx-json", "nginx-xml", "apache", "lighttpd", "iis"})
#: Most requests sent together on one connection.
PIPELINE_MAX = 32
#: Pipelines in a row that brought at most one answer before the server
#: stops being sent them (it closes the connection after each answer).
PIPELINE_FAILURES = 2


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
        policy = retry or RetryPolicy()
        tls = tls or TlsOptions()
        if tls.insecure and self.base.scheme == "https":
            log.warning(
                "TLS certificate verification is disabled (-td): anyone on the path "
                "can read and alter what %s serves",
                self.base.netloc,
            )
        pool = ConnectionPool(
            self.base,
            tls,
            policy,
            (connect_timeout, read_timeout),
            sleep=sleep,
            deadline=fit_call_timeout(call_timeout),
        )
        self._pool = pool
        self._exchange = Exchange(
            self.base,
            pool,
            creds=self._creds,
            user_agent=f"partyfuse/{__version__}",
            policy=policy,
            sleep=sleep,
        )
        self._listings = Listings(self._exchange, dialect=dialect)
        self._small_body = small_body
        # Request targets of files, by (path, file key, dialect): a file is read
        # in many ranges, and quoting its name again for each showed in profiles.
        self._targets: Memo[tuple[str, str | None, str | None], str] = Memo()
        # Validators (strong ETag or Last-Modified) answers carried, by (path, version).
        self._validators: Memo[tuple[str, FileVersion], str] = Memo()
        # Versions whose answers carry no validator: their reads need not wait
        # for a first answer to tell one (see _read_once).
        self._unvalidated: Memo[tuple[str, FileVersion], bool] = Memo()
        self._first_answer: KeyedLocks[tuple[str, FileVersion]] = KeyedLocks()
        # Last-Modified of files read while their listing showed no time, by
        # path: (size read, date), so the next listing of that size shows it.
        self._dates: Memo[str, tuple[int, float]] = Memo()
        self._said_no_ranges = False
        self._batches_refused = False
        self._pipelines_cut = 0  # pipelines in a row that ended at their first answer

    # -- public --------------------------------------------------------

    @property
    def dialect(self) -> str | None:
        """The forced dialect, else what the listings turned out to be (None before any)."""
        return self._listings.dialect

    @property
    def is_copyparty(self) -> bool:
        return self._listings.is_copyparty

    @property
    def requests(self) -> int:
        """HTTP requests sent so far (each redirect hop counts)."""
        return self._exchange.requests

    @property
    def connections_made(self) -> int:
        """TCP connections opened so far (keep-alive reuse keeps this low)."""
        return self._pool.connections_made

    def close(self) -> None:
        self._exchange.close()

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def list_dir(self, path: str) -> list[Entry]:
        return self.list_dir_full(path).entries

    @bounded_call
    def list_dir_full(self, path: str) -> Listing:
        listing, _body = self._listings.fetch(path)
        if len(self._dates):
            listing = self._dated(path, listing)
        return listing

    def _dated(self, path: str, listing: Listing) -> Listing:
        """``listing`` with the dates reads saw for files it shows without a time."""
        prefix = f"{path}/" if path else ""
        out: list[Entry] = []
        for e in listing.entries:
            seen = None if e.is_dir or e.mtime else self._dates.get(prefix + e.name)
            if seen is not None and seen[0] == e.size:
                e = replace(e, mtime=seen[1])
            out.append(e)
        return replace(listing, entries=out)

    @bounded_call
    def check(self) -> None:
        """Mount-time check that the root can be listed with the given password.

        copyparty does not always say 403: a protected *root* volume answers a
        wrong password with an empty 200 listing whose ``perms`` lack "read"
        and whose ``acct`` is "*" (anonymous) -- so that is checked too.
        """
        try:
            listing, body = self._listings.fetch("")
        except Forbidden:
            hint = "wrong password (-a)?" if self._creds else "a password (-a) is probably needed"
            raise Forbidden(f"cannot list {self.base}: access denied; {hint}") from None
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
        (data,) = self._read_pieces(path, start, end, entry, 0)  # no size: one piece
        return data

    @bounded_call
    def read_blocks(self, path: str, start: int, end: int, entry: Entry, size: int) -> list[bytes]:
        """``read_range`` in pieces of ``size`` bytes, each read from the socket
        straight into its own bytes (core.transport.BlockTransport)."""
        if size <= 0:
            raise ValueError(f"bad piece size {size}")
        return self._read_pieces(path, start, end, entry, size)

    def _read_pieces(self, path: str, start: int, end: int, entry: Entry, size: int) -> list[bytes]:
        if start < 0 or end < start:
            raise ValueError(f"bad range [{start}, {end})")
        if entry.size is not None:
            end = min(end, entry.size)
        if end <= start:
            return [b""]
        return self._exchange.with_body_retries(
            lambda: self._read_once(path, start, end, entry, size), f"read {path!r}"
        )

    @bounded_call
    def probe(self, path: str, entry: Entry) -> Entry:
        """``entry`` with its exact size, and the file's Last-Modified where the
        listing showed no time (HEAD, or a one-byte GET when HEAD gives no length)."""
        target = self._file_url(path, entry)
        what = f"size of {path!r}"
        cpp = self.is_copyparty
        ex = self._exchange
        identity = {"Accept-Encoding": "identity"}
        with ex.open("HEAD", target, identity, what=what, copyparty=cpp) as r:
            decision = decide_head(r.status, r.headers, what, time.time())
        if isinstance(decision, AskWithGet):
            ranged = {"Range": "bytes=0-0", **identity}
            with ex.open("GET", target, ranged, what=what, copyparty=cpp) as r:
                decision = decide_probe_get(r.status, r.headers, what, time.time())
        if isinstance(decision, Probed):
            return resolved_entry(entry, decision)
        assert not isinstance(decision, AskWithGet)
        raise decision.error

    @bounded_call
    def probe_size(self, path: str, entry: Entry) -> int:
        """The exact size of a file whose listing gave none (see ``probe``)."""
        size = self.probe(path, entry).size
        assert size is not None
        return size

    @property
    def batch_files(self) -> bool:
        """Whether ``read_files`` works here: copyparty's tar of chosen files,
        until the server refused one (``--no-zip``, archives for admins only);
        pipelined GETs on servers that take them (``PIPELINE_DIALECTS``),
        until pipelines keep ending at their first answer.  False until a
        listing showed which server it is."""
        dialect = self.dialect
        if dialect in COPYPARTY_DIALECTS:
            return not self._batches_refused
        return dialect in PIPELINE_DIALECTS and self._pipelines_cut < PIPELINE_FAILURES

    def read_files(self, folder: str, entries: Sequence[Entry]) -> Iterator[tuple[Entry, bytes]]:
        """Several files of directory ``folder``, with few requests.

        copyparty: one request (a tar, see tarbatch.py); it yields (entry,
        bytes) only for files whose name, size and whole-second mtime in the
        archive equal ``entries'``.  Other servers (``PIPELINE_DIALECTS``):
        each file's whole-file GET, sent together on one connection, each
        answer judged as a ``read_range`` of the whole file would judge it.
        Each file at most once, in any order; any other file is skipped.  A
        body cut short yields the files complete before the cut, then raises
        (ProtocolError, Transient): whatever was not yielded is for
        ``read_range``.  Not retried -- the caller falls back to single reads.
        Where ``batch_files`` is False, raises ProtocolError without sending
        anything.
        """
        if not self.batch_files:
            raise ProtocolError(f"{self.base}: this server takes no batch downloads")
        if self.dialect not in COPYPARTY_DIALECTS:
            return self._pipelined(folder, entries)
        wanted = {e.name: e for e in entries if tarbatch.askable(e)}
        if len(wanted) > tarbatch.MAX_FILES:
            raise ValueError(f"at most {tarbatch.MAX_FILES} files per batch")
        return self._batch(folder, wanted)

    def _pipelined(self, folder: str, entries: Sequence[Entry]) -> Iterator[tuple[Entry, bytes]]:
        reads = []
        for entry in entries:
            if entry.is_dir or not entry.size or entry.size > self._small_body:
                continue
            path = f"{folder}/{entry.name}" if folder else entry.name
            key = (path, entry.version())
            validator = validator_to_send(entry, self._validators.get(key), copyparty=False)
            req, headers = _ranged(path, 0, entry.size, entry, validator)
            reads.append((req, key, self._file_url(path, entry), headers))
        for first in range(0, len(reads), PIPELINE_MAX):
            part = reads[first : first + PIPELINE_MAX]
            what = f"{len(part)} files of {folder or '/'!r}"
            answers = self._exchange.pipeline([(t, h) for _, _, t, h in part], what=what)
            came = 0
            try:
                for (req, key, _, _), r in zip(part, answers, strict=True):
                    came += 1
                    decision = decide_read(
                        req, r.status, r.headers, small_body=self._small_body, now=time.time()
                    )
                    try:
                        (data,) = self._take(req, decision, r, key)
                    except Changed:
                        self._forget(key)
                        continue
                    except TransportError:
                        continue  # not found, refused, a wrong answer: read alone, if at all
                    except EXCHANGE_ERRORS as e:
                        raise connection_error(e, self.base, req.what) from None
                    yield req.entry, data
            finally:
                answers.close()
                if len(part) > 1:
                    self._pipelines_cut = self._pipelines_cut + 1 if came <= 1 else 0

    def _batch(self, folder: str, wanted: dict[str, Entry]) -> Iterator[tuple[Entry, bytes]]:
        if not wanted:
            return
        body, ctype = tarbatch.form_body(list(wanted))
        target = self.base.url_path(folder, is_dir=True) + "?tar"
        what = f"batch of {len(wanted)} files in {folder or '/'!r}"
        headers = {"Content-Type": ctype, "Accept-Encoding": "identity"}
        with self._exchange.open(
            "POST", target, headers, what=what, copyparty=True, body=body
        ) as r:
            if r.status != 200:
                if 400 <= r.status < 500 and r.status != 429:
                    self._batches_refused = True
                    log.info(
                        "%s refuses archives (HTTP %d): small files are fetched one by one",
                        self.base.netloc,
                        r.status,
                    )
                raise status_error(r.status, what)
            try:
                yield from tarbatch.members(r.read, wanted)
            except EXCHANGE_ERRORS as e:
                raise connection_error(e, self.base, what) from None

    # -- reads ---------------------------------------------------------

    def _file_url(self, path: str, entry: Entry) -> str:
        """The request target (path and query, no origin) that downloads ``path``."""
        dialect = self.dialect
        key = (path, entry.key, dialect)
        target = self._targets.get(key)
        if target is not None:
            return target
        if dialect is not None and dialect not in COPYPARTY_DIALECTS:
            target = self.base.url_path(path, surrogatepass=dialect == "python")
        else:
            query = f"k={quote(entry.key, safe='')}&raw" if entry.key else "raw"
            target = f"{self.base.url_path(path)}?{query}"
        self._targets.put(key, target)
        return target

    def _read_once(self, path: str, start: int, end: int, entry: Entry, size: int) -> list[bytes]:
        key = (path, entry.version())
        copyparty = self.dialect in COPYPARTY_DIALECTS
        validator = validator_to_send(entry, self._validators.get(key), copyparty=copyparty)
        if validator is None and self._unvalidated.get(key) is None:
            # No validator known yet (listings other than copyparty's show no
            # ETag): one read at a time until an answer tells it, so that the
            # windows read ahead beside this one go out with If-Range; sent
            # together without it, a file replaced between two of them gave
            # one handle old and new bytes (nginx, tests/mount/test_changing.py).
            with self._first_answer.held(key):
                validator = validator_to_send(entry, self._validators.get(key), copyparty=copyparty)
                return self._read_with(path, start, end, entry, key, validator, size)
        return self._read_with(path, start, end, entry, key, validator, size)

    def _read_with(
        self,
        path: str,
        start: int,
        end: int,
        entry: Entry,
        key: tuple[str, FileVersion],
        validator: str | None,
        size: int,
    ) -> list[bytes]:
        req, headers = _ranged(path, start, end, entry, validator)
        target = self._file_url(path, entry)
        with self._exchange.open(
            "GET", target, headers, what=req.what, copyparty=self.is_copyparty
        ) as r:
            decision = decide_read(
                req, r.status, r.headers, small_body=self._small_body, now=time.time()
            )
            try:
                return self._take(req, decision, r, key, size)
            except Changed:
                self._forget(key)
                raise

    def _forget(self, key: tuple[str, FileVersion]) -> None:
        """Forget what was learnt about a version that changed: if the listing
        still describes it the same way, the next attempt starts afresh."""
        self._validators.pop(key)
        self._dates.pop(key[0])

    def _take(
        self,
        req: ReadRequest,
        decision: ReadDecision,
        r: Response,
        key: tuple[str, FileVersion],
        size: int = 0,
    ) -> list[bytes]:
        """Carry out what ``answers.decide_read`` said about the answer ``r``:
        its bytes, in pieces of ``size`` when given (else one)."""
        if isinstance(decision, TakeBytes):
            if size and decision.length > size:
                pieces = read_pieces(r, decision.length, size)
            else:
                pieces = [read_exact(r, decision.length)]
            short = partial_body_error(req, decision.length, sum(len(p) for p in pieces))
            if short is not None:
                raise short
        elif isinstance(decision, SliceWhole):
            self._warn_no_ranges()
            data, body_len = read_slice(
                r,
                decision.start,
                decision.end,
                to_the_end=decision.to_the_end,
                limit=self._small_body + 1,
            )
            bad = whole_body_error(req, decision, body_len, len(data))
            if bad is not None:
                raise bad
            # cut up when pieces were asked for (a server that ignores Range: rare)
            pieces = cut(data, size) if size else [data]
        elif isinstance(decision, NothingToRead):
            return [b""]
        else:
            raise decision.error
        seen = validator_seen(r.headers)
        if seen:
            self._validators.put(key, seen)
        else:
            self._unvalidated.put(key, True)
        if not req.entry.mtime and req.entry.size is not None:
            date = parse_http_date(r.headers.get("Last-Modified"))
            if date is not None:
                self._dates.put(req.path, (req.entry.size, date))
        return pieces

    def _warn_no_ranges(self) -> None:
        if not self._said_no_ranges:
            self._said_no_ranges = True
            log.warning(
                "%s ignores Range requests: every read of a large file downloads it "
                "from the start (slow)",
                self.base.netloc,
            )


def _ranged(
    path: str, start: int, end: int, entry: Entry, validator: str | None
) -> tuple[ReadRequest, dict[str, str]]:
    """A read of ``[start, end)`` and the headers that ask for it (If-Range
    with ``validator``, when there is one)."""
    headers = {"Range": range_header(start, end), "Accept-Encoding": "identity"}
    if validator:
        headers["If-Range"] = validator
    return ReadRequest(path, start, end, entry, validator), headers


__all__ = ["AUTH_HEADERS", "PIPELINE_DIALECTS", "PIPELINE_MAX", "HttpTransport", "SMALL_BODY"]
