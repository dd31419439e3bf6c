"""Everything the benchmark starts: copyparty, FUSE clients, the raw HTTP client;
and how each is stopped, counted and timed."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import select
import shutil
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

from bench_common import BenchError, Config
from linkemu import LinkSpec

# copyparty's -lo log has one line per request, e.g.
#   "@2026-1121-100752.676  LOG [127.0.0.1 59812      ] GET  /big.bin @* [0-4095]"
REQ_LINE = re.compile(rb"\] (GET|HEAD|POST|PUT|OPTIONS|PROPFIND) +(\S+)")
# ... and a ranged request ends in the Range it asked for: "[first-last]", "[first-]", "[-n]"
# (nginx's access log is written in the same shape, its Range as "[bytes=first-last]")
RANGE_TAIL = re.compile(rb" \[(?:bytes=)?(\d*)-(\d*)\]\s*$")
# the servers the benchmark can start; the tree and every client are the same for each
SERVERS = ("copyparty", "nginx")
# nginx serves the tree under this prefix a second time with JSON listings, for the raw
# client alone; the mounts see the HTML autoindex at / (a virtual location: not listed)
NGINX_JSON_PREFIX = "/.bench-json"


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


def _http_up(port: int, path: str) -> bool:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("GET", path)
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


class Server:
    """A file server on 127.0.0.1 serving ``root``, pinned to the server CPU.

    Subclasses start it and write one log line per request in copyparty's shape
    (``] GET /path [first-last]``), so request and byte counting is shared.
    """

    kind = "?"

    def __init__(self, cfg: Config, root: Path, work: Path, cleanup: Cleanup) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.root = root
        self.work = work
        self.log = work / f"{self.kind}.log"
        self.out = open(work / f"{self.kind}.out", "wb")  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(
            pinned(self.command(cfg), cfg.server_cpu),
            stdout=self.out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        cleanup.procs.append(self.proc)
        wait_until(lambda: _http_up(self.port, self.probe), 60, self.kind, self.proc)

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def requests_since(self, offset: int) -> dict[str, int]:
        """Count requests logged after `offset`; waits for the log to settle first."""
        last, stable_since = -1, time.monotonic()
        end = time.monotonic() + 5
        while time.monotonic() < end:
            size = self.log_size()
            if size != last:
                last, stable_since = size, time.monotonic()
            elif time.monotonic() - stable_since > 0.3:
                break
            time.sleep(0.05)
        with open(self.log, "rb") as f:
            f.seek(offset)
            text = f.read()
        counts = {"requests": 0, "listings": 0, "ranged": 0, "file_bytes": 0}
        for line in text.splitlines():
            m = REQ_LINE.search(line)
            if not m:
                continue
            counts["requests"] += 1
            target = m.group(2)
            if b"?ls" in target or target.split(b"?", 1)[0].endswith(b"/"):
                counts["listings"] += 1
                continue
            size = self._file_size(target)
            r = RANGE_TAIL.search(line, m.end())
            if r and (r.group(1) or r.group(2)):  # nginx logs no Range as "[-]"
                counts["ranged"] += 1
                if not r.group(1):  # suffix range: the last n bytes
                    counts["file_bytes"] += min(int(r.group(2) or 0), size)
                else:
                    first = int(r.group(1))
                    last = int(r.group(2)) if r.group(2) else size - 1
                    counts["file_bytes"] += max(0, min(last, size - 1) - first + 1)
            elif m.group(1) == b"GET":
                counts["file_bytes"] += size
        return counts

    def _file_size(self, target: bytes) -> int:
        """Size of the served file a request names (0 for directories and unknowns)."""
        rel = urllib.parse.unquote(target.split(b"?", 1)[0].decode("utf-8", "replace"))
        p = self.root / rel.lstrip("/")
        try:
            return p.stat().st_size if p.is_file() else 0
        except OSError:
            return 0

    probe = "/"

    def command(self, cfg: Config) -> list[str]:
        raise NotImplementedError


class CopypartyServer(Server):
    kind = "copyparty"
    probe = "/?ls"

    def command(self, cfg: Config) -> list[str]:
        return [
            cfg.python,
            "-m",
            "copyparty",
            "-i",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-v",
            f"{self.root}::r",
            "-q",
            "--no-thumb",
            "--hist",
            str(self.work / "hist"),
            "-lo",
            str(self.log),
            "--flo",
            "2",
        ]


class NginxServer(Server):
    """Debian's nginx: HTML autoindex with exact sizes (what the mounts read), JSON
    listings under NGINX_JSON_PREFIX (what the raw client reads); its own pid file,
    error log and temp dirs under the work dir; foreground, so stopped by PID."""

    kind = "nginx"

    def command(self, cfg: Config) -> list[str]:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.access(binary, os.X_OK):
            raise BenchError("--server nginx: nginx is not installed")
        d = self.work / "nginx"
        d.mkdir(exist_ok=True)
        temps = " ".join(
            f"{k}_temp_path {d}/{k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        mime = "include /etc/nginx/mime.types;" if Path("/etc/nginx/mime.types").exists() else ""
        # as root, workers would drop to nobody, who cannot enter a 0700 work dir
        user = "user root;" if os.geteuid() == 0 else ""
        conf = f"""
{user}
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 256; }}
http {{
  log_format bench '] $request_method $request_uri [$http_range]';
  access_log {self.log} bench;
  {mime}
  default_type application/octet-stream;
  {temps}
  server {{
    listen 127.0.0.1:{self.port};
    root {self.root};
    autoindex on;
    autoindex_exact_size on;
    location {NGINX_JSON_PREFIX}/ {{
      alias {self.root}/;
      autoindex on;
      autoindex_format json;
    }}
  }}
}}
"""
        (d / "nginx.conf").write_text(conf)
        # -e: a non-root nginx would first try the packaged /var/log/nginx/error.log
        return [
            binary, "-p", f"{d}/", "-e", f"{d}/error.log", "-c", f"{d}/nginx.conf",
            "-g", "daemon off;",
        ]  # fmt: skip


def start_server(kind: str, cfg: Config, root: Path, work: Path, cleanup: Cleanup) -> Server:
    cls = {"copyparty": CopypartyServer, "nginx": NginxServer}[kind]
    return cls(cfg, root, work, cleanup)


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
