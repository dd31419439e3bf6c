"""Launchers for the REAL nginx, apache2, lighttpd and python http.server, plus fixtures.

Each server gets its own temp dir (config, pid, logs, temp paths), binds
127.0.0.1 on a free port, runs in the foreground as our child, and is
stopped by PID (terminate, then kill) in a fixture finalizer.  A missing
binary is an error, never a skip: CI installs all four.

The tree is written into ``<workdir>/root``; the workdir is chmod 755 because
nginx workers (``nobody``) and apache children (``www-data``) drop root and
must be able to read it.  Servers run with ``TZ`` set to :data:`TZ` (UTC+5:30,
a half-hour offset catches hour-only assumptions) so "local time" listings
are testable: pass :data:`GMTOFF_MINUTES` to the renderers.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fakes.tree import Tree
from tests.support.factories import stopped_afterwards
from tests.support.ports import free_port, wait_for_port

TZ = "<+0530>-5:30"
GMTOFF_MINUTES = 330
START_DEADLINE = 15.0

NGINX_VARIANTS = ("html", "html-rounded", "html-localtime", "html-utf8", "json", "xml")
APACHE_VARIANTS = ("table", "pre", "ul")
KINDS = {
    "nginx": NGINX_VARIANTS,
    "apache": APACHE_VARIANTS,
    "lighttpd": ("dirlisting",),
    "python": ("http.server",),
}


@dataclass
class RealServer:
    """A running server process and where it serves from."""

    kind: str
    variant: str
    port: int
    proc: subprocess.Popen[bytes]
    workdir: Path
    root: Path
    auth: tuple[str, str] | None = None
    logs: list[Path] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def replace_tree(self, tree: Tree) -> None:
        """Serve another tree from now on (servers read the disk on every request)."""
        for child in os.listdir(os.fsencode(self.root)):
            full = os.path.join(os.fsencode(self.root), child)
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full)
            else:
                os.unlink(full)
        tree.write_to(self.root)

    def stop(self) -> None:
        """Terminate by PID, kill after a grace period, always reap; then drop the workdir."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _binary(name: str) -> str:
    path = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if path is None:
        raise RuntimeError(f"{name} is not installed (CI must install it; see DEVELOPERS.md)")
    return path


def sha_htpasswd(user: str, password: str) -> str:
    """An htpasswd line nginx and apache both accept without crypt(): ``{SHA}``."""
    digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
    return f"{user}:{{SHA}}{digest}\n"


def _nginx(work: Path, root: Path, port: int, variant: str, auth: bool) -> list[str]:
    options = {
        "html": "",
        "html-rounded": "autoindex_exact_size off;",
        "html-localtime": "autoindex_localtime on;",
        "html-utf8": "charset utf-8;",
        "json": "autoindex_format json;",
        "xml": "autoindex_format xml;",
    }[variant]
    mime = "include /etc/nginx/mime.types;" if Path("/etc/nginx/mime.types").exists() else ""
    auth_conf = f'auth_basic "partyfuse"; auth_basic_user_file {work}/htpasswd;' if auth else ""
    temps = " ".join(
        f"{k}_temp_path {work}/{k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = f"""
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log {work}/access.log;
  {mime}
  default_type application/octet-stream;
  {temps}
  server {{
    listen 127.0.0.1:{port};
    root {root};
    autoindex on;
    {options}
    {auth_conf}
  }}
}}
"""
    (work / "nginx.conf").write_text(conf)
    # -e: without it a non-root nginx first tries the packaged /var/log/nginx/error.log
    return [
        _binary("nginx"),
        "-p",
        f"{work}/",
        "-e",
        f"{work}/error.log",
        "-c",
        f"{work}/nginx.conf",
        "-g",
        "daemon off;",
    ]


def _apache(work: Path, root: Path, port: int, variant: str, auth: bool) -> list[str]:
    mods = ["mpm_event", "authz_core", "dir", "mime", "autoindex", "alias"]
    if auth:
        mods += ["authn_core", "authn_file", "auth_basic", "authz_user"]
    modules = "\n".join(f"LoadModule {m}_module /usr/lib/apache2/modules/mod_{m}.so" for m in mods)
    debian_autoindex = Path("/etc/apache2/mods-available/autoindex.conf")
    if not debian_autoindex.exists():
        raise RuntimeError(f"{debian_autoindex} missing: the apache2 Debian package is needed")
    style = {
        "table": "",
        "pre": "IndexOptions -HTMLTable",
        "ul": "IndexOptions -HTMLTable -FancyIndexing",
    }[variant]
    require = (
        f'AuthType Basic\n  AuthName "partyfuse"\n'
        f"  AuthUserFile {work}/htpasswd\n  Require valid-user"
        if auth
        else "Require all granted"
    )
    conf = f"""
