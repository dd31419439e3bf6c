"""The ``partyfuse`` command: parse (cli_args), check, mount (cli_mount).

``main`` only orders the steps and turns a :class:`CliError` into one line on
stderr and exit status 1; usage errors are argparse's (exit 2).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn

from . import cli_mount
from .cli_args import build_parser, parse_cli
from .cli_mount import EXIT_FAIL, EXIT_OK, CliError, check_server, make_transport
from .command_owner import note_if_shadowed
from .logsetup import LogSetup
from .logsetup import setup as setup_logging

__all__ = [
    "CliError",
    "build_parser",
    "check_server",
    "main",
    "main_noting_shadow",
    "make_transport",
    "parse_cli",
]

EXIT_INTERRUPTED = 130  # what a shell reports for Ctrl-C


def _fail(message: str, code: int = EXIT_FAIL) -> NoReturn:
    print(f"partyfuse: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``partyfuse`` console script."""
    ap = build_parser()
    args = parse_cli(ap, argv)
    try:
        cli_mount.cache_config(args)
    except ValueError as ex:  # the option types should have caught it; never a traceback
        ap.error(str(ex))

    logs: LogSetup | None = None
    try:
        logs = setup_logging(
            quiet=args.quiet, debug=args.debug, slowterm=args.slowterm, logf=args.log_file or None
        )
    except OSError as ex:
        _fail(f"cannot write log file {args.log_file}: {ex.strerror}")
    try:
        if args.password_spec:
            # the raw -a text can be the password itself: redact before anything logs
            logs.redact.add(args.password_spec)
        if args.ls_url is not None:
            password = cli_mount.read_password(args)
            logs.redact.add(password)
            return cli_mount.list_url(args, password)
        transport, password = cli_mount.preflight(args)
        logs.redact.add(password)
        if args.background:
            logs.close()
            logs = None
            return cli_mount.mount_in_background(args, transport, password)
        cli_mount.mount(args, transport)
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


def main_noting_shadow(argv: Sequence[str] | None = None) -> int:
    """``pfuse`` and ``python -m partyfuse``: the same command, first saying in one line
    if the ``partyfuse`` command runs another program (copyparty's client)."""
    note_if_shadowed()
    return main(argv)
