"""Every real listing server, mounted and copied out: ``cp -r`` of the mount equals the source.

This is the user's check from the mount issue ("``cp -r mnt/ copy/`` then ``diff -r``
against the source shows no difference") run against each real server and listing
format we claim, not only copyparty and nginx HTML.
"""

from __future__ import annotations

import filecmp
import os
import subprocess
from pathlib import Path

import pytest

from fakes.tree import awkward_tree
from tests.support.mounts import Mounter
from tests.support.real_servers import RealServerFactory
from tests.support.treecheck import assert_mount_matches, tree_without


def _lighttpd_can_serve(name: str) -> bool:
    # lighttpd answers 400 for request paths with control characters or invalid
    # UTF-8 (its default server.http-parseopts), so such files can be listed but not read
    raw = os.fsencode(name)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(b < 0x20 for b in raw)


# (server, variant, names the server cannot serve, mtime check); the awkward tree
# holds no name Debian's apache2 IndexIgnore hides
# nginx JSON/XML give UTC seconds; the others print server-local minutes (the
# launchers run them at UTC+5:30 on purpose) or no time at all, which partyfuse
# documents as read as UTC, so for those only names, sizes and bytes are compared.
CASES = [
    ("nginx", "xml", None, 0.0),
    ("apache", "table", None, None),
    ("apache", "pre", None, None),
    ("apache", "ul", None, None),
    ("lighttpd", "dirlisting", lambda n: not _lighttpd_can_serve(n), None),
    ("python", "http.server", None, None),
]


@pytest.mark.parametrize(("kind", "variant", "hidden", "mtime_slack"), CASES)
def test_cp_r_out_of_the_mount_equals_the_source(
    kind: str,
    variant: str,
    hidden,  # type: ignore[no-untyped-def]
    mtime_slack: float | None,
    real_server: RealServerFactory,
    mounter: Mounter,
    tmp_path: Path,
) -> None:
    full = awkward_tree()
    shown = tree_without(full, hidden) if hidden else full
    server = real_server(kind, shown, variant=variant)
    m = mounter(server.url("/"), "-q")

    assert_mount_matches(
        m.path, shown, mtime_slack=float("inf") if mtime_slack is None else mtime_slack
    )

    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", f"{m.path}/.", str(copy)], check=True, timeout=120)
    diff = subprocess.run(
        ["diff", "-r", str(server.root), str(copy)], capture_output=True, timeout=120
    )
    assert diff.returncode == 0, diff.stdout.decode(errors="replace")[:2000]
    # diff -r says nothing about files only missing on both sides: cross-check the walk
    cmp = filecmp.dircmp(os.fsencode(server.root), os.fsencode(copy))
    assert not cmp.left_only and not cmp.right_only and not cmp.diff_files
