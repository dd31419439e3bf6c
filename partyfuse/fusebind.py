"""The one place that imports a FUSE binding.

Two bindings speak the same ``Operations``/``FUSE``/``FuseOSError`` dialect:
mfusepy (maintained, talks to libfuse3 on Linux and libfuse2 elsewhere) and
fusepy (libfuse2 only).  Everything else in partyfuse imports them from here,
so a missing library is reported once, as one line that says what to install,
and tox can pin a binding per environment with ``PARTYFUSE_FUSE``.
"""

from __future__ import annotations

import codecs
import ctypes
import importlib
import os
import sys
from ctypes.util import find_library
from dataclasses import dataclass
from types import ModuleType
from typing import Any

#: Environment variable naming the binding to use ("mfusepy" or "fusepy").
ENV_BINDING = "PARTYFUSE_FUSE"

#: Registered codec name for UTF-8 with surrogateescape.  fusepy decodes paths
#: with ``bytes.decode(encoding)`` and no errors argument, so a non-UTF-8 name
#: on the server would raise there; under this codec it round-trips instead.
PATH_CODEC = "partyfuse-utf8b"


#: Where the FUSE-T installer puts its libfuse-compatible library.
FUSE_T_LIBRARY = "/usr/local/lib/libfuse-t.dylib"


class FuseUnavailable(Exception):
    """No usable binding or libfuse; ``str()`` is the one-line message for the user."""


@dataclass(frozen=True)
class Binding:
    """The imported binding and what the adapter needs to know about it."""

    name: str
    module: ModuleType
    FUSE: Any
    Operations: Any
    FuseOSError: Any
    libfuse_major: int

    @property
    def fuse_exit(self) -> Any:
        return getattr(self.module, "fuse_exit", None)


def install_hint(platform: str | None = None) -> str:
    """What to install so a FUSE library can be found, for this OS."""
    plat = sys.platform if platform is None else platform
    if plat == "win32":
        return "install WinFsp (https://winfsp.dev/rel/)"
    if plat == "darwin":
        return "install FUSE-T (https://www.fuse-t.org/) or macFUSE (https://osxfuse.github.io/)"
    if plat.startswith("freebsd"):
        return "pkg install fusefs-libs3 && kldload fusefs"
    return "apt install fuse3 libfuse2 (or your distribution's fuse3/libfuse2 packages)"


def _register_codec() -> None:
    def lookup(name: str) -> codecs.CodecInfo | None:
        if name.replace("_", "-") != PATH_CODEC:
            return None

        def encode(text: str, errors: str = "strict") -> tuple[bytes, int]:
            return text.encode("utf-8", "surrogateescape"), len(text)

        def decode(data: Any, errors: str = "strict") -> tuple[str, int]:
            return bytes(data).decode("utf-8", "surrogateescape"), len(data)

        return codecs.CodecInfo(encode, decode, name=PATH_CODEC)

    try:
        codecs.lookup(PATH_CODEC)
    except LookupError:
        codecs.register(lookup)


#: libfuse3's soname: its ABI has kept major version 3 since 3.0.
LIBFUSE3_SONAME = "libfuse3.so.3"


def _loadable(soname: str) -> bool:
    """Whether the dynamic loader finds ``soname``: a dlopen through its cache,
    where ``find_library`` runs ``ldconfig -p`` in a subprocess (5-13 ms)."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def _prefer_libfuse3() -> None:
    # mfusepy looks for libfuse2 first on Linux; ask for libfuse3 when it is
    # there (the maintained library, no nonempty-mount quirks) unless the user
    # already pinned a library.  By name, not path: were mfusepy missing,
    # fusepy (libfuse2's API) would take a FUSE_LIBRARY_PATH set here.
    if sys.platform.startswith("linux") and not (
        os.environ.get("FUSE_LIBRARY_PATH") or os.environ.get("FUSE_LIBRARY_NAME")
    ):
        if _loadable(LIBFUSE3_SONAME) or find_library("fuse3"):
            os.environ["FUSE_LIBRARY_NAME"] = "fuse3"


def _use_fuse_t_if_needed() -> None:
    # fusepy 3.0.1 looks for fuse4x, osxfuse and fuse on macOS but never for
    # FUSE-T (the kext-less FUSE), so point it at FUSE-T's dylib when that is
    # all there is; a library the user chose, or macFUSE, wins.
    if sys.platform != "darwin" or os.environ.get("FUSE_LIBRARY_PATH"):
        return
    if any(find_library(n) for n in ("fuse4x", "osxfuse", "fuse")):
        return
    if os.path.exists(FUSE_T_LIBRARY):
        os.environ["FUSE_LIBRARY_PATH"] = FUSE_T_LIBRARY


#: Seam for tests: the bindings choose their C library when imported.
_import_module = importlib.import_module


def _import(name: str) -> Binding:
    _use_fuse_t_if_needed()
    if name == "mfusepy":
        _prefer_libfuse3()
        mod = _import_module("mfusepy")
        major = int(getattr(mod, "fuse_version_major", 2))
    else:
        mod = _import_module("fuse")
        major = 2
    return Binding(name, mod, mod.FUSE, mod.Operations, mod.FuseOSError, major)


_cached: Binding | None = None


def load(choice: str | None = None) -> Binding:
    """Import the binding (once) or raise FuseUnavailable with a one-line reason.

    ``choice`` (or ``$PARTYFUSE_FUSE``) forces one binding; otherwise mfusepy
    is tried first, then fusepy.
    """
    global _cached
    if _cached is not None and choice in (None, _cached.name):
        return _cached
    want = choice or os.environ.get(ENV_BINDING, "").strip().lower() or None
    if want not in (None, "mfusepy", "fusepy"):
        raise FuseUnavailable(f"{ENV_BINDING}={want!r} is not one of: mfusepy, fusepy")
    order = [want] if want else ["mfusepy", "fusepy"]
    reasons: list[str] = []
    for name in order:
        assert name is not None
        try:
            binding = _import(name)
        except ImportError:
            reasons.append(f"python package {name} is not installed")
        except (OSError, AttributeError) as ex:
            # both bindings raise OSError/EnvironmentError("Unable to find libfuse")
            # at import time when the C library is missing or too old
            reasons.append(f"{name}: {ex}")
        else:
            _register_codec()
            _cached = binding
            return binding
    if all("not installed" in r for r in reasons):
        pkg = want or "mfusepy"
        raise FuseUnavailable(
            f"no FUSE binding for python: pip install {pkg} ({'; '.join(reasons)})"
        )
    raise FuseUnavailable(f"FUSE library not found ({'; '.join(reasons)}): {install_hint()}")
