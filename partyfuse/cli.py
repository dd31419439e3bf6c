"""The ``partyfuse`` command: parse, check, mount, wait, unmount.

Every way a mount can fail before the kernel is involved (bad URL, server
down, wrong password, mount point missing or busy, no FUSE library) is found
here first and reported as one line with a hint and a non-zero exit, so a
user never has to read a traceback or clean up a half-made mount.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import shlex
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from . import __version__
from . import platform as plat
from .logsetup import LogSetup
from .logsetup import setup as setup_logging

if TYPE_CHECKING:
    from .core.attrs import CacheConfig

log = logging.getLogger("partyfuse.cli")

#: Listing dialects -html accepts ("auto" detects from the first listing).
HTML_DIALECTS = ("auto", "cpp", "nginx", "iis", "apache", "lighttpd", "python", "generic")

#: Seconds --background waits for the mount to appear.
BACKGROUND_DEADLINE = 30.0

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CliError(Exception):
    """A one-line reason the command cannot go on (printed as ``partyfuse: error: ...``)."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' layout; defaults are written into the help texts that have one."""


def _nonneg_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return v


def _nonneg_count(text: str) -> int:
    """A count that may be spelled as a float (upstream parses -cdn as a float:
    ``-cdn 24.0`` works there), as long as it is a whole number."""
    try:
        return _nonneg_int(text)
    except argparse.ArgumentTypeError:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not v.is_integer():  # also nan and inf
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if v < 0:
            raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}") from None
        return int(v)


def _nonneg_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v >= 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number, 0 or more: {text!r}")
    return v


def _examples(platform: str) -> str:
    lines = [
        "examples:",
        "  partyfuse http://192.168.1.69:3923/music/ ./music",
        "      mount a copyparty folder on ./music (Ctrl-C unmounts)",
        "  partyfuse -a '$~/.copyparty-pass' https://files.example.com/ /mnt/remote",
        "      with a password read from a file (or -a hunter2, -a alice:hunter2)",
        "  partyfuse --html nginx http://10.0.0.5/pub/ ./pub",
        "      an nginx autoindex (HTML, JSON or XML; detected when --html is not given)",
        "  partyfuse -cdn 48 -cds 5 -cf 24 http://nas:3923/ ./nas",
        "      bigger caches for a deep, mostly static tree",
        "  partyfuse -te server.pem --logf /tmp/pf.log https://nas:3923/ ./nas",
        "      trust one certificate, log to a file",
        "  partyfuse --ls http://nas:3923/docs/ -r",
        "      list what a mount would show, without mounting",
        "  partyfuse -d http://127.0.0.1:3923/ ./dbg",
        "      debug: every request, range and cache decision",
    ]
    if plat.is_windows(platform):
        lines += ["  partyfuse http://192.168.1.69:3923/music/ M:", "      mount as drive M:"]
    else:
        unmount = shlex.join(plat.unmount_command("./nas", platform))
        lines += [
            f"  partyfuse --background http://nas:3923/ ./nas; {unmount}",
            "      return once mounted; unmount later",
        ]
    lines += [
        "",
        'if the server runs with --usernames, the password is "username:password".',
    ]
    return "\n".join(lines)


