"""The command line's words: options, their types and defaults, and which go together.

Parsing ends with a namespace whose names say what they hold (``dir_cache_ttl``,
``trust_file``, ...) while the flags keep upstream's spelling (``-cds``,
``-te``, ...), so scripts written for upstream's client keep working.  Every
mistake here is a usage error (exit 2, argparse's one line); nothing is
contacted or mounted.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from . import __version__
from . import platform as plat
from .core.attrs import CacheConfig
from .core.listings import DIALECTS

#: Values --html accepts: "auto" (detect from the first listing) and the listing parsers'.
HTML_CHOICES = ("auto", *DIALECTS)

#: --timeout's default, seconds.
DEFAULT_CALL_TIMEOUT = 60.0
#: -cdn, -cds, -cf default to the core's own defaults: one place says them
_CACHE = CacheConfig()


# `--ls` given without a value: the URL is the positional (`partyfuse --ls -r URL`).
_URL_FROM_POSITIONAL = ""


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


class _Options(Protocol):
    """What options are added to: the parser, or one of its groups."""

    def add_argument(self, *args: Any, **kwargs: Any) -> Any: ...


def _switches(group: _Options, *switches: tuple[str, str | None, str]) -> None:
    """On/off options, each (flag, dest or None for the flag's own name, help)."""
    for flag, dest, text in switches:
        group.add_argument(flag, dest=dest, action="store_true", help=text)


def _valued(group: _Options, names: tuple[str, str, str], text: str, **more: Any) -> None:
    """An option that takes a value; ``names`` is (flag, dest, metavar)."""
    flag, dest, metavar = names
    group.add_argument(flag, dest=dest, metavar=metavar, help=text, **more)


def _numbers(
    group: _Options,
    *numbers: tuple[tuple[str, str, str], tuple[Callable[[str], Any], float], str],
) -> None:
    """Options that take a number, each ((flag, dest, metavar), (type, default),
    help); the help ends with the default."""
    for names, (kind, default), text in numbers:
        _valued(group, names, text + " (default: %(default)s)", type=kind, default=default)


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
        'the same program is installed as "pfuse" (copyparty installs a "partyfuse" too).',
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
    _valued(ap, ("-a", "password_spec", "PASSWORD"), "password, user:password, or $FILE to read it")
    ap.add_argument("--version", action="version", version=f"partyfuse {__version__}")
    _valued(
        ap,
        ("--ls", "ls_url", "URL"),
        "list URL as the mount would show it, without mounting (with -r: the whole tree)",
        nargs="?",
        const=_URL_FROM_POSITIONAL,
    )
    _switches(
        ap,
        ("-r", "recursive", "with --ls: recurse into subfolders"),
        (
            "--background",
            None,
            "return once the mount is ready and keep serving it in the background",
        ),
    )

    g = ap.add_argument_group("https/TLS")
    _valued(g, ("-te", "trust_file", "PEMFILE"), "certificate (or CA) to expect and verify")
    _switches(
        g,
        ("-teh", "check_hostname", "with -te: also require the right hostname"),
        ("-td", "insecure", "disable certificate checks (insecure)"),
    )

    g = ap.add_argument_group("server")
    g.add_argument(
        "--html",
        dest="dialect",
        metavar="DIALECT",
        choices=HTML_CHOICES,
        default="auto",
        help="server type whose listings to read: "
        + ", ".join(HTML_CHOICES)
        + " (default: %(default)s)",
    )
    _numbers(
        g,
        (
            ("--timeout", "call_timeout", "SECS"),
            (_nonneg_float, DEFAULT_CALL_TIMEOUT),
            "longest any file operation waits for the server, retries included; an error "
            "after that",
        ),
    )

    g = ap.add_argument_group("cache/perf")
    _numbers(
        g,
        (
            ("-cdn", "dir_cache_max", "DIRS"),
            (_nonneg_count, _CACHE.dir_max),
            "directory cache: most folders kept; keep above the tree depth; 0=off",
        ),
        (
            ("-cds", "dir_cache_ttl", "SECS"),
            (_nonneg_float, _CACHE.dir_ttl),
            "directory cache: seconds until a listing is stale, also the kernel's cache time",
        ),
        (
            ("-cf", "file_cache_blocks", "BLOCKS"),
            (_nonneg_int, _CACHE.file_blocks),
            "file cache: MiB of file data kept, in blocks of up to 1 MiB",
        ),
    )

    g = ap.add_argument_group("logging")
    _switches(
        g,
        ("-q", "quiet", "quiet: only errors"),
        ("-d", "debug", "debug: every request, range, cache decision"),
        ("--slowterm", None, "print only the most recent lines, in batches"),
    )
    _valued(g, ("--logf", "log_file", "FILE"), "log to FILE as well; implies --slowterm")

    g = ap.add_argument_group("fuse")
    _switches(
        g,
        ("--oth", "allow_other", "let other users see the mount (allow_other)"),
        ("--nonempty", None, "allow mounting over a non-empty directory"),
        (
            "--st",
            "single_thread",
            "single-threaded FUSE loop, as upstream: more throughput on a fast link, but "
            "one slow fetch stalls every other file operation",
        ),
    )
    return ap


def parse_cli(ap: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse and check which options go together (a usage error, exit 2, if not).

    Options may come before, between or after the positionals, as upstream
    allows (``partyfuse URL -q MNT``); plain parse_args would take ``URL``
    alone for the positionals and refuse ``MNT`` as unrecognized.  ``--ls``
    takes its URL right after it or anywhere as the positional, so both
    ``--ls URL -r`` and ``--ls -r URL`` list URL."""
    args = ap.parse_intermixed_args(argv)
    if args.ls_url is None:
        if not args.base_url or not args.local_path:
            ap.error("the following arguments are required: base_url, local_path")
        if args.recursive:
            ap.error("-r only goes with --ls")
        return args
    if args.ls_url == _URL_FROM_POSITIONAL:
        args.ls_url, args.base_url = args.base_url, None
    if not args.ls_url:
        ap.error("--ls needs a URL")
    if args.base_url or args.local_path:
        ap.error("--ls takes just a URL")
    return args
