"""The thin layer between a RemoteFS and a FUSE binding.

It translates calls and errors and nothing else: every decision about
caching, names or what to fetch lives in the core.  Three things are here
because they are about the kernel, not the filesystem:

* errno translation: FsError -> FuseOSError; anything unexpected -> EIO with
  one log line (a traceback the first time), never an exception into libfuse;
* reads are answered in full up to EOF even if the core caps one call (WinFsp
  sends reads of hundreds of MiB and takes a short answer for end of file);
* the mount options: read-only, kernel attribute/entry timeouts from -cds,
  fsname/subtype, a multi-threaded loop unless --st (see ``mount_options``).
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import sys
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from . import platform as plat
from .core.errors import FsError
from .core.readplan import AHEAD_WINDOWS
from .fusebind import PATH_CODEC, Binding
from .http.retry import call_scope
from .kernel_readahead import READ_AHEAD_KB, raise_read_ahead
from .memtune import tune_malloc

log = logging.getLogger("partyfuse.fuse")

F = TypeVar("F", bound=Callable[..., Any])


class FileSystem(Protocol):
    """The RemoteFS methods the adapter calls (see partyfuse/core/remotefs.py)."""

    def getattr(self, path: str) -> Any: ...
    def readdir(self, path: str) -> list[tuple[str, Any]]: ...
    def open(self, path: str, flags: int) -> int: ...
    def read(self, path: str, size: int, offset: int, fh: int) -> bytes: ...
    def release(self, path: str, fh: int) -> None: ...
    def opendir(self, path: str) -> int: ...
    def releasedir(self, path: str, fh: int) -> None: ...
    def access(self, path: str, mode: int) -> None: ...
    def statfs(self) -> dict[str, Any]: ...


class Spawner:
    """The ``spawn`` the core uses for read-ahead: a small thread pool that never raises.

    As many workers as a stream keeps windows in flight, so they are fetched
    at once (several requests overlap the server's per-request cost, and on a
    slow link keep it busy), not queued behind each other.
    """

    def __init__(self, workers: int = AHEAD_WINDOWS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="partyfuse-ahead")

    def __call__(self, job: Callable[[], None]) -> None:
        def run() -> None:
            try:
                job()
            except Exception as ex:  # read-ahead is optional; the real read will report
                log.debug("read-ahead failed: %r", ex)

        try:
            self._pool.submit(run)
        except RuntimeError:  # pool shut down while unmounting
            pass

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def mount_owner(platform: str | None = None) -> tuple[int, int]:
    """(uid, gid) every file and folder shows: the user who mounted, as rclone
    does (not root, which a normal user could then not even tell apart).
    WinFsp maps -1 to the mounting user (and the mount options say so too)."""
    if plat.is_windows(platform) or not hasattr(os, "getuid"):
        return -1, -1
    return os.getuid(), os.getgid()


class Adapter:
    """Forwards FUSE calls to a RemoteFS; make_operations mixes in the binding's Operations."""

    #: fusepy/mfusepy: report times as float seconds (the core's Attrs do)
    use_ns = False

    def __init__(
        self,
        fs: FileSystem,
        *,
        fuse_error: Callable[[int], Exception],
        timeout: float = 1.0,
        platform: str | None = None,
        on_init: Callable[[], None] | None = None,
        on_destroy: Callable[[], None] | None = None,
        owner: tuple[int, int] | None = None,
        read_ahead_kb: int = 0,
    ) -> None:
        self.fs = fs
        uid, gid = owner if owner is not None else mount_owner(platform)
        self._owner = {"st_uid": uid, "st_gid": gid}
        self.mountpoint: str | None = None
        """Set by ``run_mount``: where the mount is (to raise its read-ahead)."""
        self._read_ahead_kb = read_ahead_kb
        self.mounted = False
        """Set once libfuse called init: the mount existed (libfuse3 reports a
        signal-driven unmount as an error code, so the code alone cannot tell)."""
        self._on_init = on_init
        self._fuse_error = fuse_error
        self._timeout = timeout
        self._platform = platform
        self._on_destroy = on_destroy
        self._seen_crashes: set[tuple[str, str]] = set()
        self._crash_lock = threading.Lock()

    # ---- error translation -------------------------------------------------

    def _fail(self, op: str, path: str, ex: BaseException) -> Exception:
        if isinstance(ex, FsError):
            err = ex.errno
            if err == errno.ENOENT:
                if not plat.is_quiet_miss(path, self._platform):
                    log.debug("%s %s: not found", op, path)
            elif err == errno.EROFS:
                log.debug("%s %s: read-only", op, path)
            else:
                log.error(
                    "%s %s: %s%s",
                    op,
                    path,
                    errno.errorcode.get(err, err),
                    f" ({ex.reason})" if ex.reason else "",
                )
            return self._fuse_error(err)
        key = (op, type(ex).__name__)
        with self._crash_lock:
            first = key not in self._seen_crashes
            self._seen_crashes.add(key)
        if first:
            log.error("%s %s: internal error, answering EIO", op, path, exc_info=ex)
        else:
            log.error("%s %s: internal error %r, answering EIO", op, path, ex)
        return self._fuse_error(errno.EIO)

    # ---- reads ---------------------------------------------------------------

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        return {**self.fs.getattr(path).to_stat(), **self._owner}

    def readdir(self, path: str, fh: int | None = None) -> list[Any]:
        # (name, stat, 0) lets libfuse fill the entry's type without a getattr
        # per name; None when the core does not know the size yet.
        out: list[Any] = [".", ".."]
        for name, attrs in self.fs.readdir(path):
            st = None if attrs is None else {**attrs.to_stat(), **self._owner}
            out.append((name, st, 0))
        return out

    def open(self, path: str, flags: int) -> int:
        return self.fs.open(path, flags)

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        first = self.fs.read(path, size, offset, fh)
        if len(first) >= size or not first:
            return first
        # The core may answer a huge request in part; a short answer means EOF
        # to the kernel (WinFsp especially), so keep asking until the request
        # is filled or the core says there is nothing more.
        parts = [first]
        got = len(first)
        while got < size:
            more = self.fs.read(path, size - got, offset + got, fh)
            if not more:
                break
            parts.append(more)
            got += len(more)
        return b"".join(parts)

    def release(self, path: str, fh: int) -> int:
        self.fs.release(path, fh)
        return 0

    def opendir(self, path: str) -> int:
        return self.fs.opendir(path)

    def releasedir(self, path: str, fh: int) -> int:
        self.fs.releasedir(path, fh)
        return 0

    def access(self, path: str, amode: int) -> int:
        self.fs.access(path, amode)
        return 0

    def statfs(self, path: str) -> dict[str, Any]:
        return dict(self.fs.statfs())

    # ---- writes: the mount is read-only -------------------------------------

    def _rofs(self, *args: Any) -> Any:
        raise FsError(errno.EROFS, "read-only filesystem")

    write = create = mkdir = unlink = rmdir = rename = truncate = _rofs
    chmod = chown = symlink = link = utimens = setxattr = removexattr = mknod = _rofs

    # ---- not offered ---------------------------------------------------------
    # No extended attributes and no symlinks: leaving these unset makes libfuse
    # answer ENOSYS once, after which the kernel stops asking (no upcall per
    # `ls -l` entry) and tools see EOPNOTSUPP, which ls and cp take quietly.
    getxattr = None
    listxattr = None
    # nothing to flush or sync on a read-only mount; unset, the kernel stops
    # making an upcall on every close()
    flush = None
    fsync = None
    fsyncdir = None
    readlink = None
    bmap = None
    lock = None
    ioctl = None
    poll = None
    fallocate = None
    copy_file_range = None
    lseek = None

    # ---- lifecycle -----------------------------------------------------------

    def init(self, path: str) -> None:
        log.debug("FUSE session started")
        self.mounted = True
        if self._read_ahead_kb and self.mountpoint:
            # not here: the kernel holds every other request until init returns
            threading.Thread(
                target=self._raise_read_ahead, name="partyfuse-readahead", daemon=True
            ).start()
        if self._on_init is not None:
            try:
                self._on_init()
            except Exception as ex:  # init must not fail: libfuse ignores its result
                log.error("mount-ready hook failed: %r", ex)

    def _raise_read_ahead(self) -> None:
        assert self.mountpoint is not None
        try:
            log.debug("%s", raise_read_ahead(self.mountpoint, self._read_ahead_kb))
        except Exception as ex:  # an optimisation: never a reason to fail the mount
            log.debug("read-ahead left alone: %r", ex)

    def init_with_config(self, conn: Any, config: Any) -> None:
        # libfuse3 spelling of -o attr_timeout/entry_timeout (mfusepy passes
        # the struct fuse_config here); libfuse2 takes the -o options only.
        if config is not None:
            for name in ("attr_timeout", "entry_timeout", "negative_timeout"):
                if hasattr(config, name):
                    setattr(config, name, float(self._timeout))
        if conn is not None and self._read_ahead_kb and hasattr(conn, "max_readahead"):
            # the kernel sets the mount's window to the smaller of its current
            # one and this answer's: left at the 128 KiB it offered, the init
            # reply would undo a raise that got in before it
            conn.max_readahead = max(int(conn.max_readahead), self._read_ahead_kb * 1024)
        self.init("/")

    def destroy(self, path: str) -> None:
        log.debug("FUSE session ends")
        if self._on_destroy is not None:
            self._on_destroy()


