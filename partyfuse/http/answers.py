"""What an HTTP answer means for what was asked: the transport's rules, without a socket.

Every rule that decides whether an answer is acceptable lives here, the way
h11 keeps its protocol state apart from IO: functions take what was asked
(a ``ReadRequest``: the span, the entry's size and version, the validator
sent) and what came back (a status and headers, plain values) and answer
with a decision the exchange code then carries out.  Nothing here reads a
body or opens a connection, so every rule is tested with plain values
(tests/http/test_answers.py), one row per way a server can misbehave.

Reads (a single-range GET, ``If-Range`` when a validator is known):

- 206: its ``Content-Range`` must be exactly the span asked for (clipped at
  the end of the file) and carry the size the entry has -- another total is
  the file having changed, another span a protocol error -- then exactly
  that many bytes are read (``TakeBytes``).
- 200: the server ignores Range, or the validator failed.  A validator the
  answer contradicts, or a length other than the entry's size, is the file
  having changed; otherwise the body is streamed and ``[start, end)`` cut
  out of it (``SliceWhole``); a small body is read to its end (its length is
  checked, the connection stays alive), a large one only up to ``end``.
- 416: at or past the end of the file (``NothingToRead``) unless its size is
  another than the entry's (changed) or the span starts inside the file.
- 404/410, 401/403, 429 and 5xx, anything else: typed errors; 429 and 5xx
  carry the delay a ``Retry-After`` asked for (``RetryLater``).

Bodies: ``partial_body_error`` / ``whole_body_error`` judge how many bytes
actually arrived; a body that ends early is a ``ShortBody``, worth another
attempt.  Probes (HEAD, or a one-byte GET when HEAD gives no length) answer
with a ``Probed`` size and the file's ``Last-Modified``.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from typing import Protocol

from ..core.errors import Changed, Forbidden, NotFound, ProtocolError, Transient, TransportError
from ..core.model import Entry
from .ranges import expected_last, parse_content_range, unsatisfied_total


class Headers(Protocol):
    """A response's headers by name (the pool's are case-insensitive; a dict will do in tests)."""

    def get(self, name: str, /) -> str | None: ...


@dataclass(frozen=True)
class ReadRequest:
    """One read as asked: ``[start, end)`` of ``path``, expected to be ``entry``'s version."""

    path: str
    start: int
    end: int
    entry: Entry
    validator: str | None = None
    """What was sent as ``If-Range`` (a strong ETag, or an HTTP date)."""

    @property
    def what(self) -> str:
        """How errors name this read."""
        return f"read {self.path!r}"


@dataclass(frozen=True)
class TakeBytes:
    """A 206 that fits: read exactly ``length`` body bytes."""

    length: int


@dataclass(frozen=True)
class SliceWhole:
    """A 200 carrying the whole file: keep ``[start, end)`` of its body."""

    start: int
    end: int
    length: int | None
    """The body's Content-Length, when the server said."""
    to_the_end: bool
    """Read the body to its end (small: its length is checked and the
    connection kept); otherwise stop at ``end`` and drop the connection."""


@dataclass(frozen=True)
class NothingToRead:
    """A 416 at or past the end of the file: an empty read."""


@dataclass(frozen=True)
class Fail:
    """The answer is an error; raise it."""

    error: TransportError


@dataclass(frozen=True)
class RetryLater:
    """Busy or failing server (429, 5xx): an error, and the pause it asked for."""

    error: TransportError
    delay: float | None


ReadDecision = TakeBytes | SliceWhole | NothingToRead | Fail | RetryLater


@dataclass(frozen=True)
class Probed:
    """A file's exact size and, when the answer had one, its ``Last-Modified``."""

    size: int
    mtime: float | None


@dataclass(frozen=True)
class AskWithGet:
    """HEAD gave no usable length: ask for one byte and read the total."""


ProbeDecision = Probed | AskWithGet | Fail | RetryLater


class ShortBody(Exception):
    """A body ended before the bytes its headers promised; worth another attempt."""


# -- statuses -----------------------------------------------------------------


