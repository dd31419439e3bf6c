"""The FUSE adapter: translation only, no logic (partyfuse/fuse_adapter.py)."""

from __future__ import annotations

import errno
import logging
import os
import stat
import time
from dataclasses import dataclass
from typing import Any

import pytest

from partyfuse import fusebind
from partyfuse.core.errors import FsError
from partyfuse.fuse_adapter import Adapter, Spawner, make_operations, mount_options
from tests.support.wait import wait_for


@dataclass
class FakeAttrs:
    is_dir: bool
    size: int
    mtime: float

    def to_stat(self) -> dict[str, Any]:
        mode = (stat.S_IFDIR | 0o555) if self.is_dir else (stat.S_IFREG | 0o444)
        return {"st_mode": mode, "st_size": self.size, "st_mtime": self.mtime, "st_nlink": 1}


class FakeFS:
    """Answers like RemoteFS over one dir with one file; read() caps each answer at ``cap``."""

    def __init__(self, data: bytes = b"", cap: int = 1 << 30) -> None:
        self.data = data
        self.cap = cap
        self.reads: list[tuple[int, int]] = []
        self.boom: Exception | None = None

    def getattr(self, path: str) -> FakeAttrs:
        if self.boom:
            raise self.boom
        if path == "/":
            return FakeAttrs(True, 0, 1.0)
        if path == "/f":
            return FakeAttrs(False, len(self.data), 2.0)
        raise FsError(errno.ENOENT, path)

    def readdir(self, path: str) -> list[tuple[str, FakeAttrs | None]]:
        return [("f", FakeAttrs(False, len(self.data), 2.0)), ("pending", None)]

    def open(self, path: str, flags: int) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR):
            raise FsError(errno.EROFS)
        return 7

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        self.reads.append((offset, size))
        return self.data[offset : offset + min(size, self.cap)]

    def release(self, path: str, fh: int) -> None:
        pass

    def opendir(self, path: str) -> int:
        return 3

    def releasedir(self, path: str, fh: int) -> None:
        pass

    def access(self, path: str, mode: int) -> None:
        if mode & os.W_OK:
            raise FsError(errno.EROFS)
        self.getattr(path)

    def statfs(self) -> dict[str, Any]:
        return {"f_bsize": 4096, "f_namemax": 255}


