"""A real copyparty for tests: launcher, awkward source tree, pytest fixtures.

tests/conftest.py loads this module as a plugin (``pytest_plugins``), so its
fixtures and report hook reach every test package without imports.

Servers bind 127.0.0.1 on a free port, are stopped by PID in finalizers, and
write their output to a log file whose tail is attached to the report of any
failing test that used them (set PARTYFUSE_CPP_VERBOSE=1 to log every request).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.certs import _self_signed_openssl, make_self_signed  # noqa: F401 - re-exported
from tests.support.factories import stopped_afterwards
from tests.support.names import AWKWARD_NAMES, NON_UTF8_RAW, non_utf8_name
from tests.support.ports import free_port
from tests.support.wait import wait_for

START_TIMEOUT = 30.0
USER, PASSWORD = "alice", "hunter2"

# -- the source tree ---------------------------------------------------------

SIZES = {
    "empty": 0,
    "one": 1,
    "page-1": 4095,
    "64k-1": 65535,
    "64k": 65536,
    "64k+1": 65537,
    "1m+3": (1 << 20) + 3,
    "5m": 5 * (1 << 20) + 12345,
}


@dataclass
class SourceTree:
    """What the server serves: relative "/"-joined paths -> bytes."""

    root: Path
    files: dict[str, bytes] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)

    def listing(self, rel: str) -> dict[str, bool]:
        """name -> is_dir of the entries directly inside directory ``rel`` ("" = root)."""
        prefix = f"{rel}/" if rel else ""
        out: dict[str, bool] = {}
        for path in self.files:
            if path.startswith(prefix) and "/" not in path[len(prefix) :]:
                out[path[len(prefix) :]] = False
        for path in self.dirs:
            if path and path.startswith(prefix) and "/" not in path[len(prefix) :]:
                out[path[len(prefix) :]] = True
        return out

    def visible(self, rel: str) -> dict[str, bool]:
        """Like listing() without dotfiles (what a server without dot permission shows)."""
        return {k: v for k, v in self.listing(rel).items() if not k.startswith(".")}

    def write(self, rel: str, data: bytes) -> None:
        """Replace a file atomically (rename), as an upload would."""
        path = self.root / rel
        tmp = path.with_name(".tmp-" + secrets.token_hex(4))
        tmp.write_bytes(data)
        os.replace(tmp, path)
        self.files[rel] = data


def _content(rng: random.Random, size: int) -> bytes:
    return rng.randbytes(size)


def make_tree(root: Path, seed: int = 1234) -> SourceTree:
    """Build the awkward tree under ``root`` (which must be empty or missing)."""
    rng = random.Random(seed)
    tree = SourceTree(root)
    root.mkdir(parents=True, exist_ok=True)
    tree.dirs.add("")

    def add_file(rel: str, data: bytes) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        tree.files[rel] = data

    def add_dir(rel: str) -> None:
        (root / rel).mkdir(parents=True, exist_ok=True)
        parts = rel.split("/")
        for i in range(1, len(parts) + 1):
            tree.dirs.add("/".join(parts[:i]))

    for name in AWKWARD_NAMES:
        add_file(name, _content(rng, rng.randrange(1, 3000)))
    if _raw_name_written(root, NON_UTF8_RAW, b"not utf-8 name\n"):
        tree.files[non_utf8_name()] = b"not utf-8 name\n"
    add_dir("sizes")
    for name, size in SIZES.items():
        add_file(f"sizes/{name}.bin", _content(rng, size))
    for d in ("dir with space", "dir#hash", "dir?q", "dïr-ünï 🎉", "nested/a/b/c"):
        add_dir(d)
        add_file(f"{d}/inner file #1.txt", f"inside {d}\n".encode())
    add_dir("empty-dir")
    add_file(".hidden-file", b"dotfile\n")
    add_dir(".hidden-dir")
    add_file(".hidden-dir/inside.txt", b"inside a dot dir\n")
    return tree


def _raw_name_written(root: Path, name: bytes, data: bytes) -> bool:
    """Write a file whose name is these bytes, where the file system stores names as bytes.

    Linux does; APFS refuses bytes that are not UTF-8 (EILSEQ) and Windows cannot even
    spell them, so there the tree simply has no such file: tests about it are marked
    ``linux_only``."""
    try:
        with open(os.path.join(os.fsencode(root), name), "wb") as f:
            f.write(data)
    except (OSError, UnicodeError):
        return False
    return True


# -- the launcher ------------------------------------------------------------


@dataclass
class CopypartyServer:
    """One copyparty process; ``start()``/``stop()``/``restart()`` keep the port."""

    workdir: Path
    volume_args: list[str]
    """-a/-v/--usernames ... arguments describing accounts and volumes."""
    https_cert: Path | None = None
    extra_args: list[str] = field(default_factory=list)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    token: str = field(default_factory=lambda: "cpp" + secrets.token_hex(6))

    @property
    def scheme(self) -> str:
        return "https" if self.https_cert else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/"

    @property
    def log_path(self) -> Path:
        return self.workdir / "copyparty.log"

    def command(self) -> list[str]:
        cmd = [
            sys.executable, "-m", "copyparty",
            "-i", "127.0.0.1", "-p", str(self.port),
            *([] if os.environ.get("PARTYFUSE_CPP_VERBOSE") else ["-q"]),
            "--no-thumb", "--no-robots", "--no-dav", "--no-crt",
            "--hist", str(self.workdir / "hist"),
            "--name", self.token,
            # Tests send wrong passwords and provoke 404s on purpose.
            "--ban-pw", "no", "--ban-403", "no", "--ban-404", "no", "--ban-422", "no",
            "--ban-url", "no",
        ]  # fmt: skip
        if self.https_cert:
            cmd += ["--https-only", "--cert", str(self.https_cert)]
        else:
            cmd += ["--http-only"]
        return cmd + self.extra_args + self.volume_args

    def log_text(self, limit: int = 20000) -> str:
        try:
            text = self.log_path.read_bytes().decode(errors="replace")
        except OSError:
            return "(no log)"
        return text[-limit:]

    def start(self, *, same_port: bool = False, timeout: float = START_TIMEOUT) -> None:
        """Start and wait until *this* process answers (checked by its --name token,
        since another test run may grab a port between our probe and its bind)."""
        deadline = time.monotonic() + timeout
        if not (same_port and self.port):
            self.port = free_port()
        while True:
            offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            self._spawn()
            ready = self._wait_ready(deadline)
            if ready is True:
                return
            self.stop()
            busy = ready is None or "busy" in self.log_text()[offset:]
            if time.monotonic() > deadline or not busy:
                raise RuntimeError(f"copyparty did not start:\n{self.log_text()}")
            if same_port:
                time.sleep(0.2)  # poll until the port is ours again
            else:
                self.port = free_port()

    def _spawn(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, XDG_CONFIG_HOME=str(self.workdir / "xdg"))
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== start {' '.join(self.command())}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

    def _wait_ready(self, deadline: float) -> bool | None:
        """True when ours answers, None when another server holds the port, False else."""
        import ssl

        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx)
        )
        verdict: list[bool | None] = []

        def settled() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                verdict.append(False)
                return True
            try:
                with opener.open(self.url + "?ls", timeout=2) as r:
                    doc = json.loads(r.read().decode("utf-8"))
            except (OSError, ValueError, urllib.error.URLError):
                return False
            # None: somebody else's server on our port
            verdict.append(True if str(doc.get("srvinf", "")).startswith(self.token) else None)
            return True

        try:
            wait_for(settled, max(0.0, deadline - time.monotonic()), "copyparty", interval=0.05)
        except AssertionError:
            return False
        return verdict[0]

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            # copyparty lingers up to ~1 s per idle keep-alive client; tests don't care.
            proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def kill(self) -> None:
        """Die like a crashed server: SIGKILL, no goodbye on open connections."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def restart(self) -> None:
        self.stop()
        self.start(same_port=True)


