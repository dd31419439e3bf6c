"""``partyfuse --ls URL [-r]`` through the command line (lscmd does the listing)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.copyparty import PASSWORD, CopypartyServer, SourceTree


def ls(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "partyfuse", "--ls", *args],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_ls_root(cpp_dots: CopypartyServer, source_tree: SourceTree) -> None:
    r = ls(cpp_dots.url)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert {row["path"] for row in rows} == set(source_tree.listing(""))


def test_ls_recursive_has_exact_sizes(cpp_dots: CopypartyServer, source_tree: SourceTree) -> None:
    r = ls(cpp_dots.url, "-r")
    assert r.returncode == 0, r.stderr
    rows = {json.loads(line)["path"]: json.loads(line) for line in r.stdout.splitlines()}
    for rel, data in source_tree.files.items():
        assert rows[rel]["size"] == len(data), rel
    assert {p for p, row in rows.items() if row["type"] == "dir"} == source_tree.dirs - {""}


def test_ls_takes_r_before_the_url_too(cpp_dots: CopypartyServer) -> None:
    after, before = ls(cpp_dots.url, "-r"), ls("-r", cpp_dots.url)
    assert after.returncode == before.returncode == 0, after.stderr + before.stderr
    assert before.stdout == after.stdout
    assert any("/" in json.loads(line)["path"] for line in before.stdout.splitlines())


def test_ls_with_password(cpp_password: CopypartyServer, source_tree: SourceTree) -> None:
    r = ls(cpp_password.url, "-a", PASSWORD)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == len(source_tree.listing(""))


def test_ls_wrong_password_is_one_line(cpp_password: CopypartyServer) -> None:
    r = ls(cpp_password.url, "-a", "wrong-pw")
    assert r.returncode != 0
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith("partyfuse: error: ") and "password" in lines[-1]
    assert "wrong-pw" not in r.stderr
