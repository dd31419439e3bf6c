"""The command line's deeds: check everything that can be checked, then mount (or list).

Every way a mount can fail before the kernel is involved (bad URL, server
down, wrong password, mount point missing or busy, no FUSE library) is found
by :func:`preflight` and raised as a one-line :class:`CliError` with a hint, so
a user never reads a traceback or cleans up a half-made mount.  Then
:func:`mount` blocks in the FUSE loop, or :func:`mount_in_background` forks
and returns once the mount is up.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from . import platform as plat
from .logsetup import setup as setup_logging

if TYPE_CHECKING:
    from .core.attrs import CacheConfig

log = logging.getLogger("partyfuse.cli")

#: Seconds --background waits for the mount to appear.
BACKGROUND_DEADLINE = 30.0

EXIT_OK, EXIT_FAIL = 0, 1


class CliError(Exception):
    """A one-line reason the command cannot go on (printed as ``partyfuse: error: ...``)."""


def read_password(args: argparse.Namespace) -> str | None:
    """The password -a gives (itself, or read from $FILE)."""
    if not args.password_spec:
        return None
    from .http import PasswordError
    from .http import read_password as read

    try:
        return read(args.password_spec)
    except PasswordError as ex:
        raise CliError(str(ex)) from None


def _tls(args: argparse.Namespace) -> Any:
    from .http import TlsOptions

    trust = os.path.expanduser(args.trust_file) if args.trust_file else None
    if trust and not os.path.isfile(trust):
        raise CliError(f"-te {args.trust_file}: no such file")
    return TlsOptions(
        trust_file=trust, check_hostname=bool(args.check_hostname), insecure=bool(args.insecure)
    )


def make_transport(args: argparse.Namespace, url: str, password: str | None) -> Any:
    from .http import BadUrl, HttpTransport

    dialect = None if args.dialect == "auto" else args.dialect
    try:
        return HttpTransport(
            url,
            password=password,
            tls=_tls(args),
            dialect=dialect,
            call_timeout=args.call_timeout,
        )
    except (BadUrl, ValueError) as ex:
        raise CliError(str(ex)) from None


def check_server(transport: Any) -> None:
    """One listing of the root with the given password: proves URL, server and credentials."""
    from .core.errors import Forbidden, NotFound, TransportError

    try:
        transport.check()
    except Forbidden as ex:
        raise CliError(f"{ex} (check the password given with -a)") from None
    except NotFound as ex:
        hint = "" if "must name a folder" in str(ex) else " (check the URL: it must name a folder)"
        raise CliError(f"{ex}{hint}") from None
    except TransportError as ex:
        if "TLS certificate" in str(ex):  # names its own fix (-te, -teh, -td)
            raise CliError(str(ex)) from None
        raise CliError(f"{ex} (is the server running and the URL right?)") from None
    except ValueError as ex:  # e.g. an unreadable -te file
        raise CliError(str(ex)) from None


def cache_config(args: argparse.Namespace) -> CacheConfig:
    """The core's cache settings; a ValueError if the core refuses them."""
    from .core.attrs import CacheConfig

    return CacheConfig(
        dir_max=args.dir_cache_max, dir_ttl=args.dir_cache_ttl, file_blocks=args.file_cache_blocks
    )


def preflight(args: argparse.Namespace) -> tuple[Any, str | None]:
    """Everything a mount needs, checked in the order a user can fix it; (transport, password)."""
    from .fusebind import FuseUnavailable, load

    try:
        load()
    except FuseUnavailable as ex:
        raise CliError(str(ex)) from None
    if args.background and plat.is_windows():
        raise CliError("--background is not available on Windows; use `start /b partyfuse ...`")
    reason = plat.check_mountpoint(args.local_path, nonempty=args.nonempty)
    if reason:
        raise CliError(reason)
    password = read_password(args)
    transport = make_transport(args, args.base_url, password)
    try:
        check_server(transport)
    except BaseException:
        transport.close()
        raise
    return transport, password


def list_url(args: argparse.Namespace, password: str | None) -> int:
    """``--ls``: print what the mount would show at the URL."""
    from .lscmd import run_ls

    transport = make_transport(args, args.ls_url, password)
    try:
        # the same mount-time check: copyparty answers a wrong password on its
        # root with an empty listing, which would otherwise print nothing and succeed
        check_server(transport)
        return run_ls(transport, recursive=args.recursive, out=sys.stdout)
    finally:
        transport.close()


