"""Cross-platform smoke test: `python -m partyfuse` mounts a real copyparty.

The one mount test CI runs on every OS: libfuse on Linux, FUSE-T on macOS
(FUSE_LIBRARY_PATH set by the workflow), WinFsp on a drive letter on Windows.
The thorough mount tests live in tests/mount; this one only proves that the
command, the binding and the OS's FUSE fit together, so it reads a few files
end to end and checks that the mount refuses writes.

A missing FUSE library is a failure here, never a skip: CI installs one on
every OS, and a skip would hide that it did not.
"""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import string
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.copyparty import CopypartyServer, launch
from tests.support.disk import write_files
from tests.support.wait import wait_for

MOUNT_DEADLINE = 90.0  # FUSE-T answers through a local NFS server: slow to appear
UNMOUNT_DEADLINE = 20.0
BIG = 3 * (1 << 20) + 7  # spans block boundaries (BLOCK_SIZE is 1 MiB)


@dataclass
class Mounted:
    server: CopypartyServer
    files: dict[str, bytes]
    """relative "/"-joined path -> content, as served."""
    mountpoint: Path
    """Where the files appear: the mount directory, or the drive's root (Z:\\)."""
    proc: subprocess.Popen[bytes]
    log: Path


def _tree(root: Path) -> dict[str, bytes]:
    rng = random.Random(6)
    files = {
        "hello.txt": b"hello from copyparty\n",
        "empty.bin": b"",
        "sub/deeper/big.bin": rng.randbytes(BIG),
        "ünï cödé.txt": "grüße\n".encode(),
    }
    write_files(root, files)
    return files


def _free_drive_letter() -> str:
    for letter in reversed(string.ascii_uppercase[7:]):  # Z: down to H:
        if not os.path.exists(f"{letter}:\\"):
            return f"{letter}:"
    pytest.fail("no free drive letter for the WinFsp mount")


def _is_mounted(mountpoint: Path) -> bool:
    if sys.platform == "win32":
        return os.path.exists(mountpoint)
    return os.path.ismount(mountpoint)


def _force_unmount(mountpoint: Path) -> None:
    """Last resort when the process did not unmount on its own."""
    if sys.platform == "win32":
        return  # WinFsp drops the drive when the process is gone
    if sys.platform == "darwin":
        cmds = [
            ["umount", "-f", str(mountpoint)],
            ["diskutil", "unmount", "force", str(mountpoint)],
        ]
    else:
        cmds = [[t, "-uz", str(mountpoint)] for t in ("fusermount3", "fusermount")]
        cmds.append(["umount", "-l", str(mountpoint)])
    for cmd in cmds:
        if shutil.which(cmd[0]) and _is_mounted(mountpoint):
            subprocess.run(cmd, capture_output=True, timeout=30, check=False)


def _stop(proc: subprocess.Popen[bytes], mountpoint: Path) -> None:
    if proc.poll() is None:
        if sys.platform == "win32":
            proc.terminate()
        else:
            proc.send_signal(signal.SIGINT)  # what Ctrl-C does: unmount and exit
        try:
            proc.wait(timeout=UNMOUNT_DEADLINE)
        except subprocess.TimeoutExpired:
            pass
    _force_unmount(mountpoint)
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def mounted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mounted]:
    base = tmp_path_factory.mktemp("smoke")
    files = _tree(base / "served")
    server = launch(base / "cpp", base / "served")
    try:
        if sys.platform == "win32":
            drive = _free_drive_letter()
            where, mountpoint = drive, Path(drive + "\\")
        else:
            mountpoint = base / "mnt"
            mountpoint.mkdir()
            where = str(mountpoint)
        log = base / "partyfuse.log"
        cmd = [sys.executable, "-m", "partyfuse", server.url, where]
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        mount = Mounted(server, files, mountpoint, proc, log)
        try:
            _wait_mounted(mount)
            yield mount
        finally:
            _stop(proc, mountpoint)
    finally:
        server.stop()


def _wait_mounted(m: Mounted) -> None:
    probe = m.mountpoint / "hello.txt"

    def served() -> bool:
        if m.proc.poll() is not None:
            pytest.fail(f"partyfuse exited with {m.proc.returncode}:\n{m.log.read_text()}")
        try:
            return probe.is_file()
        except OSError:
            return False  # the mount is coming up

    try:
        wait_for(served, MOUNT_DEADLINE, f"{probe} to be served", interval=0.1)
    except AssertionError as e:
        pytest.fail(f"{e}:\n{m.log.read_text()}")


def test_lists_the_served_tree(mounted: Mounted) -> None:
    assert _is_mounted(mounted.mountpoint)
    top = sorted(os.listdir(mounted.mountpoint))
    assert top == sorted({rel.split("/")[0] for rel in mounted.files})
    assert os.listdir(mounted.mountpoint / "sub" / "deeper") == ["big.bin"]


def test_reads_exact_bytes(mounted: Mounted) -> None:
    for rel, data in mounted.files.items():
        path = mounted.mountpoint.joinpath(*rel.split("/"))
        assert os.stat(path).st_size == len(data), rel
        assert path.read_bytes() == data, rel


def test_random_access_across_blocks(mounted: Mounted) -> None:
    data = mounted.files["sub/deeper/big.bin"]
    with open(mounted.mountpoint / "sub" / "deeper" / "big.bin", "rb") as f:
        for offset, size in [((1 << 20) - 5, 10), (BIG - 3, 100), (17, 4096), (2 << 20, 1 << 20)]:
            f.seek(offset)
            assert f.read(size) == data[offset : offset + size], offset


def test_is_read_only(mounted: Mounted) -> None:
    with pytest.raises(OSError) as err:
        with open(mounted.mountpoint / "new.txt", "wb") as f:
            f.write(b"x")
    assert err.value.errno in (errno.EROFS, errno.EACCES, errno.EPERM), err.value
    with pytest.raises(FileNotFoundError):
        (mounted.mountpoint / "missing.txt").read_bytes()


@pytest.mark.linux_only  # reads the mount process's /proc/PID/maps
def test_binding_loads_the_libfuse_it_stands_for(mounted: Mounted) -> None:
    """What the tox fusepy/mfusepy environments promise: libfuse2 vs libfuse3."""
    want = os.environ.get("PARTYFUSE_FUSE", "").strip().lower()
    if not want:
        import importlib.util

        want = "mfusepy" if importlib.util.find_spec("mfusepy") else "fusepy"
    maps = Path(f"/proc/{mounted.proc.pid}/maps").read_text()
    libs = {Path(line.split()[-1]).name for line in maps.splitlines() if "libfuse" in line}
    if want == "mfusepy":
        assert any(lib.startswith("libfuse3.so") for lib in libs), libs
    else:
        assert any(lib.startswith("libfuse.so.2") for lib in libs), libs
        assert not any(lib.startswith("libfuse3") for lib in libs), libs


def test_unmounts_on_interrupt(mounted: Mounted) -> None:
    """Last test of the module: Ctrl-C (terminate on Windows) leaves no mount behind."""
    _stop(mounted.proc, mounted.mountpoint)
    wait_for(
        lambda: not _is_mounted(mounted.mountpoint),
        UNMOUNT_DEADLINE,
        f"{mounted.mountpoint} to be unmounted",
        interval=0.1,
    )
    if sys.platform != "win32":
        assert mounted.proc.returncode in (0, 130), mounted.log.read_text()
