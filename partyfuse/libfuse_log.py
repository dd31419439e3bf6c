"""libfuse3's own messages, sent to the ``partyfuse.libfuse`` logger.

Left alone, libfuse writes to stderr, past the log's levels (-q, -d) and
its file (--logf); through the logger its messages get levels, and a line
that says nothing to a user is dropped.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from .fusebind import Binding

__all__ = ["route_libfuse_log"]


#: libfuse3 messages that say nothing to a user (3.14.0 prints this on every mount)
_LIBFUSE_NOISE = ("Ignoring invalid max threads value",)
_LIBFUSE_LEVELS = [logging.CRITICAL] * 3 + [logging.ERROR, logging.WARNING] + [logging.INFO] * 2
_log_callback: Any = None  # keeps the ctypes callback alive while libfuse may call it


def route_libfuse_log(binding: Binding) -> bool:
    """Send libfuse3's own messages to the ``partyfuse.libfuse`` logger instead of stderr.

    libfuse >= 3.7 lets a program install a log function; it gets a printf
    format and a va_list, which vsnprintf from the C library formats for us.
    Returns False (and changes nothing) where that is not possible.
    """
    global _log_callback
    import ctypes

    lib = getattr(binding.module, "_libfuse", None)
    setter = getattr(lib, "fuse_set_log_func", None) if binding.libfuse_major >= 3 else None
    if setter is None or not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None)  # the interpreter's C library; find_library would run ldconfig
    vsnprintf = libc.vsnprintf
    vsnprintf.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p]
    libfuse_log = logging.getLogger("partyfuse.libfuse")

    def handler(level: int, fmt: bytes, args: int | None) -> None:
        buf = ctypes.create_string_buffer(2048)
        vsnprintf(buf, len(buf), fmt, args)
        msg = buf.value.decode("utf-8", "replace").strip()
        if not msg or msg.startswith(_LIBFUSE_NOISE):
            return
        lvl = _LIBFUSE_LEVELS[level] if 0 <= level < len(_LIBFUSE_LEVELS) else logging.DEBUG
        libfuse_log.log(lvl, "libfuse: %s", msg)

    func_type = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
    _log_callback = func_type(handler)
    setter.argtypes = [func_type]
    setter.restype = None
    setter(_log_callback)
    return True
