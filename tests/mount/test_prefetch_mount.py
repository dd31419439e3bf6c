"""Fetch-ahead through a real mount of a real copyparty: `cp -r` of small files and of a
folder tree copies the server's exact bytes, and the mount's debug log shows that files
were fetched and folders listed ahead of the program (counted, not timed)."""

from __future__ import annotations

import filecmp
import random
import subprocess
from pathlib import Path

import pytest

from tests.support.copyparty import CopypartyServer, ServerFactory
from tests.support.mounts import Mount, Mounter

FILES = 100
FANOUT, DEPTH = 3, 3  # 3 + 9 + 27 = 39 folders below the top


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prefetch-src")
    rng = random.Random(9)
    flat = root / "flat"
    flat.mkdir()
    for i in range(FILES):
        (flat / f"photo{i:03d}.jpg").write_bytes(rng.randbytes(rng.randrange(1, 64 << 10)))

    def grow(folder: Path, level: int) -> None:
        folder.mkdir()
        (folder / "notes.txt").write_bytes(rng.randbytes(rng.randrange(1, 4 << 10)))
        if level < DEPTH:
            for k in range(FANOUT):
                grow(folder / f"sub{k}", level + 1)

    grow(root / "tree", 0)
    return root


@pytest.fixture(scope="module")
def server(copyparty_factory: ServerFactory, source: Path) -> CopypartyServer:
    return copyparty_factory(source)


@pytest.fixture
def mounted(mounter: Mounter, server: CopypartyServer) -> Mount:
    # -d: the debug log names every file fetched and folder listed ahead
    return mounter(server.url, "-d")


def copy(src: Path, dest: Path) -> None:
    subprocess.run(["cp", "-r", str(src), str(dest)], check=True, timeout=120)


def assert_same_tree(a: Path, b: Path) -> None:
    cmp = filecmp.dircmp(a, b)
    assert not cmp.left_only and not cmp.right_only and not cmp.funny_files, cmp.report()
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    assert not mismatch and not errors, (mismatch, errors)
    for sub in cmp.common_dirs:
        assert_same_tree(a / sub, b / sub)


@pytest.mark.parametrize(
    ("folder", "log_line", "at_least"),
    [
        pytest.param("flat", "fetch-ahead /flat/", FILES // 2, id="small-files-fetched-ahead"),
        pytest.param("tree", "list ahead /tree/", 10, id="folder-tree-listed-ahead"),
    ],
)
def test_cp_r_is_exact_and_works_ahead(
    mounted: Mount, source: Path, tmp_path: Path, folder: str, log_line: str, at_least: int
) -> None:
    copy(mounted.path / folder, tmp_path / folder)
    assert_same_tree(source / folder, tmp_path / folder)
    ahead = mounted.stderr.count(log_line)
    assert ahead >= at_least, f"only {ahead} times {log_line!r} (want {at_least})"
