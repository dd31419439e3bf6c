"""The file servers the benchmark starts (copyparty, Debian's nginx), each
serving the same tree and logging one line per request in the same shape,
so requests and bytes are counted alike."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path

from bench_common import BenchError, Config
from bench_procs import Cleanup, free_port, pinned, wait_until

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