def retry_delay(value: str | None, now: float) -> float | None:
    """Seconds a ``Retry-After`` (delay or HTTP date) asks for, never negative."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def status_error(status: int, what: str) -> TransportError:
    """The typed error an unwanted status stands for."""
    if status in (404, 410):
        return NotFound(f"{what}: not found (HTTP {status})")
    if status in (401, 403):
        return Forbidden(f"{what}: access denied (HTTP {status}); wrong or missing password (-a)?")
    if status == 429:
        return Transient(f"{what}: the server is busy (HTTP 429, too many requests)")
    if status >= 500:
        return Transient(f"{what}: server error (HTTP {status})")
    return ProtocolError(f"{what}: unexpected HTTP {status}")


def refuse(status: int, headers: Headers, what: str, now: float = 0.0) -> Fail | RetryLater:
    """An answer with an unwanted status: a busy or failing server may be asked again."""
    error = status_error(status, what)
    if status == 429 or status >= 500:
        return RetryLater(error, retry_delay(headers.get("Retry-After"), now))
    return Fail(error)


# -- validators ---------------------------------------------------------------


def http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


def parse_http_date(value: str | None) -> float | None:
    """Epoch seconds of an HTTP date (``Last-Modified``); None when absent or unreadable."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; an odd server may omit it
        return None
    try:
        stamp = when.timestamp()
    except (OverflowError, OSError, ValueError):
        return None
    return stamp if stamp > 0 else None


def validator_to_send(entry: Entry, remembered: str | None, *, copyparty: bool) -> str | None:
    """The ``If-Range`` value guarding a read of ``entry``'s version, if any.

    A strong ETag from the listing first, then one an earlier answer for this
    version carried; copyparty's listing "ts" is the whole second it sends as
    Last-Modified, and it compares If-Range dates exactly, so that serves too.
    """
    if entry.etag and not entry.etag.startswith("W/"):
        return entry.etag
    if remembered:
        return remembered
    if copyparty and entry.mtime > 0:
        return http_date(entry.mtime)
    return None


def validator_seen(headers: Headers) -> str | None:
    """The validator an answer carries: its strong ETag, else its Last-Modified."""
    etag = headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return headers.get("Last-Modified")


# -- reads --------------------------------------------------------------------


def _length(headers: Headers) -> int | None:
    value = headers.get("Content-Length") or ""
    return int(value) if value.isascii() and value.isdigit() else None


def _validator_contradicted(req: ReadRequest, headers: Headers) -> str | None:
    """How a ranged answer's validator contradicts the one the read sent, if it
    does: a server that ignored If-Range (or answered a request sent before the
    validator was known) must not get another version's bytes into this one."""
    if req.validator is None:
        return None
    field = "ETag" if req.validator.startswith('"') else "Last-Modified"
    now_value = headers.get(field)
    if now_value is not None and now_value != req.validator:
        return f"{field} {req.validator} -> {now_value}"
    return None


def decide_read(
    req: ReadRequest, status: int, headers: Headers, *, small_body: int, now: float = 0.0
) -> ReadDecision:
    """What to do with the answer to ``req`` (see the module docstring)."""
    what, size = req.what, req.entry.size
    if status == 206:
        header = headers.get("Content-Range")
        cr = parse_content_range(header)
        if cr is None:
            return Fail(ProtocolError(f"{what}: 206 with unusable Content-Range {header!r}"))
        if size is not None and cr.total is not None and cr.total != size:
            return Fail(Changed(f"{what}: size is now {cr.total}, was {size}"))
        if cr.first != req.start or cr.last != expected_last(req.start, req.end, cr.total):
            return Fail(
                ProtocolError(f"{what}: asked for bytes {req.start}-{req.end - 1}, got {header!r}")
            )
        changed = _validator_contradicted(req, headers)
        if changed is not None:
            return Fail(Changed(f"{what}: changed on the server ({changed})"))
        return TakeBytes(cr.last - cr.first + 1)
    if status == 200:
        length = _length(headers)
        if size is not None and length is not None and length != size:
            return Fail(Changed(f"{what}: size is now {length}, was {size}"))
        changed = _validator_contradicted(req, headers)
        if changed is not None:
            return Fail(Changed(f"{what}: changed on the server ({changed})"))
        small = (length is not None and length <= small_body) or (
            size is not None and size <= small_body
        )
        return SliceWhole(req.start, req.end, length, small)
    if status == 416:
        total = unsatisfied_total(headers.get("Content-Range"))
        if size is not None and total is not None and total != size:
            return Fail(Changed(f"{what}: size is now {total}, was {size}"))
        if total is not None and req.start < total:
            return Fail(ProtocolError(f"{what}: bytes {req.start}- refused in a {total}-byte file"))
        return NothingToRead()
    return refuse(status, headers, what, now)


