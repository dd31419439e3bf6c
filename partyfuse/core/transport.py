"""The only door from the core to the world.

The core calls these methods and nothing else that does IO; the HTTP
transport (``partyfuse.http``) and the in-memory fake (``fakes.memory``)
implement them.  Paths are relative to the mount root, ``"/"``-separated,
without leading or trailing slash; ``""`` is the root.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from .model import Entry

#: Seconds from an arbitrary origin, never going backwards (time.monotonic in
#: production, a fake clock in tests).
Clock = Callable[[], float]


class Transport(Protocol):
    def list_dir(self, path: str) -> list[Entry]:
        """Entries of directory ``path``.

        Raises NotFound, Forbidden, Transient or ProtocolError.
        """
        ...

    def read_range(self, path: str, start: int, end: int, entry: Entry) -> bytes:
        """Exactly the bytes ``[start, end)`` of file ``path``.

        ``entry`` is the listing's description of the version the caller
        expects (its size bounds ``end``; ``key``/``etag``/``mtime`` let the
        transport send a validator).  Returns exactly ``end - start`` bytes, or
        raises: Changed when the server's file is no longer that version,
        NotFound, Forbidden, Transient, ProtocolError.  Never returns
        bytes of another version or a short body.
        """
        ...

    def probe(self, path: str, entry: Entry) -> Entry:
        """``entry`` resolved by asking the server about the file itself (HEAD,
        or a ranged GET's total): called when the listing gave no exact size.

        The result has the exact ``size``; where the listing showed no time
        (``mtime`` 0.0) it carries the file's own date (``Last-Modified``) when
        the server sends one, so no file the server dated shows as 1970.
        Everything else is ``entry``'s.  Raises like ``list_dir``.
        """
        ...


class BatchTransport(Transport, Protocol):
    """A Transport that can also fetch several small files of one directory in
    one request (copyparty's tar of chosen files).  Optional: the core checks
    ``batch_files`` (``supports_batches``) before calling ``read_files``."""

    @property
    def batch_files(self) -> bool:
        """Whether ``read_files`` works with this server (known once it was listed)."""
        ...

    def read_files(self, folder: str, entries: Sequence[Entry]) -> Iterator[tuple[Entry, bytes]]:
        """(entry, bytes) for files of directory ``folder`` among ``entries``.

        Yields only files whose size and mtime (whole seconds) on the server
        still equal the entry's -- the whole file, each at most once, in any
        order -- and silently leaves out every other (changed, missing, a
        name it cannot ask for).  May raise a TransportError after yielding
        some: whatever was not yielded must then be read with ``read_range``.
        """
        ...


class BlockTransport(Transport, Protocol):
    """A Transport that can hand a range over in pieces of a given size, each
    its own bytes, read as they came: read-ahead windows of several cache
    blocks are then one request and are stored without cutting (a copy of
    every byte).  Optional: the core checks ``supports_blocks``."""

    def read_blocks(self, path: str, start: int, end: int, entry: Entry, size: int) -> list[bytes]:
        """``read_range``'s bytes, as pieces of ``size`` bytes (the last may be
        shorter), with the same guarantees and errors."""
        ...


def supports_blocks(transport: Transport) -> bool:
    """Whether ``transport`` is a BlockTransport."""
    return callable(getattr(transport, "read_blocks", None))


def supports_batches(transport: Transport) -> bool:
    """Whether ``transport`` is a BatchTransport that can batch right now."""
    return bool(getattr(transport, "batch_files", False)) and callable(
        getattr(transport, "read_files", None)
    )