def build_parser(platform: str | None = None) -> argparse.ArgumentParser:
    platform = platform or sys.platform
    where = "local directory" + (" or drive letter (M:)" if plat.is_windows(platform) else "")
    ap = argparse.ArgumentParser(
        prog="partyfuse",
        formatter_class=_Formatter,
        description=(
            "Mount a remote HTTP file server (copyparty, nginx, IIS, Apache, ...) "
            f"as a local read-only filesystem. v{__version__}"
        ),
        epilog=_examples(platform),
    )
    ap.add_argument("base_url", nargs="?", help="URL of the remote folder to mount")
    ap.add_argument("local_path", nargs="?", help=f"{where} to mount it on")
    ap.add_argument("-a", metavar="PASSWORD", help="password, user:password, or $FILE to read it")
    ap.add_argument("--version", action="version", version=f"partyfuse {__version__}")
    ap.add_argument(
        "--ls",
        metavar="URL",
        help="list URL as the mount would show it, without mounting (with -r: the whole tree)",
    )
    ap.add_argument("-r", action="store_true", help="with --ls: recurse into subfolders")
    ap.add_argument(
        "--background",
        action="store_true",
        help="return once the mount is ready and keep serving it in the background",
    )

    g = ap.add_argument_group("https/TLS")
    g.add_argument("-te", metavar="PEMFILE", help="certificate (or CA) to expect and verify")
    g.add_argument("-teh", action="store_true", help="with -te: also require the right hostname")
    g.add_argument("-td", action="store_true", help="disable certificate checks (insecure)")

    g = ap.add_argument_group("listings")
    g.add_argument(
        "--html",
        metavar="DIALECT",
        choices=HTML_DIALECTS,
        default="auto",
        help="server type whose listings to read: "
        + ", ".join(HTML_DIALECTS)
        + " (default: %(default)s)",
    )

    g = ap.add_argument_group("cache/perf")
    g.add_argument(
        "-cdn",
        metavar="DIRS",
        type=_nonneg_count,
        default=24,
        help="directory cache: most folders kept; keep above the tree depth; 0=off "
        "(default: %(default)s)",
    )
    g.add_argument(
        "-cds",
        metavar="SECS",
        type=_nonneg_float,
        default=1.0,
        help="directory cache: seconds until a listing is stale, also the kernel's "
        "cache time (default: %(default)s)",
    )
    g.add_argument(
        "-cf",
        metavar="BLOCKS",
        type=_nonneg_int,
        default=12,
        help="file cache: blocks kept, each up to 1 MiB (default: %(default)s)",
    )

    g = ap.add_argument_group("logging")
    g.add_argument("-q", action="store_true", help="quiet: only errors")
    g.add_argument("-d", action="store_true", help="debug: every request, range, cache decision")
    g.add_argument(
        "--slowterm", action="store_true", help="print only the most recent lines, in batches"
    )
    g.add_argument("--logf", metavar="FILE", help="log to FILE as well; implies --slowterm")

    g = ap.add_argument_group("fuse")
    g.add_argument("--oth", action="store_true", help="let other users see the mount (allow_other)")
    g.add_argument(
        "--nonempty", action="store_true", help="allow mounting over a non-empty directory"
    )
    g.add_argument(
        "--st",
        action="store_true",
        help="single-threaded FUSE loop, as upstream: more throughput on a fast link, but "
        "one slow fetch stalls every other file operation",
    )
    return ap


# ---------------------------------------------------------------------------


def _password(args: argparse.Namespace) -> str | None:
    if not args.a:
        return None
    from .http import PasswordError, read_password

    try:
        return read_password(args.a)
    except PasswordError as ex:
        raise CliError(str(ex)) from None


def _tls(args: argparse.Namespace) -> Any:
    from .http import TlsOptions

    if args.te and not os.path.isfile(os.path.expanduser(args.te)):
        raise CliError(f"-te {args.te}: no such file")
    return TlsOptions(
        trust_file=os.path.expanduser(args.te) if args.te else None,
        check_hostname=bool(args.teh),
        insecure=bool(args.td),
    )


def make_transport(args: argparse.Namespace, url: str, password: str | None) -> Any:
    from .http import BadUrl, HttpTransport

    dialect = None if args.html == "auto" else args.html
    try:
        return HttpTransport(url, password=password, tls=_tls(args), dialect=dialect)
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


def _fsname(transport: Any) -> str:
    return "partyfuse:" + str(getattr(transport, "base", "remote"))


def _cache_config(args: argparse.Namespace) -> CacheConfig:
    from .core.attrs import CacheConfig

    return CacheConfig(dir_max=args.cdn, dir_ttl=args.cds, file_blocks=args.cf)


