"""A real copyparty mounted through the kernel: what every program sees."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.copyparty import (
    PASSWORD,
    USER,
    CopypartyServer,
    SourceTree,
)
from tests.support.mounts import Mount, Mounter
from tests.support.names import AWKWARD_NAMES, non_utf8_name
from tests.support.treecheck import assert_contents_match, assert_tree_matches


@pytest.fixture(scope="module")
def anon(module_mounter: Mounter, cpp_dots: CopypartyServer) -> Mount:
    return module_mounter(cpp_dots.url, "-q")


@pytest.fixture(scope="module", params=["mfusepy", "fusepy"])
def per_binding(
    request: pytest.FixtureRequest, module_mounter: Mounter, cpp_dots: CopypartyServer
) -> Mount:
    return module_mounter(cpp_dots.url, "-q", env={"PARTYFUSE_FUSE": request.param})


def test_tree_names_sizes_and_mtimes_match(anon: Mount, source_tree: SourceTree) -> None:
    assert_tree_matches(anon.path, source_tree, dots=True)


def test_every_file_has_the_servers_bytes(anon: Mount, source_tree: SourceTree) -> None:
    assert assert_contents_match(anon.path, source_tree, dots=True) > 5 << 20


def test_each_binding_mounts_the_same_tree(per_binding: Mount, source_tree: SourceTree) -> None:
    assert_tree_matches(per_binding.path, source_tree, dots=True)
    assert_contents_match(per_binding.path, source_tree, dots=True)


@pytest.mark.parametrize("name", AWKWARD_NAMES)
def test_awkward_names_open_by_name(anon: Mount, source_tree: SourceTree, name: str) -> None:
    assert (anon.path / name).read_bytes() == source_tree.files[name]


def test_non_utf8_name_opens_by_name(anon: Mount, source_tree: SourceTree) -> None:
    name = non_utf8_name()
    assert (anon.path / name).read_bytes() == source_tree.files[name]


def test_non_utf8_name_is_the_same_bytes(anon: Mount) -> None:
    assert b"latin1-caf\xe9.txt" in os.listdir(bytes(anon.path))


def test_anonymous_mount_hides_what_the_server_hides(
    module_mounter: Mounter, cpp_anon: CopypartyServer, source_tree: SourceTree
) -> None:
    m = module_mounter(cpp_anon.url, "-q")
    assert_tree_matches(m.path, source_tree, dots=False)


def test_password_mount_reads_everything(
    mounter: Mounter, cpp_password: CopypartyServer, source_tree: SourceTree
) -> None:
    m = mounter(cpp_password.url, "-a", PASSWORD, "-q")
    assert_tree_matches(m.path, source_tree, dots=True)
    assert (m.path / "sizes/64k+1.bin").read_bytes() == source_tree.files["sizes/64k+1.bin"]


def test_usernames_mount_takes_user_colon_password_from_a_file(
    mounter: Mounter, cpp_usernames: CopypartyServer, source_tree: SourceTree, tmp_path: Path
) -> None:
    pwfile = tmp_path / "pw"
    pwfile.write_text(f"{USER}:{PASSWORD}\n")
    m = mounter(cpp_usernames.url, "-a", f"${pwfile}", "-q")
    assert (m.path / "plain.txt").read_bytes() == source_tree.files["plain.txt"]


def test_eight_threads_read_different_and_same_files(anon: Mount, source_tree: SourceTree) -> None:
    sizes = sorted(
        (k for k in source_tree.files if k.startswith("sizes/")),
        key=lambda k: -len(source_tree.files[k]),
    )
    big = sizes[0]
    jobs = sizes[:4] + [big] * 4  # four different files and the biggest four times at once

    def read(rel: str) -> tuple[str, str]:
        h = hashlib.sha256()
        with open(anon.path / rel, "rb") as f:
            while chunk := f.read(100_003):  # odd size: reads straddle blocks
                h.update(chunk)
        return rel, h.hexdigest()

    with ThreadPoolExecutor(8) as pool:
        for _ in range(2):
            for rel, digest in pool.map(read, jobs):
                assert digest == hashlib.sha256(source_tree.files[rel]).hexdigest(), rel


def test_random_access_reads(anon: Mount, source_tree: SourceTree) -> None:
    data = source_tree.files["sizes/5m.bin"]
    fd = os.open(anon.path / "sizes/5m.bin", os.O_RDONLY)
    try:
        spots = [(0, 1), (4095, 3), ((1 << 20) - 5, 10), (len(data) - 7, 100), (len(data), 5)]
        for off, n in spots:
            assert os.pread(fd, n, off) == data[off : off + n], (off, n)
        assert os.pread(fd, 64 << 20, 0) == data  # one huge read is answered in full
    finally:
        os.close(fd)


def test_cp_r_copies_a_directory_exactly(
    anon: Mount, source_tree: SourceTree, tmp_path: Path
) -> None:
    out = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(anon.path / "sizes"), str(out)], check=True, timeout=60)
    got = {p.name: p.read_bytes() for p in out.iterdir()}
    want = {k.split("/", 1)[1]: v for k, v in source_tree.files.items() if k.startswith("sizes/")}
    assert got.keys() == want.keys()
    for name in want:
        assert got[name] == want[name], name


def test_ls_and_cp_a_are_quiet(anon: Mount, tmp_path: Path) -> None:
    """No xattrs, no links: the tools that ask for them must not complain."""
    ls = subprocess.run(["ls", "-laR", str(anon.path)], capture_output=True, timeout=60)
    assert ls.returncode == 0 and ls.stderr == b""
    assert b"latin1-caf\xe9.txt" in ls.stdout
    cp = subprocess.run(
        ["cp", "-a", str(anon.path / "nested"), str(tmp_path / "nested")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cp.returncode == 0 and cp.stderr == ""
    assert (tmp_path / "nested/a/b/c/inner file #1.txt").read_text() == "inside nested/a/b/c\n"


def _errno_of(fn: object, *args: object) -> int:
    try:
        fn(*args)  # type: ignore[operator]
    except OSError as ex:
        return int(ex.errno or 0)
    raise AssertionError(f"{fn} succeeded on a read-only mount")


def test_writes_fail_with_erofs(anon: Mount) -> None:
    p = anon.path
    assert _errno_of(open, p / "plain.txt", "wb") == errno.EROFS
    assert _errno_of(open, p / "plain.txt", "ab") == errno.EROFS
    assert _errno_of(open, p / "new-file", "wb") == errno.EROFS
    assert _errno_of(os.mkdir, p / "newdir") == errno.EROFS
    assert _errno_of(os.utime, p / "plain.txt") == errno.EROFS  # touch
    assert _errno_of(os.remove, p / "plain.txt") == errno.EROFS  # rm
    assert _errno_of(os.rmdir, p / "empty-dir") == errno.EROFS
    assert _errno_of(os.rename, p / "plain.txt", p / "moved") == errno.EROFS
    assert _errno_of(os.chmod, p / "plain.txt", 0o777) == errno.EROFS
    assert _errno_of(os.symlink, "plain.txt", p / "link") == errno.EROFS
    assert _errno_of(os.truncate, p / "plain.txt", 0) == errno.EROFS
    touch = subprocess.run(["touch", str(p / "plain.txt")], capture_output=True, text=True)
    assert touch.returncode != 0 and "Read-only file system" in touch.stderr
    assert not os.access(p / "plain.txt", os.W_OK)
    assert os.access(p / "plain.txt", os.R_OK)


def test_missing_names_are_enoent(anon: Mount) -> None:
    assert _errno_of(os.stat, anon.path / "no-such-file") == errno.ENOENT
    assert _errno_of(os.listdir, anon.path / "no-such-dir") == errno.ENOENT


def test_mount_is_listed_read_only_with_our_type(anon: Mount) -> None:
    with open("/proc/mounts") as f:
        line = next(ln for ln in f if f" {anon.path} " in ln)
    fsname, _mnt, fstype, opts = line.split()[:4]
    assert fsname.startswith("partyfuse:http://127.0.0.1:")
    assert fstype == "fuse.partyfuse"
    assert "ro" in opts.split(",")


def test_root_mtime_is_the_mount_time_not_1970(anon: Mount) -> None:
    # the module's mount was made during this test session, within the hour
    mtime = os.stat(anon.path).st_mtime
    assert time.time() - 3600 < mtime <= time.time()


@pytest.fixture(scope="module")
def single_thread(module_mounter: Mounter, cpp_dots: CopypartyServer) -> Mount:
    return module_mounter(cpp_dots.url, "-q", "--st")


def test_single_threaded_loop_serves_the_same_tree_and_bytes(
    single_thread: Mount, source_tree: SourceTree
) -> None:
    assert_tree_matches(single_thread.path, source_tree, dots=True)
    assert assert_contents_match(single_thread.path, source_tree, dots=True) > 5 << 20
    test_eight_threads_read_different_and_same_files(single_thread, source_tree)
