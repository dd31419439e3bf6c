"""copyparty's JSON listing (``GET dir/?ls&dots``), bytes in, entries out.

copyparty answers ``?ls`` with ``{"dirs": [...], "files": [...], "acct": ...,
"perms": [...]}``; each node has a percent-encoded ``href`` (a trailing "/" on
dirs, ``?k=<filekey>`` on files of a volume with the ``fk`` flag), ``sz`` in
bytes and ``ts`` in whole epoch seconds.  Names come from the href and not
from any display field, because only the href keeps non-UTF-8 bytes.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from typing import Any

from ..errors import ProtocolError
from ..limits import show_name
from ..model import Entry
from .builder import ListingBuilder

log = logging.getLogger(__name__)

# The core may not import urllib (tests/core/test_import_guard.py), so the
# two bits of URL decoding a listing needs live here.
_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")


def unquote_to_bytes(text: str) -> bytes:
    """Percent-decode like urllib.parse.unquote_to_bytes (a "%" not followed by
    two hex digits stays as is); non-ASCII text is taken as UTF-8."""
    raw = text.encode("utf-8", "surrogateescape")
    return _PERCENT.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


def query_value(query: str, key: str) -> str | None:
    """The first ``key=value`` of a query string, percent-decoded."""
    for part in query.split("&"):
        k, eq, v = part.partition("=")
        if eq and k == key:
            return unquote_to_bytes(v.replace("+", " ")).decode("utf-8", "surrogateescape")
    return None


@dataclass(frozen=True)
class CopypartyAccess:
    """Who copyparty thinks we are in a listing: a protected volume listed with
    a wrong password is not a 403 when it is the root; it is a 200 with no
    entries, ``"acct": "*"`` and no ``"read"`` permission."""

    account: str | None
    """None when the server does not say (older copyparty)."""
    perms: frozenset[str] | None
    """None when the server does not say."""

    @property
    def anonymous(self) -> bool:
        return self.account == "*"

    @property
    def can_read(self) -> bool:
        return self.perms is None or "read" in self.perms


def _load(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError(f"copyparty listing is not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise ProtocolError("copyparty listing is not a JSON object")
    return doc


def looks_like_copyparty(body: bytes) -> bool:
    """True when ``body`` is a JSON object with copyparty's dirs/files lists."""
    try:
        doc = _load(body)
    except ProtocolError:
        return False
    return isinstance(doc.get("dirs"), list) and isinstance(doc.get("files"), list)


def copyparty_access(body: bytes) -> CopypartyAccess:
    doc = _load(body)
    acct = doc.get("acct")
    perms = doc.get("perms")
    return CopypartyAccess(
        account=acct if isinstance(acct, str) else None,
        perms=frozenset(p for p in perms if isinstance(p, str))
        if isinstance(perms, list)
        else None,
    )


def name_from_href(href: str) -> tuple[str, str | None] | None:
    """(name, filekey) of one href, or None when the name is unsafe as a path component."""
    path, _, query = href.partition("?")
    if path.endswith("/"):
        path = path[:-1]
    if "%" in path or not path.isascii():
        name = unquote_to_bytes(path).decode("utf-8", "surrogateescape")
    else:
        name = path  # nothing to decode: the common case, and listings are long
    if name in ("", ".", "..") or "/" in name or "\0" in name:
        return None
    key = query_value(query, "k") if query else None
    return name, key or None


def _number(node: dict[str, Any], field: str) -> int | float | None:
    """A JSON number as the listing holds it (1e400 parses as inf: the
    builder judges it); None when absent or not a number."""
    value = node.get(field)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def parse_copyparty_into(body: bytes, out: ListingBuilder) -> None:
    """Entries of one copyparty ``?ls`` answer into ``out``, which drops (with
    one warning each) unsafe names, duplicates and sizes no file can have."""
    parse_copyparty_doc(_load(body), out)


def parse_copyparty_doc(doc: dict[str, Any], out: ListingBuilder) -> None:
    """Like ``parse_copyparty_into`` for a parsed answer (which it empties)."""
    for section, is_dir in (("dirs", True), ("files", False)):
        nodes = doc.get(section, [])
        if not isinstance(nodes, list):
            raise ProtocolError(f"copyparty listing: {section!r} is not a list")
        # each node is dropped once read, so a big listing never holds both all
        # of its parsed JSON and all of its entries (peak about halved)
        doc[section] = None
        nodes.reverse()
        while nodes:
            node = nodes.pop()
            if not isinstance(node, dict) or not isinstance(node.get("href"), str):
                out.warn(f"skipped a {section[:-1]} node without an href: {str(node)[:60]!r}")
                continue
            href = node["href"]
            parsed = name_from_href(href)
            if parsed is None:
                # unsafe: the builder drops it, saying why, with the decoded name
                path = href.partition("?")[0]
                path = path[:-1] if path.endswith("/") else path
                out.add(unquote_to_bytes(path).decode("utf-8", "surrogateescape"), True, 0, 0.0)
                continue
            name, key = parsed
            size = _number(node, "sz")
            if size is None and not is_dir:
                out.warn(f"dropped entry {show_name(name)}: no size")
                continue
            ts = _number(node, "ts")
            out.add(
                name,
                is_dir,
                size,
                0.0 if ts is None else float(ts),
                key=None if is_dir else key,
            )


def parse_copyparty_json(body: bytes, warnings: list[str] | None = None) -> list[Entry]:
    """Entries of one copyparty ``?ls`` answer; hostile or malformed nodes are skipped.

    Each skipped name is reported as one line in ``warnings`` (for
    ``Listing.warnings``), or logged when no list is given.
    """
    out = ListingBuilder(each_once=True)
    parse_copyparty_into(body, out)
    lines = out.report()
    if warnings is None:
        for line in lines:
            log.warning("%s", line)
    else:
        warnings.extend(lines)
    return out.result()
