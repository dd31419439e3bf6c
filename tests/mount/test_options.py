"""Mount options through the kernel: TLS flags, cache times, --oth, a server that dies."""

from __future__ import annotations

import errno
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.copyparty import CopypartyServer, HttpsServer, SourceTree
from tests.support.mounts import Mount, Mounter, run_partyfuse
from tests.support.wait import wait_for


def _mount_options(mnt: Path) -> list[str]:
    with open("/proc/mounts") as f:
        line = next(ln for ln in f if f" {mnt} " in ln)
    return line.split()[3].split(",")


def test_https_with_pinned_certificate(
    mounter: Mounter, cpp_https: HttpsServer, source_tree: SourceTree
) -> None:
    m = mounter(cpp_https.server.url, "-q", "-te", str(cpp_https.cert))
    assert (m.path / "plain.txt").read_bytes() == source_tree.files["plain.txt"]


def test_https_without_checks(
    mounter: Mounter, cpp_https: HttpsServer, source_tree: SourceTree
) -> None:
    m = mounter(cpp_https.server.url, "-q", "-td")
    assert (m.path / "plain.txt").read_bytes() == source_tree.files["plain.txt"]


def test_https_untrusted_certificate_is_refused(cpp_https: HttpsServer, tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = run_partyfuse([cpp_https.server.url, str(mnt), "-q"])
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("partyfuse: error: ") and "-te" in last and "-td" in last
    assert "Traceback" not in r.stderr
    assert not os.path.ismount(mnt)


def test_https_hostname_check_with_teh(cpp_https: HttpsServer, tmp_path: Path) -> None:
    # the certificate names "localhost", the URL says 127.0.0.1: -teh must refuse
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = run_partyfuse([cpp_https.server.url, str(mnt), "-te", str(cpp_https.cert), "-teh"])
    assert r.returncode != 0
    assert r.stderr.strip().splitlines()[-1].startswith("partyfuse: error: ")
    assert not os.path.ismount(mnt)


def test_allow_other(mounter: Mounter, cpp_anon: CopypartyServer) -> None:
    assert "allow_other" not in _mount_options(mounter(cpp_anon.url, "-q").path)
    assert "allow_other" in _mount_options(mounter(cpp_anon.url, "-q", "--oth").path)


ScratchFactory = Callable[..., tuple[CopypartyServer, SourceTree]]


def _listed_then_added(mounter: Mounter, scratch_server: ScratchFactory, cds: str) -> Mount:
    """A mount with ``-cds cds`` that has listed first.txt; second.txt is new on the server."""
    server, tree = scratch_server()
    tree.write("first.txt", b"1")
    m = mounter(server.url, "-q", "-cds", cds)
    assert os.listdir(m.path) == ["first.txt"]
    tree.write("second.txt", b"22")
    return m


def test_short_cds_shows_new_files_soon(mounter: Mounter, scratch_server: ScratchFactory) -> None:
    m = _listed_then_added(mounter, scratch_server, "0.3")
    wait_for(lambda: "second.txt" in os.listdir(m.path), 10, "the new file to show")
    assert (m.path / "second.txt").read_bytes() == b"22"


def test_long_cds_keeps_the_listing(mounter: Mounter, scratch_server: ScratchFactory) -> None:
    m = _listed_then_added(mounter, scratch_server, "60")
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.5:  # well past the default 1 s
        assert os.listdir(m.path) == ["first.txt"]
        time.sleep(0.1)


def test_server_death_gives_eio_and_unmount_still_works(
    mounter: Mounter, scratch_server: ScratchFactory
) -> None:
    server, tree = scratch_server()
    tree.write("cached.txt", b"seen before")
    tree.write("never-read.bin", os.urandom(300_000))
    m = mounter(server.url, "-cds", "0")
    assert (m.path / "cached.txt").read_bytes() == b"seen before"
    server.kill()
    t0 = time.monotonic()
    with pytest.raises(OSError) as ei:
        (m.path / "never-read.bin").read_bytes()
    assert ei.value.errno in (errno.EIO, errno.ENOENT, errno.EACCES)
    assert time.monotonic() - t0 < 30  # an error, not a hang
    m.proc.send_signal(signal.SIGTERM)
    assert m.wait_exit() == 0
    assert not os.path.ismount(m.path)
    assert "Traceback" not in m.stderr


@pytest.mark.parametrize("flags", [["-cdn", "0"], ["-cf", "0"], ["-cds", "0"], ["-cf", "1"]])
def test_caches_off_or_tiny_still_read_right(
    mounter: Mounter, cpp_anon: CopypartyServer, source_tree: SourceTree, flags: list[str]
) -> None:
    m = mounter(cpp_anon.url, "-q", *flags)
    for rel in ("sizes/1m+3.bin", "nested/a/b/c/inner file #1.txt", "sizes/64k.bin"):
        assert (m.path / rel).read_bytes() == source_tree.files[rel], rel