ServerFactory = Callable[..., CopypartyServer]


def launch(
    workdir: Path,
    root: Path,
    *,
    password: bool = False,
    usernames: bool = False,
    dots: bool = False,
    https_cert: Path | None = None,
    extra_args: list[str] | None = None,
) -> CopypartyServer:
    """Start a server for ``root`` at "/": anonymous read-only unless
    ``password`` (then only USER may read) ; ``dots`` adds the "." permission
    that lets ``?dots`` show dotfiles."""
    who = f",{USER}" if password or usernames else ""
    perms = f"r{who}" + (f":.{who}" if dots else "")
    args: list[str] = []
    if password or usernames:
        args += ["-a", f"{USER}:{PASSWORD}"]
    if usernames:
        args += ["--usernames"]
    args += ["-v", f"{root}::{perms}"]
    server = CopypartyServer(workdir, args, https_cert=https_cert, extra_args=extra_args or [])
    server.start()
    return server


def __getattr__(name: str) -> str:
    """``NON_UTF8_NAME``, built when imported (see tests/support/names.py for why)."""
    if name == "NON_UTF8_NAME":
        return non_utf8_name()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- pytest fixtures ---------------------------------------------------------


@pytest.fixture(scope="session")
def source_tree(tmp_path_factory: pytest.TempPathFactory) -> SourceTree:
    """The awkward tree, built once per session; treat it as read-only."""
    return make_tree(tmp_path_factory.mktemp("cpp-src") / "tree")


