"""Mounting and unmounting: pre-mount checks, signals, --background, logging flags."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.copyparty import PASSWORD, CopypartyServer, SourceTree, free_port
from tests.support.mounts import (
    Mounter,
    fusermount,
    run_partyfuse,
    teardown,
)
from tests.support.wait import wait_for


def _one_line_error(text: str) -> str:
    """The one error line (info lines like "server looks like cpp" may come before it)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("partyfuse: error: ")]
    assert len(errors) == 1, text
    assert errors[0] == lines[-1], text
    assert "Traceback" not in text
    assert not [ln for ln in lines if ln.startswith((" ", "\t"))], text
    return errors[0]


def test_wrong_password_is_one_line_and_no_mount(
    cpp_password: CopypartyServer, tmp_path: Path
) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = run_partyfuse([cpp_password.url, str(mnt), "-a", "not-the-password"])
    assert r.returncode != 0
    line = _one_line_error(r.stderr)
    assert "password" in line
    assert "not-the-password" not in r.stderr + r.stdout
    assert not os.path.ismount(mnt)


def test_missing_password_says_one_is_needed(cpp_password: CopypartyServer, tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = run_partyfuse([cpp_password.url, str(mnt)])
    assert r.returncode != 0
    assert "-a" in _one_line_error(r.stderr)
    assert not os.path.ismount(mnt)


def test_server_down_is_one_line(tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = run_partyfuse([f"http://127.0.0.1:{free_port()}/", str(mnt)])
    assert r.returncode != 0
    assert "cannot reach" in _one_line_error(r.stderr)
    assert not os.path.ismount(mnt)


def test_missing_folder_on_the_server(cpp_anon: CopypartyServer, tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = run_partyfuse([cpp_anon.url + "no-such-dir/", str(mnt)])
    assert r.returncode != 0
    _one_line_error(r.stderr)
    assert not os.path.ismount(mnt)


def test_mount_point_not_empty(cpp_anon: CopypartyServer, tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    (mnt / "something").write_text("x")
    r = run_partyfuse([cpp_anon.url, str(mnt)])
    assert r.returncode != 0
    assert "--nonempty" in _one_line_error(r.stderr)
    assert not os.path.ismount(mnt)


def test_nonempty_flag_mounts_over_files(
    mounter: Mounter, cpp_anon: CopypartyServer, source_tree: SourceTree, tmp_path: Path
) -> None:
    # mounter makes mnt0; put a file in it first
    (tmp_path / "mnt0").mkdir()
    (tmp_path / "mnt0" / "hidden-by-mount").write_text("x")
    m = mounter(cpp_anon.url, "--nonempty", "-q")
    assert (m.path / "plain.txt").read_bytes() == source_tree.files["plain.txt"]
    assert not (m.path / "hidden-by-mount").exists()


def test_mount_point_missing_or_a_file(cpp_anon: CopypartyServer, tmp_path: Path) -> None:
    r = run_partyfuse([cpp_anon.url, str(tmp_path / "nope")])
    assert r.returncode != 0 and "does not exist" in _one_line_error(r.stderr)
    f = tmp_path / "file"
    f.write_text("x")
    r = run_partyfuse([cpp_anon.url, str(f)])
    assert r.returncode != 0 and "not a directory" in _one_line_error(r.stderr)


def test_missing_fuse_library_is_one_line(cpp_anon: CopypartyServer, tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = run_partyfuse(
        [cpp_anon.url, str(mnt)],
        env={"PARTYFUSE_FUSE": "mfusepy", "FUSE_LIBRARY_PATH": str(tmp_path / "libnofuse.so")},
    )
    assert r.returncode != 0
    line = _one_line_error(r.stderr)
    assert "apt install fuse3" in line


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_unmounts_cleanly(
    mounter: Mounter, cpp_anon: CopypartyServer, sig: signal.Signals
) -> None:
    m = mounter(cpp_anon.url)
    assert os.listdir(m.path)
    m.proc.send_signal(sig)
    assert m.wait_exit() == 0
    assert not os.path.ismount(m.path)
    assert "Traceback" not in m.stderr
    assert "unmounted" in m.stderr


def test_fusermount_u_ends_the_process(mounter: Mounter, cpp_anon: CopypartyServer) -> None:
    import subprocess

    m = mounter(cpp_anon.url, "-q")
    subprocess.run([fusermount(), "-u", str(m.path)], check=True, timeout=15)
    assert m.wait_exit() == 0
    assert m.stderr == ""


def test_background_returns_once_mounted(
    cpp_anon: CopypartyServer, source_tree: SourceTree, tmp_path: Path
) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    logf = tmp_path / "bg.log"
    pid = None
    try:
        r = run_partyfuse([cpp_anon.url, str(mnt), "--background", "--logf", str(logf)])
        assert r.returncode == 0, r.stderr
        assert os.path.ismount(mnt)  # already mounted when the command returns
        pid = int(r.stdout.rsplit("(pid ", 1)[1].split(")")[0])
        assert (mnt / "plain.txt").read_bytes() == source_tree.files["plain.txt"]
    finally:
        teardown(mnt, None, pid)
    assert pid is not None
    wait_for(lambda: "unmounted" in logf.read_text(), 10, "the unmount log line")
    assert "mounting" in logf.read_text()


def test_background_reports_failure(cpp_password: CopypartyServer, tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = run_partyfuse([cpp_password.url, str(mnt), "--background", "-a", "wrong"])
    assert r.returncode != 0
    _one_line_error(r.stderr)
    assert not os.path.ismount(mnt)


# ---- logging flags ------------------------------------------------------------


def test_default_logs_the_mount_not_each_request(
    mounter: Mounter, cpp_anon: CopypartyServer
) -> None:
    m = mounter(cpp_anon.url)
    (m.path / "plain.txt").read_bytes()
    m.proc.send_signal(signal.SIGTERM)
    m.wait_exit()
    assert "mounting" in m.stderr and "unmounted" in m.stderr
    assert " D " not in m.stderr


def test_quiet_logs_nothing_on_success(mounter: Mounter, cpp_anon: CopypartyServer) -> None:
    m = mounter(cpp_anon.url, "-q")
    (m.path / "plain.txt").read_bytes()
    m.proc.send_signal(signal.SIGTERM)
    assert m.wait_exit() == 0
    assert m.stderr == ""


def test_debug_logs_requests_and_ranges(mounter: Mounter, cpp_anon: CopypartyServer) -> None:
    m = mounter(cpp_anon.url, "-d")
    (m.path / "sizes" / "64k+1.bin").read_bytes()
    m.proc.send_signal(signal.SIGTERM)
    m.wait_exit()
    debug = [ln for ln in m.stderr.splitlines() if " D " in ln]
    assert debug, m.stderr
    # the adapter traces each read with its range, the transport each request
    assert any("read /sizes/64k+1.bin [0+" in ln for ln in debug), m.stderr
    assert any("GET http://" in ln and "64k%2B1.bin" in ln for ln in debug), m.stderr
    # and the core its cache decisions
    assert any("dir cache miss /sizes" in ln for ln in debug), m.stderr
    assert any(
        "read /sizes/64k+1.bin [0+" in ln and "block cache miss, fetch [0-" in ln for ln in debug
    ), m.stderr


def test_logf_writes_the_file_and_never_the_password(
    mounter: Mounter, cpp_password: CopypartyServer, tmp_path: Path
) -> None:
    logf = tmp_path / "pf.log"
    m = mounter(cpp_password.url, "-d", "-a", PASSWORD, "--logf", str(logf))
    (m.path / "plain.txt").read_bytes()
    m.proc.send_signal(signal.SIGTERM)
    m.wait_exit()
    text = logf.read_text()
    assert "mounting" in text and " D " in text
    assert PASSWORD not in text
    assert PASSWORD not in m.stderr


def test_stale_mount_is_named_with_the_fix(
    mounter: Mounter, cpp_anon: CopypartyServer, tmp_path: Path
) -> None:
    m = mounter(cpp_anon.url, "-q")
    m.proc.kill()  # a crash: the kernel keeps a dead mount ("transport endpoint not connected")
    m.proc.wait(timeout=10)
    with pytest.raises(OSError):
        os.listdir(m.path)
    fixes = set()
    for extra in ([], ["--nonempty"]):
        r = run_partyfuse([cpp_anon.url, str(m.path), *extra])
        assert r.returncode != 0
        line = _one_line_error(r.stderr)
        assert "stale" in line and "unmount it first: " in line
        fixes.add(line.split("unmount it first: ", 1)[1])
    (fix,) = fixes
    cmd = shlex.split(fix)
    assert cmd[0] in ("fusermount", "fusermount3") and cmd[1:] == ["-uz", str(m.path)]
    # and the fix it names works
    subprocess.run(cmd, check=True, timeout=15)
    assert not os.path.ismount(m.path)
    assert os.listdir(m.path) == []
