"""Several small files of one copyparty folder in one request: a tar of chosen names.

Why: for small files the round trip, not the bytes, is the cost; copyparty's
folder download of chosen files (``POST folder/?tar`` with ``act=zip`` and a
newline-separated ``files=`` list) moved 2-3x the files/s of 16 parallel GETs
for 4 KiB files (scripts/measure_tar.py).  copyparty 1.20 archives the chosen
entries at the archive root, in GNU tar format, each with its ``st_size`` and
whole-second ``st_mtime`` -- the listing's ``ts`` -- and closes the connection
after the archive.

Never wrong: a member is handed out only when its name is one that was asked
for, it is a regular file, and its size and mtime equal what the caller's
listing said -- so a file replaced since the listing is never served under its
old version.  Anything else (a changed file, an unexpected or repeated name, a
path, a link) is skipped.  A body that ends early yields the members complete
before the cut and then raises ``ProtocolError``: whatever was not yielded is
the caller's to fetch another way.

The archive is read as a stream by a small header reader (``tarfile``'s
stream mode cannot tell an archive cut at a member boundary from a finished
one): at most one member's bytes are held at a time, and only a wanted one's.
"""

from __future__ import annotations

import logging
import secrets
import tarfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from urllib.parse import quote

from ..core.errors import ProtocolError
from ..core.model import Entry

log = logging.getLogger(__name__)

BLOCK = 512
#: Bytes read from the body at a time while skipping unwanted data.
STEP = 64 << 10
#: Longest GNU long-name or pax header accepted (a name is at most a few KiB).
MAX_META = 64 << 10
#: Most files asked for in one archive (copyparty reads at most 1 MiB of names).
MAX_FILES = 256

_REGULAR = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)
#: Types whose header size is not followed by data (tarfile does the same).
_NO_DATA = (
    tarfile.LNKTYPE,
    tarfile.SYMTYPE,
    tarfile.CHRTYPE,
    tarfile.BLKTYPE,
    tarfile.DIRTYPE,
    tarfile.FIFOTYPE,
)

Read = Callable[[int], bytes]


def askable(entry: Entry) -> bool:
    """Whether ``entry`` can be asked for by name in a ``files=`` list and
    checked in the archive: a file of known size, a plain UTF-8 name that a
    newline-separated list can carry."""
    name = entry.name
    if entry.is_dir or entry.size is None or name in ("", ".", ".."):
        return False
    if "/" in name or "\n" in name or "\r" in name or "\0" in name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # a non-UTF-8 name (surrogateescape): left to GETs
        return False
    return True


def form_body(names: Sequence[str]) -> tuple[bytes, str]:
    """The multipart form asking for ``names`` as a tar, and its Content-Type."""
    boundary = "partyfuse-" + secrets.token_hex(12)
    files = "\n".join(quote(n, safe="") for n in names)
    parts = []
    for key, value in (("act", "zip"), ("files", files)):
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
        )
    parts.append(f"--{boundary}--\r\n")
    return "".join(parts).encode("ascii"), f"multipart/form-data; boundary={boundary}"


class _Body:
    """Exactly-n reads over a body that may end early; counts where it is."""

    def __init__(self, read: Read) -> None:
        self._read = read
        self.offset = 0

    def take(self, n: int) -> bytes:
        """``n`` bytes, or fewer only where the body ended."""
        parts = []
        got = 0
        while got < n:
            chunk = self._read(min(n - got, STEP))
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        self.offset += got
        return b"".join(parts)

    def skip(self, n: int) -> bool:
        """Read past ``n`` bytes without keeping them; False if the body ended first."""
        while n > 0:
            chunk = self._read(min(n, STEP))
            if not chunk:
                return False
            n -= len(chunk)
            self.offset += len(chunk)
        return True


def _padded(size: int) -> int:
    return -size % BLOCK


def _cut(what: str, at: int) -> ProtocolError:
    return ProtocolError(f"tar archive cut short at byte {at} ({what})")


def _pax_fields(data: bytes) -> dict[str, str]:
    """``path``, ``size`` and ``mtime`` of a pax extended header (records "LEN key=value\\n")."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            raise ProtocolError("tar archive: bad pax header") from None
        record = data[space + 1 : pos + length]
        if length <= 0 or not record.endswith(b"\n") or b"=" not in record:
            raise ProtocolError("tar archive: bad pax header")
        key, _, value = record[:-1].partition(b"=")
        out[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return out


def members(read: Read, wanted: Mapping[str, Entry]) -> Iterator[tuple[Entry, bytes]]:
    """(entry, bytes) of each archive member that is exactly a wanted version.

    ``read(n)`` returns up to ``n`` body bytes, b"" at the end.  ``wanted``
    maps names to the listing's entries.  Each name is yielded at most once,
    only for a regular file whose size and whole-second mtime equal the
    entry's.  Raises ProtocolError once the archive is cut short or garbled
    (after yielding every complete member before that point)."""
    body = _Body(read)
    done: set[str] = set()
    long_name: str | None = None
    pax: dict[str, str] = {}
    while True:
        at = body.offset
        block = body.take(BLOCK)
        if len(block) < BLOCK:
            raise _cut("no end-of-archive marker", body.offset)
        if block == bytes(BLOCK):
            return  # the end-of-archive marker: what follows is padding
        try:
            info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        except tarfile.HeaderError as e:
            raise ProtocolError(f"tar archive: bad header at byte {at} ({e})") from None
        size = info.size
        if info.type in (tarfile.GNUTYPE_LONGNAME, tarfile.XHDTYPE, tarfile.XGLTYPE):
            if size > MAX_META:
                raise ProtocolError(f"tar archive: {size}-byte extended header at byte {at}")
            data = body.take(size + _padded(size))
            if len(data) < size + _padded(size):
                raise _cut("in an extended header", body.offset)
            data = data[:size]
            if info.type == tarfile.GNUTYPE_LONGNAME:
                long_name = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            elif info.type == tarfile.XHDTYPE:
                pax = _pax_fields(data)
            continue
        name = pax.get("path", long_name if long_name is not None else info.name)
        try:
            size = int(pax["size"]) if "size" in pax else size
            mtime = int(float(pax["mtime"])) if "mtime" in pax else int(info.mtime)
        except ValueError:
            raise ProtocolError(f"tar archive: bad pax size or mtime at byte {at}") from None
        long_name, pax = None, {}
        has_data = info.type not in _NO_DATA
        stored = size + _padded(size) if has_data else 0
        entry = wanted.get(name)
        why = None
        if "/" in name or name in ("", ".", ".."):
            why = "a path, not a name in this folder"
        elif entry is None:
            why = "not asked for"
        elif info.type not in _REGULAR:
            why = f"not a regular file (type {info.type!r})"
        elif name in done:
            why = "a second member of that name"
        elif size != entry.size:
            why = f"size {size}, the listing says {entry.size}"
        elif mtime != int(entry.mtime):
            why = f"mtime {mtime}, the listing says {int(entry.mtime)}"
        if why is not None or entry is None:  # (entry None has a reason too)
            log.debug("tar member %r skipped: %s", name, why)
            if not body.skip(stored):
                raise _cut(f"in member {name!r}", body.offset)
            continue
        data = body.take(size)
        if len(data) < size or not body.skip(_padded(size)):
            raise _cut(f"in member {name!r}", body.offset)
        done.add(name)
        yield entry, data
