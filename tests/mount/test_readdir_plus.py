"""Folders through a real mount of a real copyparty hand the kernel each entry's
attributes with the listing (READDIRPLUS, libfuse3): ``ls -l`` and ``cp -r`` need
no getattr per name, and a folder too big for one kernel buffer still lists every
name exactly once with the server's sizes.  Counted from the -d log's tally of
FUSE calls at unmount, never timed."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from partyfuse import fusebind
from tests.support.copyparty import ServerFactory
from tests.support.mounts import Mount, Mounter

BIG = 1500  # names: several kernel readdir buffers
SMALL = 40


def _libfuse3() -> bool:
    try:
        return fusebind.load().libfuse_major >= 3
    except fusebind.FuseUnavailable:
        return False


pytestmark = pytest.mark.skipif(
    not _libfuse3(), reason="READDIRPLUS needs libfuse3 (mfusepy); fusepy keeps its readdir"
)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plus-src")
    big = root / "big"
    big.mkdir()
    for i in range(BIG):
        (big / f"entry-{i:05d}-{'x' * (i % 50)}.txt").write_bytes(b"%d" % i * (i % 7))
    small = root / "small"
    small.mkdir()
    for i in range(SMALL):
        (small / f"f{i:02d}.bin").write_bytes(os.urandom(100 + i))
    (small / "sub").mkdir()
    (small / "sub" / "inner.txt").write_bytes(b"inner")
    return root


@pytest.fixture
def mounted(copyparty_factory: ServerFactory, source: Path, mounter: Mounter) -> Mount:
    return mounter(copyparty_factory(source).url, "-d")


def calls_at_unmount(m: Mount) -> dict[str, int]:
    m.unmount()
    m.wait_exit()
    found = re.findall(r"FUSE calls: (.*)", m.stderr)
    assert found, m.stderr[-2000:]
    return {op: int(n) for op, n in (part.split() for part in found[-1].split(", "))}


def test_a_big_folder_lists_every_name_once_with_its_size(mounted: Mount, source: Path) -> None:
    names = os.listdir(mounted.path / "big")
    assert len(names) == len(set(names)) == BIG
    assert sorted(names) == sorted(os.listdir(source / "big"))
    with os.scandir(mounted.path / "big") as it:
        sizes = {e.name: e.stat().st_size for e in it}
    assert sizes == {p.name: p.stat().st_size for p in (source / "big").iterdir()}
    calls = calls_at_unmount(mounted)
    # the names' attributes came with the listing: no getattr per name
    assert calls.get("getattr", 0) < 10, calls


def test_ls_l_and_cp_r_ask_no_getattr_per_name(
    mounted: Mount, source: Path, tmp_path: Path
) -> None:
    out = subprocess.run(
        ["ls", "-ln", str(mounted.path / "small")], capture_output=True, text=True, check=True
    ).stdout
    sizes = {f[-1]: int(f[4]) for f in (line.split() for line in out.splitlines()[1:])}
    want = {p.name: p.stat().st_size for p in (source / "small").iterdir() if p.is_file()}
    assert {k: v for k, v in sizes.items() if k != "sub"} == want
    subprocess.run(["cp", "-r", str(mounted.path / "small"), str(tmp_path / "copy")], check=True)
    for p in (source / "small").rglob("*"):
        if p.is_file():
            assert (tmp_path / "copy" / p.relative_to(source / "small")).read_bytes() == (
                p.read_bytes()
            )
    calls = calls_at_unmount(mounted)
    assert calls["open"] == SMALL + 1, calls
    assert calls.get("getattr", 0) < 10, calls
