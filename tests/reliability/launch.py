"""``python -m tests.reliability.launch SECONDS ARGS...``: ``python -m partyfuse
ARGS...`` with every server call bounded by SECONDS instead of the default 60.

For tests only: a chaos run cannot wait a minute for each stall.  Used while
the CLI has no option for the bound (see chaos.mount_command); it changes the
default of HttpTransport's ``call_timeout`` and nothing else.
"""

from __future__ import annotations

import functools
import sys


def main(argv: list[str]) -> int:
    seconds = float(argv[0])
    from partyfuse import cli
    from partyfuse.http import transport

    cls = transport.HttpTransport
    cls.__init__ = functools.partialmethod(cls.__init__, call_timeout=seconds)  # type: ignore[method-assign,assignment]
    return cli.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