@pytest.fixture(scope="module")
def copyparty_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerFactory]:
    """launch(root, **options) -> started server, stopped when the module ends."""

    def start(root: Path, **options: Any) -> CopypartyServer:
        return launch(tmp_path_factory.mktemp("cpp-run"), root, **options)

    yield from stopped_afterwards(start, CopypartyServer.stop)


@pytest.fixture(scope="module")
def cpp_anon(copyparty_factory: ServerFactory, source_tree: SourceTree) -> CopypartyServer:
    """Anonymous read-only, dotfiles hidden."""
    return copyparty_factory(source_tree.root)


@pytest.fixture(scope="module")
def cpp_dots(copyparty_factory: ServerFactory, source_tree: SourceTree) -> CopypartyServer:
    """Anonymous read-only with the "." permission: ?dots shows dotfiles."""
    return copyparty_factory(source_tree.root, dots=True)


@pytest.fixture(scope="module")
def cpp_password(copyparty_factory: ServerFactory, source_tree: SourceTree) -> CopypartyServer:
    """Only USER (password PASSWORD) may read; copyparty without --usernames."""
    return copyparty_factory(source_tree.root, password=True, dots=True)


@pytest.fixture(scope="module")
def cpp_usernames(copyparty_factory: ServerFactory, source_tree: SourceTree) -> CopypartyServer:
    """Like cpp_password, with --usernames (the password is "USER:PASSWORD")."""
    return copyparty_factory(source_tree.root, usernames=True, dots=True)


@dataclass
class HttpsServer:
    server: CopypartyServer
    cert: Path
    """The server's certificate (SAN: DNS localhost only), for -te."""


@pytest.fixture(scope="module")
def cpp_https(
    copyparty_factory: ServerFactory,
    source_tree: SourceTree,
    tmp_path_factory: pytest.TempPathFactory,
) -> HttpsServer:
    server_pem, cert = make_self_signed(tmp_path_factory.mktemp("cpp-cert"), hosts=("localhost",))
    return HttpsServer(copyparty_factory(source_tree.root, https_cert=server_pem), cert)


@pytest.fixture
def scratch_server(
    copyparty_factory: ServerFactory, tmp_path: Path
) -> Iterator[Callable[..., tuple[CopypartyServer, SourceTree]]]:
    """A private tree and server a test may modify, kill and restart."""
    numbers = itertools.count()

    def make(**options: Any) -> tuple[CopypartyServer, SourceTree]:
        tree = SourceTree(tmp_path / f"tree{next(numbers)}")
        tree.root.mkdir()
        tree.dirs.add("")
        return copyparty_factory(tree.root, **options), tree

    yield from stopped_afterwards(make, lambda made: made[0].stop())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """Attach the log of every copyparty a failing test used to its report."""
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    for value in getattr(item, "funcargs", {}).values():
        server = value.server if isinstance(value, HttpsServer) else value
        if isinstance(value, tuple) and value and isinstance(value[0], CopypartyServer):
            server = value[0]
        if not isinstance(server, CopypartyServer):
            continue
        section = (f"copyparty log ({server.url})", server.log_text())
        # registered twice where a conftest still imports this hook: attach it once
        if section not in rep.sections:
            rep.sections.append(section)


__all__ = [
    "AWKWARD_NAMES",
    "PASSWORD",
    "SIZES",
    "USER",
    "CopypartyServer",
    "HttpsServer",
    "SourceTree",
    "copyparty_factory",
    "cpp_anon",
    "cpp_dots",
    "cpp_https",
    "cpp_password",
    "cpp_usernames",
    "free_port",
    "launch",
    "make_self_signed",
    "make_tree",
    "pytest_runtest_makereport",
    "scratch_server",
    "source_tree",
]
