"""Printed by each CI job before its tests: the Python, FUSE binding and FUSE library it used.

A failure on one OS is then read against what actually ran there (FUSE-T and WinFsp
change behaviour between releases).  Exits 1 when no binding loads: the job's tests
would only fail later, less clearly.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import platform
import sys


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def library_version(lib: object) -> str:
    """libfuse's own answer: fuse_version() (e.g. 39 for 3.9), fuse_pkgversion() on libfuse3."""
    parts = []
    try:
        parts.append(f"fuse_version {lib.fuse_version()}")  # type: ignore[attr-defined]
    except AttributeError:
        parts.append("no fuse_version()")
    try:
        pkgversion = lib.fuse_pkgversion  # type: ignore[attr-defined]
        pkgversion.restype = ctypes.c_char_p
        parts.append(f"fuse_pkgversion {pkgversion().decode()}")
    except AttributeError:
        pass
    return ", ".join(parts)


def main() -> int:
    print(f"python {platform.python_version()} ({sys.executable}) on {platform.platform()}")
    print(
        f"partyfuse {version('partyfuse')}, mfusepy {version('mfusepy')}, "
        f"fusepy {version('fusepy')}"
    )
    from partyfuse.fusebind import FuseUnavailable, load

    try:
        binding = load()
    except FuseUnavailable as ex:
        print(f"no FUSE: {ex}")
        return 1
    lib = getattr(binding.module, "_libfuse", None)
    path = getattr(binding.module, "_libfuse_path", None) or "?"
    print(
        f"binding {binding.name} {version(binding.name)}: libfuse {binding.libfuse_major} API, "
        f"library {path} ({library_version(lib) if lib is not None else 'not loaded'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