@pytest.fixture(params=["mfusepy", "fusepy"])
def binding(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> fusebind.Binding:
    monkeypatch.setattr(fusebind, "_cached", None)
    return fusebind.load(request.param)


def ops_for(fs: FakeFS, binding: fusebind.Binding, **kw: Any) -> Any:
    return make_operations(fs, binding, **kw)


def test_is_an_operations_of_the_binding(binding: fusebind.Binding) -> None:
    ops = ops_for(FakeFS(), binding)
    assert isinstance(ops, binding.Operations)
    assert isinstance(ops, Adapter)


def test_getattr_and_readdir_carry_attrs(binding: fusebind.Binding) -> None:
    ops = ops_for(FakeFS(b"abc"), binding)
    assert ops.getattr("/f")["st_size"] == 3
    listing = ops.readdir("/", 0)
    assert listing[:2] == [".", ".."]
    name, st, off = listing[2]
    assert (name, st["st_size"], off) == ("f", 3, 0)
    assert listing[3] == ("pending", None, 0)


def test_capped_reads_are_filled_to_the_requested_length(binding: fusebind.Binding) -> None:
    data = bytes(range(256)) * 1000
    fs = FakeFS(data, cap=1000)
    ops = ops_for(fs, binding)
    assert ops.read("/f", 100_000, 5, 7) == data[5:100_005]
    assert len(fs.reads) == 100


def test_reads_stop_at_eof(binding: fusebind.Binding) -> None:
    data = b"x" * 2500
    fs = FakeFS(data, cap=1000)
    ops = ops_for(fs, binding)
    assert ops.read("/f", 1 << 28, 0, 7) == data
    assert ops.read("/f", 10, 2500, 7) == b""


def test_fs_errors_become_fuse_errors(binding: fusebind.Binding) -> None:
    ops = ops_for(FakeFS(), binding)
    with pytest.raises(binding.FuseOSError) as ei:
        ops.getattr("/missing")
    assert ei.value.errno == errno.ENOENT
    with pytest.raises(binding.FuseOSError) as ei:
        ops.open("/f", os.O_WRONLY)
    assert ei.value.errno == errno.EROFS


@pytest.mark.parametrize(
    ("op", "args"),
    [
        ("write", ("/f", b"x", 0, 7)),
        ("create", ("/new", 0o644)),
        ("mkdir", ("/d", 0o755)),
        ("unlink", ("/f",)),
        ("rmdir", ("/d",)),
        ("rename", ("/f", "/g")),
        ("truncate", ("/f", 0)),
        ("chmod", ("/f", 0o777)),
        ("chown", ("/f", 0, 0)),
        ("symlink", ("/l", "/f")),
        ("link", ("/l", "/f")),
        ("utimens", ("/f", None)),
        ("setxattr", ("/f", "user.x", b"1", 0)),
        ("removexattr", ("/f", "user.x")),
        ("mknod", ("/n", 0o644, 0)),
    ],
)
def test_every_write_answers_erofs(
    binding: fusebind.Binding, op: str, args: tuple[Any, ...]
) -> None:
    ops = ops_for(FakeFS(), binding)
    with pytest.raises(binding.FuseOSError) as ei:
        getattr(ops, op)(*args)
    assert ei.value.errno == errno.EROFS


def test_no_xattrs_and_no_links_are_offered(binding: fusebind.Binding) -> None:
    ops = ops_for(FakeFS(), binding)
    assert ops.getxattr is None and ops.listxattr is None and ops.readlink is None
    assert ops.flush is None and ops.fsync is None  # no upcall per close()


def test_unexpected_exception_is_eio_with_one_traceback(
    binding: fusebind.Binding, caplog: pytest.LogCaptureFixture
) -> None:
    fs = FakeFS()
    fs.boom = KeyError("oops")
    ops = ops_for(fs, binding)
    caplog.set_level(logging.DEBUG, logger="partyfuse")
    for _ in range(3):
        with pytest.raises(binding.FuseOSError) as ei:
            ops.getattr("/f")
        assert ei.value.errno == errno.EIO
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 3
    assert sum(1 for r in errors if r.exc_info) == 1


def test_macos_probe_misses_are_not_logged(
    binding: fusebind.Binding, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="partyfuse")
    ops = ops_for(FakeFS(), binding, platform="darwin")
    for p in ("/._f", "/.DS_Store"):
        with pytest.raises(binding.FuseOSError) as ei:
            ops.getattr(p)
        assert ei.value.errno == errno.ENOENT
    assert not [r for r in caplog.records if r.name.startswith("partyfuse")]
    with pytest.raises(binding.FuseOSError):
        ops.getattr("/other")
    assert any("/other" in r.getMessage() for r in caplog.records)


def test_eio_from_the_core_is_logged_as_error(
    binding: fusebind.Binding, caplog: pytest.LogCaptureFixture
) -> None:
    fs = FakeFS()
    fs.boom = FsError(errno.EIO, "server said 500")
    ops = ops_for(fs, binding)
    with pytest.raises(binding.FuseOSError):
        ops.getattr("/f")
    assert any(
        r.levelno == logging.ERROR and "server said 500" in r.getMessage() for r in caplog.records
    )


def test_access_statfs_open_release(binding: fusebind.Binding) -> None:
    ops = ops_for(FakeFS(), binding)
    assert ops.access("/f", os.R_OK) == 0
    with pytest.raises(binding.FuseOSError) as ei:
        ops.access("/f", os.W_OK)
    assert ei.value.errno == errno.EROFS
    assert ops.statfs("/")["f_namemax"] == 255
    assert ops.open("/f", os.O_RDONLY) == 7
    assert ops.release("/f", 7) == 0
    assert ops.opendir("/") == 3
    assert ops.releasedir is None  # libfuse closes folder handles without an upcall


def test_mount_options(binding: fusebind.Binding) -> None:
    o = mount_options(binding=binding, fsname="partyfuse:http://h/", timeout=2.5, nonempty=True)
    # multi-threaded by default: one slow fetch must not stall every other lookup
    assert o["ro"] is True and o["nothreads"] is False and o["foreground"] is True
    assert mount_options(binding=binding, fsname="x", timeout=1, single_thread=True)["nothreads"]
    assert o["attr_timeout"] == o["entry_timeout"] == 2.5
    assert o["subtype"] == "partyfuse"
    assert ("nonempty" in o) == (binding.libfuse_major == 2)
    assert "allow_other" not in o
    assert mount_options(binding=binding, fsname="x", timeout=1, allow_other=True)["allow_other"]
    win = mount_options(binding=binding, fsname="x", timeout=1, platform="win32")
    assert win["uid"] == -1 and "subtype" not in win and "attr_timeout" not in win
    mac = mount_options(binding=binding, fsname="x", timeout=3, platform="darwin")
    assert mac["ro"] is True and mac["attr_timeout"] == 3 and "subtype" not in mac


def test_init_with_config_sets_libfuse3_timeouts(binding: fusebind.Binding) -> None:
    class Config:
        attr_timeout = 0.0
        entry_timeout = 0.0
        negative_timeout = 0.0

    cfg = Config()
    ops = ops_for(FakeFS(), binding, timeout=4.0)
    ops.init_with_config(None, cfg)
    assert cfg.attr_timeout == cfg.entry_timeout == cfg.negative_timeout == 4.0


def test_spawner_runs_jobs_and_swallows_failures() -> None:
    import threading

    done = threading.Event()
    sp = Spawner(workers=2)

    def bad() -> None:
        raise RuntimeError("read-ahead failed")

    sp(bad)
    sp(done.set)
    assert done.wait(5)
    sp.shutdown()
    sp(done.set)  # after shutdown: ignored, no exception


# ---- the kernel's read-ahead window (1 MiB reads on libfuse3) -------------------

MOUNTINFO = (
    b"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    b"40 22 0:40 / /tmp/a\\040b rw,nosuid,nodev,relatime shared:9 - fuse.partyfuse "
    b"partyfuse:http://h/ ro,user_id=0,group_id=0\n"
    b"41 22 0:41 / /tmp/other rw - fuse.sshfs host: rw\n"
    b"42 40 0:52 / /tmp/a\\040b rw,relatime - fuse.partyfuse partyfuse:http://g/ ro\n"
)


def test_mount_device_finds_the_newest_fuse_mount_on_an_escaped_path() -> None:
    from partyfuse.kernel_readahead import mount_device

    assert mount_device("/tmp/a b", MOUNTINFO) == "0:52"  # stacked: the last one listed
    assert mount_device("/tmp/a b/", MOUNTINFO) == "0:52"
    assert mount_device("/tmp/other", MOUNTINFO) == "0:41"
    assert mount_device("/", MOUNTINFO) is None  # not a FUSE mount
    assert mount_device("/tmp/a", MOUNTINFO) is None


def _sysfs(tmp_path: Any, kb: int) -> tuple[str, str]:
    info = tmp_path / "mountinfo"
    info.write_bytes(MOUNTINFO)
    bdi = tmp_path / "bdi" / "0:52"
    bdi.mkdir(parents=True)
    (bdi / "read_ahead_kb").write_text(f"{kb}\n")
    return str(tmp_path / "bdi"), str(info)


def test_read_ahead_is_raised_only_when_lower(tmp_path: Any) -> None:
    from partyfuse.kernel_readahead import raise_read_ahead

    sysfs, info = _sysfs(tmp_path, 128)
    said = raise_read_ahead("/tmp/a b", 1024, sysfs=sysfs, mountinfo=info, wait=0)
    assert "raised to 1024" in said
    assert (tmp_path / "bdi" / "0:52" / "read_ahead_kb").read_text() == "1024\n"
    (tmp_path / "bdi" / "0:52" / "read_ahead_kb").write_text("4096\n")  # an admin's choice
    said = raise_read_ahead("/tmp/a b", 1024, sysfs=sysfs, mountinfo=info, wait=0)
    assert "already" in said
    assert (tmp_path / "bdi" / "0:52" / "read_ahead_kb").read_text() == "4096\n"


def test_read_ahead_failures_are_one_line_never_an_exception(tmp_path: Any) -> None:
    from partyfuse.kernel_readahead import NOT_LISTED, raise_read_ahead

    sysfs, info = _sysfs(tmp_path, 128)
    waits: list[float] = []
    said = raise_read_ahead("/nowhere", sysfs=sysfs, mountinfo=info, wait=0.2, sleep=waits.append)
    assert said.endswith(NOT_LISTED) and len(waits) >= 2  # it waited for the mount to show up
    said = raise_read_ahead("/tmp/other", sysfs=sysfs, mountinfo=info, wait=0)
    assert said.startswith("read-ahead left alone") and "\n" not in said  # no such bdi file
    said = raise_read_ahead("/tmp/a b", sysfs=sysfs, mountinfo=str(tmp_path / "gone"), wait=0)
    assert said.startswith("read-ahead left alone")


def test_big_reads_are_asked_for_only_on_linux_with_libfuse3(binding: fusebind.Binding) -> None:
    linux = make_operations(FakeFS(), binding, platform="linux")
    mac = make_operations(FakeFS(), binding, platform="darwin")
    assert linux._read_ahead_kb == (1024 if binding.libfuse_major >= 3 else 0)
    assert mac._read_ahead_kb == 0


def test_the_spawner_runs_a_streams_windows_at_once() -> None:
    import threading

    from partyfuse.core.readplan import AHEAD_WINDOWS

    sp = Spawner()
    together = threading.Barrier(AHEAD_WINDOWS, timeout=10)
    met: list[int] = []
    for _ in range(AHEAD_WINDOWS):
        sp(lambda: met.append(together.wait()))  # each waits for all the others
    sp.shutdown(wait=True)
    assert sorted(met) == list(range(AHEAD_WINDOWS))  # nobody timed out waiting


def test_the_spawner_keeps_to_its_workers_and_drops_what_never_started() -> None:
    import threading

    sp = Spawner(workers=3)
    release = threading.Event()
    running = threading.Semaphore(0)
    ran: list[int] = []

    def job(n: int) -> None:
        ran.append(n)
        running.release()
        release.wait(10)

    for n in range(9):
        sp(lambda n=n: job(n))
    for _ in range(3):
        assert running.acquire(timeout=5)
    assert not running.acquire(timeout=0.2)  # three workers, all busy: the rest wait
    assert len(sp._threads) == 3
    sp.shutdown()  # the six waiting are dropped, the three running finish
    release.set()
    for t in sp._threads:
        t.join(5)
        assert not t.is_alive()
    assert sorted(ran) == [0, 1, 2]


def test_malloc_is_tuned_on_linux_only() -> None:
    from partyfuse.memtune import tune_malloc

    assert tune_malloc("linux") is True  # glibc here (Debian); mallopt accepted every value
    assert tune_malloc("darwin") is False and tune_malloc("win32") is False


def test_run_mount_tunes_malloc_before_the_loop_starts(
    binding: fusebind.Binding, monkeypatch: pytest.MonkeyPatch
) -> None:
    from partyfuse import fuse_adapter

    order: list[str] = []
    monkeypatch.setattr(fuse_adapter, "tune_malloc", lambda: order.append("malloc"))
    monkeypatch.setattr(fuse_adapter, "route_libfuse_log", lambda b: True)
    fake = fusebind.Binding(
        binding.name,
        binding.module,
        lambda ops, mnt, **kw: order.append(f"loop {ops.mountpoint}"),
        binding.Operations,
        binding.FuseOSError,
        binding.libfuse_major,
    )
    ops = make_operations(FakeFS(), fake)
    fuse_adapter.run_mount(ops, "/mnt/x", fake, {})
    assert order == ["malloc", "loop /mnt/x"]


def test_raising_read_ahead_never_touches_the_mount_itself(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a syscall from the daemon on its own mount deadlocks it if it is killed
    # while the request is out (an unkillable process, a mount nobody can clear)
    from partyfuse import kernel_readahead

    sysfs, info = _sysfs(tmp_path, 128)
    touched: list[str] = []
    real_lstat, real_stat = os.lstat, os.stat

    def spy(real: Any) -> Any:
        def call(path: Any, *a: Any, **kw: Any) -> Any:
            touched.append(os.fsdecode(path))
            return real(path, *a, **kw)

        return call

    monkeypatch.setattr(os, "lstat", spy(real_lstat))
    monkeypatch.setattr(os, "stat", spy(real_stat))
    said = kernel_readahead.raise_read_ahead("/tmp/a b", sysfs=sysfs, mountinfo=info, wait=0)
    assert "raised" in said
    assert not [p for p in touched if p.startswith("/tmp/a b")], touched


@pytest.mark.parametrize("listed", [True, False])
def test_init_raises_the_read_ahead_before_the_mount_is_ready(
    listed: bool, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, binding: fusebind.Binding
) -> None:
    # a file keeps the window in force when it was opened: a program that
    # opened one as the mount appeared must already get the big one
    import functools

    from partyfuse import fuse_operations, kernel_readahead

    sysfs, info = _sysfs(tmp_path, 128)
    if not listed:  # not in mountinfo yet: a thread keeps looking, init does not wait
        (tmp_path / "mountinfo").write_bytes(b"")
    kb_file = tmp_path / "bdi" / "0:52" / "read_ahead_kb"
    monkeypatch.setattr(
        fuse_operations,
        "raise_read_ahead",
        functools.partial(kernel_readahead.raise_read_ahead, sysfs=sysfs, mountinfo=info),
    )
    at_ready: list[str] = []
    ops = make_operations(
        FakeFS(), binding, platform="linux", on_init=lambda: at_ready.append(kb_file.read_text())
    )
    ops._read_ahead_kb = 1024
    ops.mountpoint = "/tmp/a b"
    t0 = time.monotonic()
    ops.init("/")
    assert time.monotonic() - t0 < 1.0
    assert at_ready == (["1024\n"] if listed else ["128\n"])
    if not listed:
        (tmp_path / "mountinfo").write_bytes(MOUNTINFO)  # the mount shows up: the thread raises
        wait_for(lambda: kb_file.read_text() == "1024\n", 5.0, "the late raise")


def test_the_init_reply_asks_for_the_big_read_ahead(binding: fusebind.Binding) -> None:
    class Conn:
        max_readahead = 128 * 1024  # what the kernel offers

    conn = Conn()
    ops = make_operations(FakeFS(), binding, platform="linux")
    ops.init_with_config(conn, None)
    big = binding.libfuse_major >= 3
    assert conn.max_readahead == (1024 * 1024 if big else 128 * 1024)
