"""The options partyfuse mounts with (each becomes ``-o key[=value]``).

Read-only, the kernel's attribute/entry timeouts from -cds, fsname/subtype,
and a multi-threaded loop unless --st; the comments say why each is as it is.
"""

from __future__ import annotations

from typing import Any

from . import platform as plat
from .fusebind import Binding

__all__ = ["mount_options"]


def mount_options(
    *,
    binding: Binding,
    fsname: str,
    timeout: float,
    allow_other: bool = False,
    nonempty: bool = False,
    single_thread: bool = False,
    platform: str | None = None,
) -> dict[str, Any]:
    """Keyword options for ``binding.FUSE`` (each becomes ``-o key[=value]``)."""
    opts: dict[str, Any] = {
        "foreground": True,
        # Multi-threaded by default: on a slow link one read waiting for its
        # window must not stall every ls/stat on the mount (tests/mount/
        # test_responsive.py).  With 128 KiB kernel reads the threads fight
        # over the GIL (loopback stream: ~1.5 s CPU/GiB threaded vs ~1.35
        # single); with the 1 MiB reads libfuse3 allows once the mount's
        # read-ahead is raised (see make_operations) there are an eighth of the
        # calls and both cost ~1.05 s/GiB.  --st keeps upstream's loop.
        # Read-ahead runs in the Spawner's pool either way.
        "nothreads": single_thread,
        # fsname is shown by mount/df: never let a URL's password reach it;
        # WinFsp gets a plain name (it may end up as a volume label)
        "fsname": "partyfuse" if plat.is_windows(platform) else fsname.replace(",", "%2C"),
    }
    if not plat.is_windows(platform):
        # WinFsp has its own option names for these; the bindings pass libfuse
        # spellings, so Windows gets only what upstream partyfuse was seen to use
        opts.update(
            {
                "ro": True,
                "attr_timeout": timeout,
                "entry_timeout": timeout,
                "negative_timeout": timeout,
                # no auto_cache: every open drops the kernel's pages of the file, so
                # a re-open after a change on the server never shows old pages.  With
                # it, pages of the old version that an earlier handle's kernel
                # read-ahead brought in after the change survived every later open
                # (same size and mtime as at that open), failing
                # tests/mount/test_changing.py under load.  Re-reads come from the
                # block cache, so the cost is a FUSE call per re-read page.
            }
        )
    if not plat.is_macos(platform) and not plat.is_windows(platform):
        opts["subtype"] = "partyfuse"
    if allow_other:
        opts["allow_other"] = True
    if nonempty and binding.libfuse_major < 3 and not plat.is_windows(platform):
        # libfuse3 dropped the option: nonempty mount points are always allowed
        opts["nonempty"] = True
    opts.update(plat.fuse_mount_options(platform))
    return opts
