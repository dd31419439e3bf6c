"""Reading an answer's head: its header lines, into fields looked up by name.

http.client hands the header block to the ``email`` package's feed parser and
wraps the result in an ``email.message.Message``: about 100 µs per answer on
these machines, against about 15 µs for the loop below.  On loopback the
daemon is CPU-bound and makes one request per small file and per folder, so
that is a tenth of the work it does per file.  wire.py reads every answer's
head with it.  The fields come out as the
feed parser gives them for a well-formed head (name as sent, value with its
leading blanks and line end removed, folded lines joined; checked against
http.client by a property test), under the same limits (``_MAXLINE`` bytes a
line, ``_MAXHEADERS`` lines).  The parser's oddities on malformed heads are
not copied: a line without a colon is dropped instead of ending the head.

A head that the connection cut short (no blank line before the end) raises
``HeadCut``: http.client ends a head at the end of the connection as it does
at the blank line, so a listing whose Content-Type was cut to "appl" looked
like a file (ENOENT for a file that exists), a 404 cut after its digits like
a 404.  It is a broken exchange, retried like one.

Nothing here touches a socket: ``read_fields`` takes anything with
``readline(limit)``.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterable, Iterator
from typing import Any, Protocol, overload

MAX_LINE = 65536  # http.client._MAXLINE
MAX_LINES = 100  # http.client._MAXHEADERS, which counts the blank line too

_ENDS = (b"\r\n", b"\n")


class HeadCut(http.client.HTTPException):
    """The connection ended inside an answer's head (status line and headers)."""


class LineReader(Protocol):
    def readline(self, limit: int = -1, /) -> bytes: ...


def read_fields(fp: LineReader) -> list[tuple[str, str]]:
    """The header fields up to the blank line that ends the head."""
    fields: list[tuple[str, str]] = []
    pieces: list[str] = []  # the field being read: its name, its raw value, its folded lines
    count = 0
    while True:
        line = fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        count += 1
        if count > MAX_LINES:
            raise http.client.HTTPException(f"got more than {MAX_LINES} headers")
        if not line:
            raise HeadCut("the connection closed in the middle of the answer's head")
        text = line.decode("iso-8859-1")
        if text[0] in " \t" and line not in _ENDS:
            if pieces:  # a folded line continues the field before it, line end and all
                pieces.append(text)
            continue
        if pieces:
            value = pieces[1].lstrip(" \t") + "".join(pieces[2:])
            fields.append((pieces[0], value.rstrip("\r\n")))
            pieces = []
        if line in _ENDS:
            return fields
        name, colon, value = text.partition(":")
        if colon:
            pieces = [name, value]


def plain_fields(block: bytes) -> list[tuple[str, str]] | None:
    """The fields of a head's field lines ``block`` (the bytes between the
    status line and the blank line, CRLF between lines), as ``read_fields``
    reads them; None when the block is not that plain (a bare LF, a folded
    line, a blank line, a line over the limits), which ``read_fields`` must
    then read.

    Every answer's head goes through here: one split instead of a readline per
    field."""
    if (
        len(block) > MAX_LINE
        or block.count(b"\n") != block.count(b"\r\n")
        or block.count(b"\r\n") >= MAX_LINES - 1
        or b"\r\n " in block
        or b"\r\n\t" in block
        or block[:1] in (b" ", b"\t")
        or block.startswith(b"\r\n")
        or b"\r\n\r\n" in block
    ):
        return None
    fields = []
    for line in block.decode("iso-8859-1").split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            fields.append((name, value.lstrip(" \t").rstrip("\r\n")))
    return fields


class Fields:
    """An answer's header fields: looked up by case-insensitive name (the
    first of repeated ones, as ``email.message.Message.get`` does), all of
    them in order for ``items``.  What http.client's response needs of its
    ``headers``, and what the pool reads."""

    __slots__ = ("_items", "_by_name")

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._items = list(items)
        by_name: dict[str, str] = {}
        for name, value in self._items:
            by_name.setdefault(name.lower(), value)
        self._by_name = by_name

    @overload
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...
    def get(self, name: str, default: str | None = None) -> str | None:
        return self._by_name.get(name.lower(), default)

    def get_all(self, name: str, failobj: Any = None) -> list[str] | Any:
        key = name.lower()
        found = [v for n, v in self._items if n.lower() == key]
        return found or failobj

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._by_name

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Fields({self._items!r})"
