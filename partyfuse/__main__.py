"""``python -m partyfuse``: the same command as ``partyfuse``."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
