"""A flat folder of small files, a `cp -r` of it, and a change while a copy runs:
the workload fetch-ahead is for (tests/core/test_prefetch*.py)."""

from __future__ import annotations

import os

from fakes.clock import FakeClock
from fakes.memory import MemoryTransport
from partyfuse.core.remotefs import RemoteFS
from tests.support.fs import Jobs, KiB, memory_fs, payload, read_all


def folder(n: int, size: int = 4 * KiB, name: str = "p") -> dict[str, bytes]:
    """``n`` files of ``size`` bytes in one folder, each with bytes of its own."""
    return {f"{name}/f{i:03d}": payload(size, i) for i in range(n)}


def copy_folder(fs: RemoteFS, jobs: Jobs, path: str, *, between: bool = True) -> dict[str, bytes]:
    """What `cp -r` does to a flat folder: list it, then read each file in listing order."""
    out = {}
    for name, _ in fs.readdir(path):
        fh = fs.open(f"{path}/{name}", os.O_RDONLY)
        out[name] = read_all(fs, f"{path}/{name}", fh=fh)
        fs.release(f"{path}/{name}", fh)
        if between:
            jobs.run()  # the pool works while the program handles what it read
    return out


def copy_started(
    n: int, **memory_kw: object
) -> tuple[dict[str, bytes], RemoteFS, MemoryTransport, FakeClock, Jobs]:
    """A folder of ``n`` files ("p") listed and its first file read, as a copy
    starts: the fetch-ahead of the next files waits in the returned Jobs."""
    files = folder(n)
    jobs = Jobs()
    fs, t, clock = memory_fs(files, spawn=jobs, **memory_kw)  # type: ignore[arg-type]
    fs.readdir("/p")
    assert read_all(fs, "/p/f000") == files["p/f000"]
    return files, fs, t, clock, jobs


def replaced_meanwhile(fs: RemoteFS, t: MemoryTransport, clock: FakeClock, path: str) -> bytes:
    """Arrange that the next answer ``t`` gives is overtaken by ``path`` replaced
    on the server and its folder re-listed (the new version shown); the new bytes."""
    new = payload(4 * KiB, 77)

    def change() -> None:
        t.put(path, new)
        clock.advance(1.0)
        fs.readdir("/" + path.rpartition("/")[0])  # the listing now shows the new version

    t.meanwhile = change
    return new
