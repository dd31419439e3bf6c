"""The clients the benchmark measures: a FUSE mount (partyfuse, upstream
partyfuse.py, rclone) started and stopped per measurement, and the raw HTTP
client every ratio is taken against."""

from __future__ import annotations

import contextlib
import http.client
import json
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

from bench_common import BenchError, Config
from bench_procs import (
    Cleanup,
    drop_caches,
    is_mounted,
    peak_rss_kib,
    pinned,
    proc_cpu,
    wait_until,
)
from bench_servers import NGINX_JSON_PREFIX


class MountClient:
    """A FUSE client started fresh for every measurement (no cache survives).

    ``argv(url, mountpoint)`` is its command line (rclone's differs from ours).
    """

    def __init__(
        self,
        name: str,
        argv: Callable[[str, str], list[str]],
        url: str,
        work: Path,
        cfg: Config,
        cleanup: Cleanup,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name, self.cfg, self.cleanup, self.env = name, cfg, cleanup, env
        self.work = work
        self.url, self.argv = url, argv
        self.mnt = work / f"mnt-{name}"
        self.mnt.mkdir(exist_ok=True)
        self.logpath = work / f"{name}.out"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_start = 0
        self.mount_seconds: list[float] = []

    def last_error(self) -> str:
        """The last lines the client logged during the latest mount (its complaint)."""
        with contextlib.suppress(OSError):
            with open(self.logpath, "rb") as f:
                f.seek(self.log_start)
                lines = [ln for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]
            return " | ".join(ln.strip() for ln in lines[-3:]) or "(nothing logged)"
        return "(no log)"

    def cpu(self) -> float:
        """CPU seconds (user + system, all threads) the daemon has used so far."""
        assert self.proc is not None
        return proc_cpu(self.proc.pid)

    def peak_rss_kib(self) -> int:
        """The daemon's peak resident set (VmHWM) so far; read before it exits."""
        assert self.proc is not None
        return peak_rss_kib(self.proc.pid)

    @contextlib.contextmanager
    def mounted(self) -> Iterator[Path]:
        drop_caches(self.cfg.drop_caches)
        self.log_start = self.logpath.stat().st_size if self.logpath.exists() else 0
        started = time.monotonic()
        logf = open(self.logpath, "ab")  # noqa: SIM115 - closed in finally
        self.proc = subprocess.Popen(
            pinned(self.argv(self.url, str(self.mnt)), self.cfg.client_cpu),
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=self.env,
            # not the repo: `python -m` puts the cwd first on sys.path
            cwd=self.work,
        )
        self.cleanup.procs.append(self.proc)
        self.cleanup.mounts.append(self.mnt)
        try:
            try:
                wait_until(lambda: is_mounted(self.mnt), 30, f"mount {self.name}", self.proc)
                self.mount_seconds.append(time.monotonic() - started)
            except BenchError as e:
                tail = self.logpath.read_bytes()[-800:].decode(errors="replace")
                raise BenchError(f"{e}; log tail: {tail.strip()!r}") from None
            yield self.mnt
        finally:
            self.cleanup.unmount(self.mnt)
            proc = self.proc
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
            self.cleanup.stop(proc)
            logf.close()
            self.proc = None


class RawClient:
    """Plain HTTP over one keep-alive connection: what a client could do without FUSE."""

    name = "raw"

    def __init__(self, port: int, server: str = "copyparty") -> None:
        self.port = port  # the server's, or the link emulator's in front of it
        self.server = server  # whose listing to ask for: copyparty ?ls or nginx JSON
        self.conn: http.client.HTTPConnection | None = None

    @contextlib.contextmanager
    def connected(self) -> Iterator[RawClient]:
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            yield self
        finally:
            self.conn.close()
            self.conn = None

    def get(self, path: str, rng: tuple[int, int] | None = None) -> http.client.HTTPResponse:
        assert self.conn is not None
        headers = {"Range": f"bytes={rng[0]}-{rng[1] - 1}"} if rng else {}
        self.conn.request("GET", urllib.parse.quote(path), headers=headers)
        resp = self.conn.getresponse()
        if resp.status not in (200, 206):
            raise BenchError(f"raw GET {path}: HTTP {resp.status}")
        return resp

    def another(self) -> RawClient:
        """A client of its own (one connection each) for a parallel reader."""
        return RawClient(self.port, self.server)

    def listdir(self, path: str) -> tuple[list[str], list[tuple[str, int]]]:
        assert self.conn is not None
        folder = urllib.parse.quote(path.rstrip("/") + "/")
        if self.server == "nginx":
            self.conn.request("GET", NGINX_JSON_PREFIX + folder)
        else:
            self.conn.request("GET", folder + "?ls")
        resp = self.conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise BenchError(f"raw ls {path}: HTTP {resp.status}")
        js = json.loads(body)
        if self.server == "nginx":
            # [{"name": "x", "type": "directory" | "file", "size": n, ...}], names unquoted
            dirs = [e["name"] for e in js if e["type"] == "directory"]
            files = [(e["name"], int(e["size"])) for e in js if e["type"] == "file"]
            return dirs, files
        dirs = [urllib.parse.unquote(d["href"]).rstrip("/") for d in js["dirs"]]
        files = [(urllib.parse.unquote(f["href"]), int(f["sz"])) for f in js["files"]]
        return dirs, files
