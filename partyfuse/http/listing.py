"""Fetching a directory's listing and recognising which server sent it.

copyparty is asked for its JSON (``dir/?ls&dots``); any other server for the
directory itself, whose page ``partyfuse.core.listings.parse_listing``
recognises.  The first listing decides the dialect (unless ``--html`` forced
one), and the dialect decides how files are downloaded (``?raw`` and file
keys for copyparty, plain URLs elsewhere, python's own quoting of odd bytes).
"""

from __future__ import annotations

import logging

from ..core.errors import NotFound, ProtocolError, TransportError
from ..core.listings import ListingError, parse_listing
from ..core.model import Listing
from .answers import decide_listing
from .exchange import Exchange, read_all
from .memo import Memo
from .urls import BaseUrl

log = logging.getLogger(__name__)

#: Listing dialects that are copyparty, whose downloads take ``?raw``.
COPYPARTY_DIALECTS = frozenset({"cpp", "cpp-html"})
#: A listing bigger than this is a broken or hostile server, not a directory.
MAX_LISTING = 256 << 20
#: Listings may come compressed, file bytes never.
LISTING_ENCODINGS = "gzip, deflate"


class Listings:
    """Lists directories of one mount and remembers what kind of server answered."""

    def __init__(self, exchange: Exchange, *, dialect: str | None = None) -> None:
        self._exchange = exchange
        self._base: BaseUrl = exchange.base
        self.forced = dialect
        # The warnings last logged for each listed path (dropped or clamped
        # entries): logged once, not again at every -cds refresh.
        self._warned: Memo[str, list[str]] = Memo()
        self.detected: str | None = None

    @property
    def dialect(self) -> str | None:
        """The forced dialect, else what the listings turned out to be (None before any)."""
        return self.forced or self.detected

    @property
    def is_copyparty(self) -> bool:
        d = self.dialect
        return d is None or d in COPYPARTY_DIALECTS

    @property
    def surrogatepass(self) -> bool:
        """Quote names the way python http.server links them (see urls.py)."""
        return self.dialect == "python"

    def fetch(self, path: str) -> tuple[Listing, bytes]:
        """The parsed listing of ``path`` and its raw body (``check`` reads copyparty's)."""
        cpp = self.is_copyparty
        target = self._base.url_path(path, is_dir=True, surrogatepass=self.surrogatepass)
        if cpp:
            target += "?ls&dots"
        what = f"list {path or '/'!r}"
        ex = self._exchange

        def once() -> tuple[Listing, bytes]:
            headers = {"Accept-Encoding": LISTING_ENCODINGS}
            with ex.open("GET", target, headers, what=what, copyparty=cpp) as r:
                bad = decide_listing(r.status, r.headers, what)
                if bad is not None:
                    raise bad.error
                ctype = r.headers.get("Content-Type", "")
                body = read_all(r, limit=MAX_LISTING + 1)
                if len(body) > MAX_LISTING:
                    raise ProtocolError(f"{what}: listing larger than {MAX_LISTING >> 20} MiB")
            return self._parse(body, ctype, path), body

        try:
            listing, body = ex.with_body_retries(once, what)
        except (NotFound, ListingError) as e:
            if path == "" and self._names_a_file(cpp):
                raise NotFound(
                    f"{self._base.url('').rstrip('/')}: the URL must name a folder, not a file"
                ) from None
            if isinstance(e, ListingError):
                raise ListingError(f"{ex.origin}{target.split('?')[0]}: {e}") from None
            raise
        if self.forced is None and self.detected != listing.dialect:
            log.debug("%s: server looks like %s", self._base, listing.dialect)
            self.detected = listing.dialect
        if listing.warnings != (self._warned.get(path) or []):
            self._warned.put(path, listing.warnings)
            for w in listing.warnings:
                log.warning("%s: %s", what, w)
        return listing, body

    def _names_a_file(self, copyparty: bool) -> bool:
        """After the root failed to list: is the base URL, without its "/", a file?

        Servers answer "file/" with a 404 (nginx, Apache, python), or with the
        file itself (lighttpd, copyparty's ``file/?ls``), while a folder without
        its "/" redirects (nginx, Apache, lighttpd, python) or lists (copyparty)
        -- and would have listed with it.  So a 200 here means a file.
        """
        if self._base.prefix == "/":
            return False
        target = self._base.url_path("").rstrip("/")
        return self._exchange.head_status(target, copyparty=copyparty) == 200

    def _parse(self, body: bytes, ctype: str, path: str) -> Listing:
        url_path = self._base.url_path(path, is_dir=True, surrogatepass=self.surrogatepass)
        try:
            return parse_listing(body, ctype, url_path=url_path, dialect=self.forced)
        except TransportError:
            raise
        except ValueError as e:
            raise ProtocolError(f"unparseable listing of {path or '/'!r}: {e}") from None


__all__ = ["COPYPARTY_DIALECTS", "Listings", "MAX_LISTING"]
