"""``python -m partyfuse``: the same command as ``partyfuse`` (and ``pfuse``)."""

from __future__ import annotations

import sys

from .cli import main_noting_shadow

if __name__ == "__main__":
    sys.exit(main_noting_shadow())
