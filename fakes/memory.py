"""An in-memory Transport over a tree of model files, with a request log and faults.

It behaves like the real HTTP transport promises to (``partyfuse.core.transport``):
exact ranges or a typed error, ``Changed`` when the caller's entry no longer
describes the file, ``ProtocolError`` when a body comes back short.  It is
stricter than a server in one way: a range past EOF or an inverted range is a
``ProtocolError`` *and* is logged, so tests can prove the core never asks for one.

Fault injection follows fsspec's test server: switch one misbehaviour on for a
path (or all paths) for the next N calls.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from fakes.clock import FakeClock
from partyfuse.core.errors import Changed, NotFound, ProtocolError, TransportError
from partyfuse.core.model import Entry


@dataclass(frozen=True)
class Request:
    kind: str
    """"list", "range", "probe" or "batch" (``start`` = files asked, ``end`` = 0)."""
    path: str
    start: int = 0
    end: int = 0

    def __len__(self) -> int:
        return self.end - self.start if self.kind == "range" else 0


@dataclass
class _Fault:
    kind: str | None
    path: str | None
    times: int
    error: TransportError | None = None
    short: bool = False

    def matches(self, kind: str, path: str) -> bool:
        return (self.kind is None or self.kind == kind) and (self.path is None or self.path == path)


def _norm(path: str) -> str:
    return "/".join(p for p in path.split("/") if p)


class MemoryTransport:
    """Files are ``{"a/b.txt": b"..."}``; directories are implied by file paths or
    given in ``dirs``; mtimes default to ``default_mtime``."""

    def __init__(
        self,
        files: Mapping[str, bytes] | None = None,
        *,
        dirs: Iterable[str] = (),
        mtimes: Mapping[str, float] | None = None,
        default_mtime: float = 1_600_000_000.0,
        clock: FakeClock | None = None,
        unknown_sizes: bool | Iterable[str] = False,
        etags: bool = False,
        undated: bool = False,
        delay: float = 0.0,
        batch: bool = False,
    ) -> None:
        self.files: dict[str, bytes] = {}
        self.mtimes: dict[str, float] = {}
        self.dirs: set[str] = {""}
        self.default_mtime = default_mtime
        self.clock = clock
        self.delay = delay
        """Seconds each call advances the fake clock (a slow server)."""
        self.etags = etags
        self.batch = batch
        """Offer ``read_files`` (like copyparty's tar of chosen files); off by default."""
        self.batch_cut_after: int | None = None
        """When set, the next batch yields this many files, then raises ProtocolError."""
        self.batched: list[str] = []
        """Paths ``read_files`` yielded, in order."""
        self.undated = undated
        """Listings show no times (mtime 0.0, like python's http.server); probes do."""
        self.unknown_all = unknown_sizes is True
        self.unknown: set[str] = (
            set() if isinstance(unknown_sizes, bool) else {_norm(p) for p in unknown_sizes}
        )
        self.meanwhile: Callable[[], None] | None = None
        """Run once, when the next range or batch has its bytes and before it returns
        them: the server replaces a file (and the filesystem re-lists) while an
        answer of the old version is on its way."""
        self.log: list[Request] = []
        self._faults: list[_Fault] = []
        # a file's bytes and mtime change together, as on a server that renames
        # a finished upload into place (tests replace files from other threads)
        self._mutex = threading.RLock()
        for d in dirs:
            self.add_dir(d)
        for path, data in (files or {}).items():
            self.put(path, data, (mtimes or {}).get(path))

    # ---- building and changing the tree --------------------------------

    def add_dir(self, path: str) -> None:
        parts = _norm(path).split("/")
        for i in range(1, len(parts) + 1):
            self.dirs.add("/".join(parts[:i]))

    def put(self, path: str, data: bytes, mtime: float | None = None) -> None:
        """Create or replace a file; a replacement gets a newer mtime unless one is given."""
        path = _norm(path)
        parent = path.rpartition("/")[0]
        with self._mutex:
            if parent:
                self.add_dir(parent)
            if mtime is None:
                mtime = self.mtimes[path] + 1.0 if path in self.mtimes else self.default_mtime
            self.files[path] = bytes(data)
            self.mtimes[path] = mtime

    def remove(self, path: str) -> None:
        path = _norm(path)
        with self._mutex:
            self.files.pop(path, None)
            self.mtimes.pop(path, None)

    def etag_of(self, path: str) -> str | None:
        if not self.etags:
            return None
        digest = hashlib.sha1(self.files[path]).hexdigest()[:16]
        return f'"{digest}-{self.mtimes[path]:.0f}"'

    def entry_of(self, path: str) -> Entry:
        """What a listing of the parent says about ``path`` right now."""
        path = _norm(path)
        name = path.rpartition("/")[2]
        if path in self.files:
            unknown = self.unknown_all or path in self.unknown
            return Entry(
                name,
                False,
                None if unknown else len(self.files[path]),
                0.0 if self.undated else self.mtimes[path],
                etag=self.etag_of(path),
            )
        if path in self.dirs:
            return Entry(name, True, None, self.default_mtime)
        raise NotFound(path)

    # ---- faults --------------------------------------------------------

    def fail(
        self,
        error: TransportError,
        *,
        kind: str | None = None,
        path: str | None = None,
        times: int = 1,
    ) -> None:
        """Raise ``error`` for the next ``times`` matching calls (kind None = any call)."""
        self._faults.append(_Fault(kind, None if path is None else _norm(path), times, error))

    def short_bodies(self, *, path: str | None = None, times: int = 1) -> None:
        """The next ``times`` range bodies come back one byte short (surfaces as ProtocolError)."""
        where = None if path is None else _norm(path)
        self._faults.append(_Fault("range", where, times, None, short=True))

    def clear_faults(self) -> None:
        """Forget faults that have not fired yet."""
        self._faults.clear()

    def _before(self, kind: str, path: str) -> bool:
        """Log a call, let time pass, raise an injected error; True = cut the body short."""
        if self.clock is not None and self.delay:
            self.clock.advance(self.delay)
        for fault in self._faults:
            if fault.times > 0 and fault.matches(kind, path):
                fault.times -= 1
                if fault.error is not None:
                    raise fault.error
                return fault.short
        return False

    def _call(self, kind: str, path: str, start: int = 0, end: int = 0) -> tuple[str, bool]:
        """Every call's start: the normalized path, logged, faults applied; True =
        cut the body short."""
        path = _norm(path)
        self.log.append(Request(kind, path, start, end))
        return path, self._before(kind, path)

    # ---- the Transport protocol ----------------------------------------

    def list_dir(self, path: str) -> list[Entry]:
        path, _ = self._call("list", path)
        with self._mutex:
            if path not in self.dirs:
                raise NotFound(path)
            prefix = path + "/" if path else ""
            names = {
                p[len(prefix) :].split("/")[0]
                for p in [*self.files, *self.dirs]
                if p.startswith(prefix) and p != path and p
            }
            return [self.entry_of(prefix + n) for n in sorted(names)]

    def read_range(self, path: str, start: int, end: int, entry: Entry) -> bytes:
        path, short = self._call("range", path, start, end)
        with self._mutex:
            if path not in self.files:
                raise NotFound(path)
            data = self.files[path]
            changed = (
                (entry.mtime != self.mtimes[path] and not (self.undated and entry.mtime == 0.0))
                or (entry.size is not None and entry.size != len(data))
                or (entry.etag is not None and entry.etag != self.etag_of(path))
            )
        if changed:
            raise Changed(path)
        if not 0 <= start <= end <= len(data) or start == end:
            raise ProtocolError(f"bad range [{start}:{end}) of {path} ({len(data)} bytes)")
        body = data[start:end]
        if short:
            body = body[:-1]
        if len(body) != end - start:
            # the real transport checks Content-Length/Content-Range the same way
            raise ProtocolError(f"short body for {path}: {len(body)} of {end - start}")
        self._run_meanwhile()
        return body

    def probe(self, path: str, entry: Entry) -> Entry:
        """The file's size, and its mtime where ``entry`` (the listing) had none."""
        path, _ = self._call("probe", path)
        with self._mutex:
            if path not in self.files:
                raise NotFound(path)
            size, mtime = len(self.files[path]), self.mtimes[path]
        return replace(entry, size=size, mtime=entry.mtime or mtime)

    # ---- the optional BatchTransport protocol ---------------------------

    @property
    def batch_files(self) -> bool:
        return self.batch

    def read_files(self, folder: str, entries: Sequence[Entry]) -> Iterator[tuple[Entry, bytes]]:
        """Like the tar batch: the files whose size and whole-second mtime still
        match, each once; ``fail(kind="batch")`` fails the request."""
        if not self.batch:
            raise ProtocolError("this transport does not batch")
        folder, _ = self._call("batch", folder, len(entries))
        cut, self.batch_cut_after = self.batch_cut_after, None
        batch = self._batch(folder, list(entries), cut)
        if self.meanwhile is None:
            return batch
        answer = list(batch)  # the bytes are on their way before the change
        self._run_meanwhile()
        return iter(answer)

    def _batch(
        self, folder: str, entries: list[Entry], cut: int | None
    ) -> Iterator[tuple[Entry, bytes]]:
        prefix = folder + "/" if folder else ""
        done: set[str] = set()
        for entry in entries:
            path = prefix + entry.name
            if entry.is_dir or entry.name in done:
                continue
            with self._mutex:
                if path not in self.files:
                    continue
                data, mtime = self.files[path], self.mtimes[path]
            if len(data) != entry.size or int(mtime) != int(entry.mtime):
                continue
            if cut is not None and len(done) >= cut:
                raise ProtocolError(f"batch of {folder!r} cut short")
            done.add(entry.name)
            self.batched.append(path)
            yield entry, data

    def _run_meanwhile(self) -> None:
        hook, self.meanwhile = self.meanwhile, None
        if hook is not None:
            hook()

    # ---- log helpers ---------------------------------------------------

    def requests(self, kind: str | None = None, path: str | None = None) -> list[Request]:
        return [
            r
            for r in self.log
            if (kind is None or r.kind == kind) and (path is None or r.path == _norm(path))
        ]

    def bytes_requested(self, path: str | None = None) -> int:
        return sum(len(r) for r in self.requests("range", path))