def partial_body_error(req: ReadRequest, want: int, got: int) -> ShortBody | None:
    """After a ``TakeBytes``: whether the body held the bytes it promised."""
    if got != want:
        return ShortBody(f"{req.what}: got {got} of {want} bytes")
    return None


def whole_body_error(
    req: ReadRequest, decision: SliceWhole, body_len: int, kept: int
) -> TransportError | ShortBody | None:
    """After a ``SliceWhole``: ``body_len`` bytes of body seen, ``kept`` of them kept.

    Read to its end, the body must be as long as promised (else short, worth
    another try) and as long as the entry (else another version); cut at
    ``end``, it must have reached ``end`` or the end of the file.
    """
    size = req.entry.size
    if decision.to_the_end:
        expect = decision.length if decision.length is not None else size
        if expect is not None and body_len < expect:
            return ShortBody(f"{req.what}: got {body_len} of {expect} bytes")
        if size is not None and body_len != size:
            return Changed(f"{req.what}: size is now {body_len}, was {size}")
        return None
    available = req.end if decision.length is None else min(req.end, decision.length)
    if kept < available - req.start:
        return ShortBody(f"{req.what}: body ended at {body_len}, wanted up to {req.end}")
    return None


# -- probes -------------------------------------------------------------------


def _identity(headers: Headers) -> bool:
    return (headers.get("Content-Encoding") or "identity").strip().lower() == "identity"


def decide_head(status: int, headers: Headers, what: str, now: float = 0.0) -> ProbeDecision:
    """A HEAD's answer: the size and date, or ask again with a ranged GET."""
    length = _length(headers)
    if status == 200 and length is not None and _identity(headers):
        return Probed(length, parse_http_date(headers.get("Last-Modified")))
    if status in (200, 405, 501):
        return AskWithGet()
    return refuse(status, headers, what, now)


def decide_probe_get(status: int, headers: Headers, what: str, now: float = 0.0) -> ProbeDecision:
    """The answer to ``Range: bytes=0-0``: the total from Content-Range, or a 200's length."""
    mtime = parse_http_date(headers.get("Last-Modified"))
    content_range = headers.get("Content-Range")
    if status == 206:
        cr = parse_content_range(content_range)
        if cr is not None and cr.first == 0 and cr.total is not None:
            return Probed(cr.total, mtime)
        return Fail(ProtocolError(f"{what}: unusable Content-Range {content_range!r}"))
    if status == 416:
        total = unsatisfied_total(content_range)
        if total is not None:
            return Probed(total, mtime)
        return Fail(ProtocolError(f"{what}: 416 without a size"))
    if status == 200:
        length = _length(headers)
        if length is not None and headers.get("Content-Encoding") is None:
            return Probed(length, mtime)
        return Fail(ProtocolError(f"{what}: the server gives no size"))
    return refuse(status, headers, what, now)


def resolved_entry(entry: Entry, probed: Probed) -> Entry:
    """``entry`` with the probed size, and the server's date where the listing showed none."""
    mtime = entry.mtime if entry.mtime > 0 or probed.mtime is None else probed.mtime
    return Entry(entry.name, entry.is_dir, probed.size, mtime, entry.key, entry.etag)


# -- listings -----------------------------------------------------------------


def is_listing_type(content_type: str) -> bool:
    """Whether a Content-Type can be a listing (copyparty answers ``file/?ls`` with the file)."""
    ctype = content_type.split(";")[0].strip().lower()
    return ctype.startswith("text/") or ctype.endswith(("json", "xml", "html")) or not ctype


def decide_listing(
    status: int, headers: Headers, what: str, now: float = 0.0
) -> Fail | RetryLater | None:
    """None when the answer is a listing to parse; else the error it stands for."""
    if status != 200:
        return refuse(status, headers, what, now)
    ctype = headers.get("Content-Type") or ""
    if not is_listing_type(ctype):
        return Fail(NotFound(f"{what}: not a directory ({ctype})"))
    return None
