"""Open file handles: which version a handle reads and how it has been reading.

The stream state feeds the read planner (sequential streams get growing
windows); the entry pins the file version so every read of a handle is
checked against the same validator until the server says it changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Entry, FileVersion
from .readplan import StreamState, is_media
from .spans import Span

#: Seconds after its latest read that a sequential stream still takes a share
#: of the cache budget (a paused player keeps its handle open).
STREAM_IDLE = 2.0


@dataclass
class FileHandle:
    path: str
    """Remote path, relative to the mount root."""
    entry: Entry
    """The listing entry (with a resolved size) this handle reads."""
    stream: StreamState = field(default_factory=StreamState)
    inflight: list[Span] = field(default_factory=list)
    """Read-ahead ranges this handle started that have not landed yet."""
    ahead_cap: int = -1
    """The read-ahead cap of this stream's latest plan (0: no read-ahead,
    -1: no plan yet)."""
    last_read: float = float("-inf")
    """Clock time of the handle's latest read: a stream idle for a while no
    longer takes a share of the cache budget."""
    media: bool = field(init=False, default=False)
    """Whether the file is a media container whose index may be at its end
    (the planner then fetches its tail early)."""
    newer: Entry | None = None
    """A listing showed another version; its size is not known yet (look it up
    before the next read)."""
    served: bool = False
    """Bytes of ``entry``'s version were returned: from then on the handle
    reads that version or fails, so a reader never gets two versions' bytes."""
    stale: bool = False
    """The version this handle served is gone from the server: reads fail (EIO)."""
    _version_of: Entry | None = field(default=None, repr=False, compare=False)
    _version: FileVersion | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.media = is_media(self.path)

    def version(self) -> FileVersion:
        """``entry.version()``, made once per entry: every cached read needs it
        (and the block cache then compares it by identity).  Call under the
        filesystem's lock."""
        if self._version_of is not self.entry or self._version is None:
            self._version_of, self._version = self.entry, self.entry.version()
        return self._version


class HandleTable:
    """Numbers handles from 1; 0 is left to mean "no handle" (some adapters pass it)."""

    def __init__(self) -> None:
        self._next = 1
        self._open: dict[int, FileHandle] = {}

    def add(self, handle: FileHandle) -> int:
        fh = self._next
        self._next += 1
        self._open[fh] = handle
        return fh

    def get(self, fh: int) -> FileHandle | None:
        return self._open.get(fh)

    def remove(self, fh: int) -> FileHandle | None:
        return self._open.pop(fh, None)

    def __len__(self) -> int:
        return len(self._open)

    def streams(self, since: float) -> int:
        """Handles reading sequentially (either way) that read at or after ``since``."""
        return sum(
            1
            for h in self._open.values()
            if (h.stream.forward or h.stream.backward) and h.last_read >= since
        )

    def streaming_over(self, size: int, since: float) -> bool:
        """Whether a file larger than ``size`` is being read sequentially (either
        way) by a handle that read at or after ``since``."""
        return any(
            (h.stream.forward or h.stream.backward)
            and h.last_read >= since
            and (h.entry.size or 0) > size
            for h in self._open.values()
        )

    def on_path(self, path: str) -> list[FileHandle]:
        return [h for h in self._open.values() if h.path == path]
