"""The thin layer between a RemoteFS and a FUSE binding: builds the
operations and runs the FUSE loop.

Each part lives in a module of its own, whose names are exported here too:

* fuse_operations.py: ``Adapter``, the FUSE operations forwarded to the
  core (errno translation, reads answered in full, read-only, lifecycle);
* fuse_options.py: ``mount_options``, what the mount is made with;
* libfuse_log.py: ``route_libfuse_log``, libfuse's messages into the log;
* readahead_pool.py: ``Spawner``, the threads read-ahead runs in.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from typing import Any

from .fuse_operations import Adapter, FileSystem, mount_owner
from .fuse_options import mount_options
from .fusebind import PATH_CODEC, Binding
from .kernel_readahead import READ_AHEAD_KB
from .libfuse_log import route_libfuse_log
from .memtune import tune_malloc
from .readahead_pool import Spawner
from .readdir_plus import fuse_class

__all__ = [
    "Adapter",
    "FileSystem",
    "Spawner",
    "make_operations",
    "mount_options",
    "mount_owner",
    "route_libfuse_log",
    "run_mount",
]


def make_operations(
    fs: FileSystem,
    binding: Binding,
    *,
    timeout: float = 1.0,
    platform: str | None = None,
    on_init: Callable[[], None] | None = None,
    on_destroy: Callable[[], None] | None = None,
) -> Any:
    """An instance of ``binding.Operations`` that forwards to ``fs``.

    On Linux with libfuse3 the mount's kernel read-ahead is raised to 1 MiB
    after init where the process may (root): 1 MiB reads instead of 128 KiB.
    """
    cls = type("PartyFS", (Adapter, binding.Operations), {})
    plat_name = sys.platform if platform is None else platform
    big_reads = binding.libfuse_major >= 3 and plat_name.startswith("linux")
    return cls(
        fs,
        fuse_error=binding.FuseOSError,
        timeout=timeout,
        platform=platform,
        on_init=on_init,
        on_destroy=on_destroy,
        read_ahead_kb=READ_AHEAD_KB if big_reads else 0,
    )


def run_mount(ops: Any, mountpoint: str, binding: Binding, options: dict[str, Any]) -> None:
    """Block in the FUSE loop until unmounted (Ctrl-C/SIGTERM are handled by libfuse)."""
    route_libfuse_log(binding)
    tune_malloc()  # before the FUSE and read-ahead threads start: arenas are per thread
    if isinstance(ops, Adapter):
        # resolved now, while it is a plain directory: the daemon must never
        # make a syscall on its own mount (see kernel_readahead)
        ops.mountpoint = os.path.realpath(mountpoint)
    kwargs = dict(options)
    if binding.name == "fusepy":
        kwargs["encoding"] = PATH_CODEC
    else:
        kwargs["encoding"] = "utf-8"
        kwargs["errors"] = "surrogateescape"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        fuse_class(binding)(ops, os.fspath(mountpoint), **kwargs)
