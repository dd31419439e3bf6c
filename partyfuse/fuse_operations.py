"""The FUSE operations: a RemoteFS's methods as libfuse calls them.

``Adapter`` translates calls and errors and nothing else: every decision
about caching, names or what to fetch lives in the core.  What is here is
about the kernel, not the filesystem:

* errno translation: FsError -> FuseOSError; anything unexpected -> EIO with
  one log line (a traceback the first time), never an exception into libfuse;
* every operation's server calls share one deadline (``call_scope``);
* libfuse's threads keep their Python thread state between calls
  (thread_state.py), and readdir hands the kernel each entry's attributes
  where libfuse3 can take them (readdir_plus.py);
* reads are answered in full up to EOF even if the core caps one call (WinFsp
  sends reads of hundreds of MiB and takes a short answer for end of file);
* writes answer EROFS, and what a read-only mount never needs is left unset
  so the kernel stops asking;
* init/destroy: the mount-ready hook, libfuse3's timeouts and the kernel
  read-ahead (kernel_readahead.py).
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from . import platform as plat
from .core.errors import FsError
from .http.retry import call_scope
from .kernel_readahead import NOT_LISTED, raise_read_ahead
from .thread_state import keep_thread_state

__all__ = ["Adapter", "FileSystem", "mount_owner"]

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
    def access(self, path: str, mode: int) -> None: ...
    def statfs(self) -> dict[str, Any]: ...


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
        self.calls: Counter[str] = Counter()
        """Calls answered, by operation; counted with -d only (the log shows them at unmount)."""
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
    # a folder handle holds nothing (the listing lives in the dir cache):
    # unset, libfuse closes it without a Python upcall, one of four per folder
    # a walk (find, du) lists
    releasedir = None
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
            # Here, before init returns, while the kernel holds every other
            # request: a file takes the window in force when it is opened, so a
            # program that opened one the moment the mount appeared (a script,
            # a benchmark) would read it in 128 KiB requests for good.  Two
            # file reads and a write, none on the mount; only if the mount is
            # not listed yet do the retries go to a thread.
            if not self._raise_read_ahead(wait=0.0):
                threading.Thread(
                    target=self._raise_read_ahead, name="partyfuse-readahead", daemon=True
                ).start()
        if self._on_init is not None:
            try:
                self._on_init()
            except Exception as ex:  # init must not fail: libfuse ignores its result
                log.error("mount-ready hook failed: %r", ex)

    def _raise_read_ahead(self, wait: float = 5.0) -> bool:
        """Whether the mount was found (raised, or left alone for a reason
        waiting would not change)."""
        assert self.mountpoint is not None
        try:
            said = raise_read_ahead(self.mountpoint, self._read_ahead_kb, wait=wait)
        except Exception as ex:  # an optimisation: never a reason to fail the mount
            log.debug("read-ahead left alone: %r", ex)
            return True
        if wait or not said.endswith(NOT_LISTED):
            log.debug("%s", said)
        return not said.endswith(NOT_LISTED)

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
        if self.calls:
            log.debug("FUSE calls: %s", ", ".join(f"{k} {n}" for k, n in self.calls.most_common()))
        log.debug("FUSE session ends")
        if self._on_destroy is not None:
            self._on_destroy()


_GUARDED = (
    "getattr readdir open read release opendir access statfs "
    "write create mkdir unlink rmdir rename truncate chmod chown symlink link "
    "utimens setxattr removexattr mknod"
).split()


def _guard(op: str, fn: F) -> F:
    @functools.wraps(fn)
    def guarded(self: Adapter, path: Any = None, *args: Any) -> Any:
        keep_thread_state()  # libfuse's threads: no thread state made and freed per call
        try:
            with call_scope():  # the operation's server calls share one deadline
                result = fn(self, path, *args)
        except Exception as ex:
            raise self._fail(op, path if isinstance(path, str) else "?", ex) from None
        if log.isEnabledFor(logging.DEBUG):
            self.calls[op] += 1
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