_GUARDED = (
    "getattr readdir open read release opendir releasedir access statfs "
    "write create mkdir unlink rmdir rename truncate chmod chown symlink link "
    "utimens setxattr removexattr mknod"
).split()


def _guard(op: str, fn: F) -> F:
    @functools.wraps(fn)
    def guarded(self: Adapter, path: Any = None, *args: Any) -> Any:
        try:
            with call_scope():  # the operation's server calls share one deadline
                result = fn(self, path, *args)
        except Exception as ex:
            raise self._fail(op, path if isinstance(path, str) else "?", ex) from None
        if log.isEnabledFor(logging.DEBUG):
            _trace(op, path, args, result)
        return result

    return guarded  # type: ignore[return-value]


def _trace(op: str, path: Any, args: tuple[Any, ...], result: Any) -> None:
    if op == "read":
        size, offset = args[0], args[1]
        log.debug("read %s [%d+%d] -> %d bytes", path, offset, size, len(result))
    elif op == "readdir":
        log.debug("readdir %s -> %d names", path, len(result) - 2)
    elif op in ("open", "opendir"):
        log.debug("%s %s -> fh %s", op, path, result)
    elif op != "getattr":  # getattr is the most frequent call by far; its misses are logged
        log.debug("%s %s", op, path)


for _op in _GUARDED:
    setattr(Adapter, _op, _guard(_op, getattr(Adapter, _op)))


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
    import ctypes.util

    lib = getattr(binding.module, "_libfuse", None)
    setter = getattr(lib, "fuse_set_log_func", None) if binding.libfuse_major >= 3 else None
    if setter is None or not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
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
        binding.FUSE(ops, os.fspath(mountpoint), **kwargs)