ServerRoot {work}
Listen 127.0.0.1:{port}
ServerName 127.0.0.1
PidFile {work}/apache.pid
ErrorLog {work}/error.log
DefaultRuntimeDir {work}
Mutex file:{work} default
{modules}
TypesConfig /etc/mime.types
Include {debian_autoindex}
DocumentRoot {root}
<Directory {root}>
  Options +Indexes
  {style}
  {require}
</Directory>
"""
    (work / "apache.conf").write_text(conf)
    return [_binary("apache2"), "-f", f"{work}/apache.conf", "-DFOREGROUND"]


def _lighttpd(work: Path, root: Path, port: int, variant: str, auth: bool) -> list[str]:
    if auth:
        raise ValueError("basic auth is only wired for nginx and apache")
    conf = f"""
server.document-root = "{root}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{work}/error.log"
server.upload-dirs = ("{work}")
server.modules += ("mod_dirlisting")
dir-listing.activate = "enable"
"""
    (work / "lighttpd.conf").write_text(conf)
    return [_binary("lighttpd"), "-D", "-f", f"{work}/lighttpd.conf"]


def _python(work: Path, root: Path, port: int, variant: str, auth: bool) -> list[str]:
    if auth:
        raise ValueError("python http.server has no auth")
    return [
        sys.executable,
        "-m",
        "http.server",
        "--bind",
        "127.0.0.1",
        "--directory",
        str(root),
        str(port),
    ]


_BUILDERS: dict[str, Callable[[Path, Path, int, str, bool], list[str]]] = {
    "nginx": _nginx,
    "apache": _apache,
    "lighttpd": _lighttpd,
    "python": _python,
}


def start_real_server(
    kind: str,
    tree: Tree,
    *,
    variant: str | None = None,
    auth: tuple[str, str] | None = None,
) -> RealServer:
    """Write ``tree`` to a fresh dir and serve it; raises if the server will not come up."""
    if kind not in KINDS:
        raise ValueError(f"unknown server kind {kind!r}")
    variant = variant or KINDS[kind][0]
    if variant not in KINDS[kind]:
        raise ValueError(f"{kind} has no variant {variant!r}; choose from {KINDS[kind]}")
    work = Path(tempfile.mkdtemp(prefix=f"partyfuse-{kind}-"))
    work.chmod(0o755)
    root = tree.write_to(work / "root")
    if auth:
        (work / "htpasswd").write_text(sha_htpasswd(*auth))
    env = {**os.environ, "TZ": TZ}
    last_error = ""
    for _attempt in range(3):  # the free port can be taken between probe and bind
        port = free_port()
        argv = _BUILDERS[kind](work, root, port, variant, auth is not None)
        stderr = open(work / "stderr.log", "wb")  # noqa: SIM115 - lives as long as the process
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, env=env
        )
        stderr.close()
        server = RealServer(
            kind, variant, port, proc, work, root, auth, [work / "stderr.log", work / "error.log"]
        )
        try:
            wait_for_port(port, proc, START_DEADLINE)
            return server
        except (RuntimeError, AssertionError) as e:  # died, or never listened
            last_error = f"{e}\n{server.log_text()}"
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    shutil.rmtree(work, ignore_errors=True)
    raise RuntimeError(f"{kind} ({variant}) did not start: {last_error}")


RealServerFactory = Callable[..., RealServer]


@pytest.fixture
def real_server() -> Iterator[RealServerFactory]:
    """``real_server(kind, tree, variant=..., auth=...)``; stopped after the test."""
    yield from stopped_afterwards(start_real_server, RealServer.stop)


@pytest.fixture(scope="module")
def real_server_module() -> Iterator[RealServerFactory]:
    """Same, but servers live for the whole module (start each variant once)."""
    yield from stopped_afterwards(start_real_server, RealServer.stop)
