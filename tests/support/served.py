"""Files served to a filesystem under test, which the test changes and breaks:
in a MemoryTransport, or on a fake server (fakes/servers.py) read through the
real HttpTransport.  ``Served`` is what tests/core/test_stateful.py's machine
needs of either, so its rules run unchanged over both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from fakes.clock import FakeClock
from fakes.memory import MemoryTransport
from fakes.servers import KINDS
from fakes.tree import Tree
from partyfuse.core.errors import Forbidden, Transient
from partyfuse.core.transport import Transport
from partyfuse.http import HttpTransport, RetryPolicy


class Served(Protocol):
    """Files on a server the machine reads through ``transport``, changes and breaks."""

    transport: Transport

    def put(self, name: str, data: bytes) -> None:
        """Replace file ``name`` (a newer mtime, as a server shows a replaced file)."""

    def break_next_read(self, name: str, fault: str) -> None:
        """The next read of ``name`` fails: "transient", "short" (body) or "forbidden"."""

    def clear_faults(self) -> None: ...

    def ranges_asked(self) -> list[tuple[int, int]]:
        """Every byte range asked for so far, as [start, end)."""

    def bytes_requested(self, name: str) -> int: ...

    def close(self) -> None: ...


class MemoryServed:
    def __init__(self, files: dict[str, bytes], clock: FakeClock, unknown_sizes: bool) -> None:
        self.transport = MemoryTransport(files, clock=clock, unknown_sizes=unknown_sizes)

    def put(self, name: str, data: bytes) -> None:
        self.transport.put(name, data)

    def break_next_read(self, name: str, fault: str) -> None:
        if fault == "short":
            self.transport.short_bodies(path=name)
        else:
            error = Transient("down") if fault == "transient" else Forbidden("no")
            self.transport.fail(error, kind="range", path=name)

    def clear_faults(self) -> None:
        self.transport.clear_faults()

    def ranges_asked(self) -> list[tuple[int, int]]:
        return [(r.start, r.end) for r in self.transport.requests("range")]

    def bytes_requested(self, name: str) -> int:
        return self.transport.bytes_requested(name)

    def close(self) -> None:
        pass


class HttpServed:
    """A fake server of ``kind`` (fakes/servers.py) read through the real HttpTransport.
    No retries: an injected fault reaches the core, as the memory one does.  Sizes
    are always exact (the listings that round them are the listings tests' job)."""

    def __init__(self, kind: str, files: dict[str, bytes]) -> None:
        self.tree = Tree()
        for name, data in files.items():
            self.tree.add_file(name, data, mtime=1_600_000_000)
        self.server = KINDS[kind](self.tree)
        self.server.start()
        no_retries = RetryPolicy(retries=0, backoff=0.0)
        self.transport = HttpTransport(self.server.url("/"), retry=no_retries, read_timeout=30.0)

    def put(self, name: str, data: bytes) -> None:
        # a minute later: nginx's listing shows minutes, and a file replaced by
        # one of the same size within the minute is a change no listing shows
        old = self.tree.lookup(name)
        assert old is not None
        self.tree.add_file(name, data, mtime=old.mtime + 60)

    def break_next_read(self, name: str, fault: str) -> None:
        if fault == "short":
            self.server.short_body = 1  # every file body while it lasts
        else:
            self.server.fail_next(1, 503 if fault == "transient" else 403, path="/" + name)

    def clear_faults(self) -> None:
        self.server.fail_next(0)
        self.server.short_body = 0

    def _ranges(self, name: str | None = None) -> list[tuple[int, int]]:
        out = []
        for seen in self.server.seen:
            if seen.method != "GET" or seen.range is None:
                continue
            if name is not None and seen.path.split("?")[0] != "/" + name:
                continue
            first, last = seen.range.removeprefix("bytes=").split("-")
            out.append((int(first), int(last) + 1))
        return out

    def ranges_asked(self) -> list[tuple[int, int]]:
        return self._ranges()

    def bytes_requested(self, name: str) -> int:
        return sum(end - start for start, end in self._ranges(name))

    def close(self) -> None:
        self.transport.close()
        self.server.stop()


def http_served(kind: str) -> Callable[[dict[str, bytes], FakeClock, bool], Served]:
    def serve(files: dict[str, bytes], clock: FakeClock, unknown_sizes: bool) -> Served:
        return HttpServed(kind, files)

    return serve