def _mount(args: argparse.Namespace, transport: Any, on_ready: Any = None) -> None:
    """Build the RemoteFS and block in the FUSE loop until unmounted."""
    from .core.remotefs import RemoteFS
    from .fuse_adapter import Spawner, make_operations, mount_options, run_mount
    from .fusebind import load

    binding = load()
    spawner = Spawner(workers=2)
    fs = RemoteFS(
        transport,
        clock=time.monotonic,
        config=_cache_config(args),
        lock_factory=threading.Lock,
        names=plat.names_for(),
        spawn=spawner,
        mount_time=time.time(),
    )
    ops = make_operations(fs, binding, timeout=args.cds, on_init=on_ready)
    opts = mount_options(
        binding=binding,
        fsname=_fsname(transport),
        timeout=args.cds,
        allow_other=args.oth,
        nonempty=args.nonempty,
        single_thread=args.st,
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
    log.info("unmounted %s (%d requests, %d bytes fetched)", args.local_path, *_numbers(fs))


def _numbers(fs: Any) -> tuple[int, int]:
    st = getattr(fs, "stats", None)
    return int(getattr(st, "requests", 0)), int(getattr(st, "bytes_fetched", 0))


def _preflight(args: argparse.Namespace) -> tuple[Any, str | None]:
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
    password = _password(args)
    transport = make_transport(args, args.base_url, password)
    try:
        check_server(transport)
    except BaseException:
        transport.close()
        raise
    return transport, password


def _run_ls(args: argparse.Namespace, password: str | None) -> int:
    import importlib

    # the listing helper's module; imported by name so this file type-checks without it
    lscmd = importlib.import_module("partyfuse.lscmd")
    transport = make_transport(args, args.ls, password)
    try:
        # the same mount-time check: copyparty answers a wrong password on its
        # root with an empty listing, which would otherwise print nothing and succeed
        check_server(transport)
        return int(lscmd.run_ls(transport, recursive=args.r, out=sys.stdout) or 0)
    finally:
        transport.close()


def _background(args: argparse.Namespace, transport: Any, password: str | None) -> int:
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
                quiet=args.q,
                debug=args.d,
                logf=args.logf,
                secrets=[password] if password else [],
                stream=open(os.devnull, "w"),  # noqa: SIM115 - lives as long as the process
            )

            def ready() -> None:
                os.write(wfd, b"ok\n")

            try:
                _mount(args, make_transport(args, args.base_url, password), on_ready=ready)
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


def _fail(message: str, code: int = EXIT_FAIL) -> NoReturn:
    print(f"partyfuse: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)


def parse_cli(ap: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Options may come before, between or after the two positionals, as
    upstream allows (``partyfuse URL -q MNT``); plain parse_args would take
    ``URL`` alone for the positionals and refuse ``MNT`` as unrecognized."""
    return ap.parse_intermixed_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    ap = build_parser()
    args = parse_cli(ap, argv)
    if args.ls is None and (not args.base_url or not args.local_path):
        ap.error("the following arguments are required: base_url, local_path")
    if args.ls is not None and args.base_url:
        ap.error("--ls takes just a URL")
    if args.ls is None and args.r:
        ap.error("-r only goes with --ls")
    try:
        _cache_config(args)
    except ValueError as ex:  # the option types should have caught it; never a traceback
        ap.error(str(ex))

    logs: LogSetup | None = None
    try:
        logs = setup_logging(
            quiet=args.q, debug=args.d, slowterm=args.slowterm, logf=args.logf or None
        )
    except OSError as ex:
        _fail(f"cannot write log file {args.logf}: {ex.strerror}")
    try:
        if args.a:
            # the raw -a text can be the password itself: redact before anything logs
            logs.redact.add(args.a)
        if args.ls is not None:
            password = _password(args)
            logs.redact.add(password)
            return _run_ls(args, password)
        transport, password = _preflight(args)
        logs.redact.add(password)
        if args.background:
            logs.close()
            logs = None
            return _background(args, transport, password)
        _mount(args, transport)
        return EXIT_OK
    except CliError as ex:
        if logs is not None:
            logs.close()
            logs = None
        _fail(str(ex))
    except KeyboardInterrupt:
        print("partyfuse: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if logs is not None:
            logs.close()


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
