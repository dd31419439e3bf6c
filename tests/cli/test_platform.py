"""OS-specific behaviour, tested with the platform passed in (partyfuse/platform.py)."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable

import pytest

from partyfuse import platform as plat
from partyfuse.core.names import IdentityNames, WindowsNames


@pytest.mark.parametrize("path", ["M:", "m:", "Z:\\", "Q:/"])
def test_drive_letters_on_windows_need_no_folder(path: str) -> None:
    assert plat.is_drive_letter(path, "win32")
    assert plat.check_mountpoint(path, nonempty=False, platform="win32") is None


@pytest.mark.parametrize("path", ["M:", "MM:", "./m", "C:\\x"])
def test_drive_letters_mean_nothing_elsewhere(path: str) -> None:
    assert not plat.is_drive_letter(path, "linux")
    assert plat.check_mountpoint(path, nonempty=False, platform="linux") is not None


def test_windows_gets_windows_names_and_owner_options() -> None:
    assert isinstance(plat.names_for("win32"), WindowsNames)
    assert isinstance(plat.names_for("linux"), IdentityNames)
    assert isinstance(plat.names_for("darwin"), IdentityNames)
    assert plat.fuse_mount_options("win32") == {"uid": -1, "gid": -1}
    assert plat.fuse_mount_options("linux") == {}


@pytest.mark.parametrize("path", ["/a/._song.flac", "/._x", "/.DS_Store", "/d/.localized"])
def test_macos_probe_names_are_quiet_misses(path: str) -> None:
    assert plat.is_quiet_miss(path, "darwin")
    assert not plat.is_quiet_miss(path, "linux")


def test_normal_names_are_not_quiet_misses_on_macos() -> None:
    assert not plat.is_quiet_miss("/a/song.flac", "darwin")
    assert not plat.is_quiet_miss("/a/_x", "darwin")


def test_sys_platform_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plat.sys, "platform", "darwin")
    assert plat.is_quiet_miss("/._x")
    monkeypatch.setattr(plat.sys, "platform", "win32")
    assert plat.is_drive_letter("M:")
    assert isinstance(plat.names_for(), WindowsNames)


def test_mountpoint_checks(tmp_path: os.PathLike[str]) -> None:
    base = str(tmp_path)
    missing = os.path.join(base, "nope")
    msg = plat.check_mountpoint(missing, nonempty=False, platform="linux")
    assert msg is not None and "does not exist" in msg and "mkdir" in msg

    afile = os.path.join(base, "f")
    open(afile, "w").close()
    msg = plat.check_mountpoint(afile, nonempty=False, platform="linux")
    assert msg is not None and "not a directory" in msg

    full = os.path.join(base, "full")
    os.mkdir(full)
    open(os.path.join(full, "x"), "w").close()
    msg = plat.check_mountpoint(full, nonempty=False, platform="linux")
    assert msg is not None and "not empty" in msg and "--nonempty" in msg
    assert plat.check_mountpoint(full, nonempty=True, platform="linux") is None

    empty = os.path.join(base, "empty")
    os.mkdir(empty)
    assert plat.check_mountpoint(empty, nonempty=False, platform="linux") is None


def test_windows_directory_mount_points_must_not_exist_yet(tmp_path: os.PathLike[str]) -> None:
    base = str(tmp_path)
    assert (
        plat.check_mountpoint(os.path.join(base, "new"), nonempty=False, platform="win32") is None
    )
    msg = plat.check_mountpoint(base, nonempty=False, platform="win32")
    assert msg is not None and "drive letter" in msg
    msg = plat.check_mountpoint(
        os.path.join(base, "no", "deeper"), nonempty=False, platform="win32"
    )
    assert msg is not None and "does not exist" in msg


def _which(*found: str) -> Callable[[str], str | None]:
    return lambda tool: f"/usr/bin/{tool}" if tool in found else None


@pytest.mark.parametrize(
    ("platform", "found", "cmd"),
    [
        ("darwin", (), ["umount", "-f", "/m n"]),
        ("freebsd14", (), ["umount", "-f", "/m n"]),
        ("linux", ("fusermount3", "fusermount"), ["fusermount3", "-uz", "/m n"]),
        ("linux", ("fusermount",), ["fusermount", "-uz", "/m n"]),
        ("linux", (), ["fusermount", "-uz", "/m n"]),
        ("win32", (), []),
    ],
)
def test_force_unmount_command_per_os(
    platform: str, found: tuple[str, ...], cmd: list[str]
) -> None:
    assert plat.force_unmount_command("/m n", platform, which=_which(*found)) == cmd


@pytest.mark.parametrize(
    ("platform", "found", "cmd"),
    [
        ("darwin", (), ["umount", "/m"]),
        ("linux", ("fusermount3",), ["fusermount3", "-u", "/m"]),
        ("linux", ("fusermount",), ["fusermount", "-u", "/m"]),
        ("win32", (), []),
    ],
)
def test_unmount_command_per_os(platform: str, found: tuple[str, ...], cmd: list[str]) -> None:
    assert plat.unmount_command("/m", platform, which=_which(*found)) == cmd


@pytest.mark.parametrize(
    ("platform", "fix"),
    [("darwin", "umount -f '/Volumes/my nas'"), ("linux", "fusermount -uz '/Volumes/my nas'")],
)
def test_stale_mount_hint_names_this_oss_unmount(
    platform: str, fix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plat.shutil, "which", _which("fusermount"))
    dead = OSError(errno.ENOTCONN, "Transport endpoint is not connected")
    msg = plat.stale_mount_hint("/Volumes/my nas", dead, platform)
    assert msg is not None and "stale mount" in msg and msg.endswith(f"unmount it first: {fix}")
    assert plat.stale_mount_hint("/x", OSError(errno.EACCES, "no"), platform) is None
    if platform == "darwin":
        assert "fusermount" not in msg