def mount(args: argparse.Namespace, transport: Any, on_ready: Any = None) -> None:
    """Build the RemoteFS and block in the FUSE loop until unmounted."""
    from .core.prefetch import CONCURRENCY
    from .core.readplan import AHEAD_WINDOWS
    from .core.remotefs import RemoteFS
    from .fuse_adapter import Spawner, make_operations, mount_options, run_mount
    from .fusebind import load

    binding = load()
    # one worker per read-ahead window in flight, plus fetch-ahead's cap
    spawner = Spawner(workers=AHEAD_WINDOWS + CONCURRENCY)
    fs = RemoteFS(
        transport,
        clock=time.monotonic,
        config=cache_config(args),
        lock_factory=threading.Lock,
        names=plat.names_for(),
        spawn=spawner,
        mount_time=time.time(),
    )
    ops = make_operations(fs, binding, timeout=args.dir_cache_ttl, on_init=on_ready)
    opts = mount_options(
        binding=binding,
        fsname="partyfuse:" + str(getattr(transport, "base", "remote")),
        timeout=args.dir_cache_ttl,
        allow_other=args.allow_other,
        nonempty=args.nonempty,
        single_thread=args.single_thread,
    )
    log.info("mounting %s on %s", transport.base, args.local_path)
    try:
        run_mount(ops, args.local_path, binding, opts)
    except RuntimeError as ex:
        if ops.mounted:  # libfuse3 answers 8 after a Ctrl-C/SIGTERM unmount
            log.debug("FUSE loop ended with code %s after the mount", ex)
        else:
            raise CliError(
                f"FUSE could not mount on {args.local_path} (libfuse error {ex}); "
                "see the message above"
            ) from None
    finally:
        spawner.shutdown()
        transport.close()
    st = fs.stats
    log.info(
        "unmounted %s (%d requests, %d bytes fetched)",
        args.local_path,
        st.requests,
        st.bytes_fetched,
    )


def mount_in_background(args: argparse.Namespace, transport: Any, password: str | None) -> int:
    """Fork; the child mounts and says when FUSE is up, the parent waits for the mount."""
    transport.close()  # its sockets must not be shared with the child
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(rfd)
        code = EXIT_FAIL
        try:
            os.setsid()
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.close(null)
            logs = setup_logging(
                quiet=args.quiet,
                debug=args.debug,
                logf=args.log_file,
                secrets=[password] if password else [],
                stream=open(os.devnull, "w"),  # noqa: SIM115 - lives as long as the process
            )

            def ready() -> None:
                os.write(wfd, b"ok\n")

            try:
                mount(args, make_transport(args, args.base_url, password), on_ready=ready)
                code = EXIT_OK
            except CliError as ex:
                log.error("%s", ex)
                os.write(wfd, f"error: {ex}\n".encode("utf-8", "replace"))
            finally:
                logs.close()
        except BaseException:
            pass
        finally:
            os._exit(code)
    os.close(wfd)
    msg = _wait_background(rfd, pid, args.local_path)
    os.close(rfd)
    if msg:
        raise CliError(msg)
    print(f"partyfuse: mounted {args.base_url} on {args.local_path} (pid {pid})", flush=True)
    return EXIT_OK


def _wait_background(rfd: int, pid: int, mountpoint: str) -> str | None:
    """None once the mount is up; else why not (the child's message, or that it died)."""
    deadline = time.monotonic() + BACKGROUND_DEADLINE
    buf = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([rfd], [], [], 0.05)
        if ready:
            chunk = os.read(rfd, 4096)
            buf += chunk
            if buf.startswith(b"error: "):
                os.waitpid(pid, 0)
                return buf[len(b"error: ") :].decode("utf-8", "replace").strip()
            if not chunk and not buf.startswith(b"ok"):
                os.waitpid(pid, 0)
                return "the background process exited before the mount was ready"
        if buf.startswith(b"ok") and os.path.ismount(mountpoint):
            return None
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return f"the background process exited ({status >> 8}) before the mount was ready"
    return f"no mount on {mountpoint} after {BACKGROUND_DEADLINE:.0f}s (pid {pid} left running)"
