"""Files and folders belong to the user who mounted, as rclone shows them by default.

Before, every entry showed owner root (uid 0) whoever mounted.  The mount as a
normal user is made with ``setpriv`` (it execs, so the process we wait on and
kill is partyfuse itself); such a mount is only reachable by that user (no
allow_other), so its ``stat`` runs as that user too.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import partyfuse
from fakes.servers import FakeServer
from fakes.tree import Tree
from partyfuse.fuse_adapter import mount_owner
from tests.support.fake_servers import FakeServerFactory
from tests.support.mounts import TEST_ENV, Mounter
from tests.support.wait import wait_for

USER = "partyfuse-owner"


def _tree() -> Tree:
    tree = Tree()
    tree.add_file("a.txt", b"owned\n", mtime=1700000000)
    tree.add_dir("folder", mtime=1700000000)
    tree.add_file("folder/b.txt", b"b", mtime=1700000000)
    return tree


@pytest.fixture
def server(fake_server: FakeServerFactory) -> FakeServer:
    return fake_server("nginx", _tree())


def _stat_owner(paths: list[Path], as_user: pwd.struct_passwd | None = None) -> list[str]:
    cmd = ["stat", "-c", "%u %g", *map(str, paths)]
    if as_user is not None:
        cmd = _as(as_user) + cmd
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=True)
    return out.stdout.split("\n")[:-1]


def _as(user: pwd.struct_passwd) -> list[str]:
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups", "--"]


@pytest.fixture
def normal_user() -> Iterator[pwd.struct_passwd]:
    """A normal user that may mount: created if missing, /dev/fuse opened to it."""
    if os.geteuid() != 0:
        pytest.skip("making a normal user's mount needs root (the suite runs as root in CI)")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    try:
        user = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
            check=True,
            capture_output=True,
        )
        user = pwd.getpwnam(USER)
    # distributions ship /dev/fuse as 0666; a container may leave it root's alone
    mode = stat.S_IMODE(os.stat("/dev/fuse").st_mode)
    if mode & 0o006 != 0o006:
        os.chmod("/dev/fuse", mode | 0o666)
    try:
        yield user
    finally:
        if mode & 0o006 != 0o006:
            os.chmod("/dev/fuse", mode)


def _mounted(path: Path) -> bool:
    """From the mount table: root may not even stat another user's FUSE mount
    (no allow_other), so os.path.ismount says False for it."""
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
        return any(line.split()[4] == str(path) for line in f)


def _unmount_as(user: pwd.struct_passwd, path: Path, proc: subprocess.Popen[bytes] | None) -> None:
    """Leave no mount and no process behind, however the test ended."""
    if _mounted(path):
        subprocess.run(
            [*_as(user), "fusermount3", "-u", str(path)], capture_output=True, timeout=15
        )
    if _mounted(path):
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=15)
    if proc is not None:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    assert not _mounted(path), f"{path} is still mounted"


def _stage(into: Path) -> str:
    """A PYTHONPATH the other user can read: a copy of the partyfuse package and
    of the FUSE bindings (pure Python over ctypes).  The checkout and its venv
    may sit where only root can enter (a clone in a 0700 mktemp dir, a venv
    under /root), so the user's process is not pointed at them."""
    into.mkdir()
    package = Path(partyfuse.__file__).parent
    shutil.copytree(package, into / "partyfuse", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("mfusepy", "fuse"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin is not None:
            shutil.copy2(spec.origin, into / Path(spec.origin).name)
    for path in [into, *into.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return str(into)


def _python_for(user: pwd.struct_passwd, pythonpath: str) -> str:
    """An interpreter ``user`` can run, of this one's version, that imports
    partyfuse from ``pythonpath`` (a pyenv or uv Python under /root is not
    reachable for another user; Debian's /usr/bin/python3 usually is)."""
    want = f"{sys.version_info[0]}.{sys.version_info[1]}"
    check = "import sys, partyfuse; print('%d.%d' % sys.version_info[:2])"
    for cand in (sys.executable, f"/usr/bin/python{want}", shutil.which("python3")):
        if not cand:
            continue
        probe = [*_as(user), cand, "-c", check]
        env = {"PYTHONPATH": pythonpath, "PATH": os.environ.get("PATH", "")}
        got = subprocess.run(probe, capture_output=True, text=True, timeout=30, env=env, cwd="/")
        if got.returncode == 0 and got.stdout.strip() == want:
            return cand
    pytest.fail(f"no Python {want} that {user.pw_name} may run (tried {sys.executable})")


def test_a_normal_users_mount_shows_that_user_as_owner(
    server: FakeServer, normal_user: pwd.struct_passwd
) -> None:
    base = Path(tempfile.mkdtemp(prefix="pf-owner-", dir="/tmp"))
    mnt = base / "mnt"
    mnt.mkdir()
    os.chown(base, normal_user.pw_uid, normal_user.pw_gid)
    os.chown(mnt, normal_user.pw_uid, normal_user.pw_gid)
    log = base / "stderr"
    proc = None
    try:
        pythonpath = _stage(base / "py")
        python = _python_for(normal_user, pythonpath)
        with open(log, "wb") as err:
            proc = subprocess.Popen(
                [
                    *_as(normal_user),
                    python,
                    "-m",
                    "partyfuse",
                    server.url_for("/"),
                    str(mnt),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env={**os.environ, **TEST_ENV, "PYTHONPATH": pythonpath, "HOME": str(base)},
                cwd=str(base),
            )
        wait_for(lambda: _mounted(mnt) or proc.poll() is not None, 20, f"mount on {mnt}")
        assert _mounted(mnt), log.read_text()
        owners = _stat_owner(
            [mnt, mnt / "a.txt", mnt / "folder", mnt / "folder/b.txt"], normal_user
        )
        want = f"{normal_user.pw_uid} {normal_user.pw_gid}"
        assert owners == [want] * 4
        content = subprocess.run(
            [*_as(normal_user), "cat", str(mnt / "a.txt")], capture_output=True, timeout=30
        )
        assert content.stdout == b"owned\n"
    finally:
        _unmount_as(normal_user, mnt, proc)
        shutil.rmtree(base, ignore_errors=True)


def test_roots_mount_shows_root_as_owner(server: FakeServer, mounter: Mounter) -> None:
    m = mounter(server.url_for("/"))
    owners = _stat_owner([m.path, m.path / "a.txt", m.path / "folder", m.path / "folder/b.txt"])
    assert owners == [f"{os.getuid()} {os.getgid()}"] * 4


def test_winfsp_gets_minus_one_for_the_mounting_user() -> None:
    # WinFsp-FUSE maps uid/gid -1 to the user who mounts (its uid=-1 option too)
    assert mount_owner("win32") == (-1, -1)
    assert mount_owner("linux") == (os.getuid(), os.getgid())
    assert mount_owner("darwin") == (os.getuid(), os.getgid())
