"""How the benchmark's processes are run: stopped by PID, unmounted, pinned to a
CPU, waited for, counted (CPU seconds, peak memory); and the link emulator
as its own process."""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from bench_common import BenchError, Config
from linkemu import LinkSpec


class Cleanup:
    """Everything started is stopped by PID and every mount unmounted, even on Ctrl-C."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.mounts: list[Path] = []

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        with contextlib.suppress(ValueError):
            self.procs.remove(proc)

    def unmount(self, mnt: Path) -> None:
        if is_mounted(mnt):
            r = subprocess.run(["fusermount", "-u", str(mnt)], capture_output=True)
            if r.returncode != 0 and is_mounted(mnt):
                subprocess.run(["fusermount", "-uz", str(mnt)], capture_output=True)
        with contextlib.suppress(ValueError):
            self.mounts.remove(mnt)

    def all(self) -> None:
        for mnt in list(self.mounts):
            with contextlib.suppress(Exception):
                self.unmount(mnt)
        for proc in list(self.procs):
            with contextlib.suppress(Exception):
                self.stop(proc)


def is_mounted(mnt: Path) -> bool:
    target = os.fsencode(os.path.realpath(mnt))
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 4 and fields[4].replace(b"\\040", b" ") == target:
                return True
    return False


def wait_until(
    cond: Callable[[], bool],
    deadline_s: float,
    what: str,
    alive: subprocess.Popen[bytes] | None = None,
) -> None:
    end = time.monotonic() + deadline_s
    while not cond():
        if alive is not None and alive.poll() is not None:
            raise BenchError(f"{what}: process exited with status {alive.returncode}")
        if time.monotonic() > end:
            raise BenchError(f"{what}: not ready after {deadline_s:.0f}s")
        time.sleep(0.02)


def proc_cpu(pid: int) -> float:
    """utime + stime of a whole process from /proc/PID/stat, in seconds."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    # fields[0] is the state (field 3 of proc(5)); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_kib(pid: int) -> int:
    """VmHWM of a process from /proc/PID/status, in KiB (0 if unreadable)."""
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status", "rb") as f:
        for line in f:
            if line.startswith(b"VmHWM:"):
                return int(line.split()[1])
    return 0


def self_cpu() -> float:
    t = os.times()
    return t.user + t.system


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cmd: list[str], cpu: int | None) -> list[str]:
    return ["taskset", "-c", str(cpu), *cmd] if cpu is not None else cmd


def drop_caches(enabled: bool) -> None:
    """Drop the page cache so no FUSE page from an earlier run is served by the kernel.

    Remounting already gives a fresh inode cache; this also covers a daemon that
    sets FOPEN_KEEP_CACHE.  The source tree lives on tmpfs, which drop_caches
    leaves alone, so the server side stays equally warm for every client.
    """
    if not enabled:
        return
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


LINKEMU = Path(__file__).resolve().parent / "linkemu.py"


class LinkProc:
    """scripts/linkemu.py as its own process in front of the server, pinned with it
    (the link is the server's side of the wire); stopped by PID."""

    def __init__(
        self, spec: LinkSpec, target_port: int, cfg: Config, work: Path, cleanup: Cleanup
    ) -> None:
        self.spec = spec
        self.err = work / f"linkemu-{spec.rtt_ms:g}ms-{spec.mbit:g}mbit.err"
        self.cleanup = cleanup
        cmd = [
            cfg.python,
            str(LINKEMU),
            "--target",
            f"127.0.0.1:{target_port}",
            "--rtt-ms",
            str(spec.rtt_ms),
            "--mbit",
            str(spec.mbit),
        ]
        with open(self.err, "wb") as errf:
            self.proc = subprocess.Popen(
                pinned(cmd, cfg.server_cpu),
                stdout=subprocess.PIPE,
                bufsize=0,  # unbuffered: select() below must see every line
                stderr=errf,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        cleanup.procs.append(self.proc)
        self.port = self._read_port(30)
        self.url = f"http://127.0.0.1:{self.port}/"
        self.cpu0 = proc_cpu(self.proc.pid)

    def _read_port(self, deadline_s: float) -> int:
        assert self.proc.stdout is not None
        out = self.proc.stdout
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            ready, _, _ = select.select([out], [], [], 0.2)
            if ready:
                line = out.readline()
                if not line:
                    break
                if line.startswith(b"PORT "):
                    return int(line.split()[1])
        tail = self.err.read_bytes()[-400:].decode(errors="replace").strip()
        raise BenchError(f"linkemu did not start: {tail or 'no output'}")

    def cpu(self) -> float:
        """CPU seconds the emulator used since it started listening."""
        return proc_cpu(self.proc.pid) - self.cpu0

    def stop(self) -> dict[str, float]:
        """Stop it by PID; its byte counts (it prints them on SIGTERM)."""
        self.cleanup.stop(self.proc)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        with contextlib.suppress(OSError, ValueError, IndexError):
            return dict(json.loads(self.err.read_text().strip().splitlines()[-1]))
        return {}
