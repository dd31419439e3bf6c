"""The real-server launchers: start on loopback, serve the tree, stop by PID, fail loudly."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from fakes.tree import Tree, patterned
from tests.support.real_servers import KINDS, RealServerFactory, start_real_server

from ._support import fetch

DATA = patterned(70_000, seed=5)


def tree() -> Tree:
    t = Tree()
    t.add_file("blob.bin", DATA, mtime=1600000000)
    t.add_file("sub/x.txt", b"x", mtime=1600000000)
    return t


@pytest.mark.parametrize(("kind", "variant"), [(k, v[0]) for k, v in KINDS.items()])
def test_each_server_serves_the_tree_and_stops_by_pid(kind: str, variant: str) -> None:
    server = start_real_server(kind, tree(), variant=variant)
    try:
        assert server.base_url.startswith("http://127.0.0.1:")
        listing = fetch(server.url("/"))
        assert listing.status == 200 and b"blob.bin" in listing.body
        whole = fetch(server.url("/blob.bin"))
        assert whole.body == DATA
        ranged = fetch(server.url("/blob.bin"), headers={"Range": "bytes=65536-65545"})
        if kind == "python":
            # http.server has no Range support: the whole file, status 200
            assert (ranged.status, ranged.body) == (200, DATA)
        else:
            assert (ranged.status, ranged.body) == (206, DATA[65536:65546])
            assert ranged.headers["content-range"] == "bytes 65536-65545/70000"
    finally:
        server.stop()
    assert server.proc.returncode is not None
    assert not server.workdir.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(server.proc.pid, 0)


def test_a_missing_binary_is_an_error_not_a_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    with pytest.raises(RuntimeError, match="not installed"):
        start_real_server("nginx", tree())


def test_unknown_variants_are_rejected() -> None:
    with pytest.raises(ValueError, match="no variant"):
        start_real_server("apache", tree(), variant="json")


def test_apache_basic_auth(real_server: RealServerFactory) -> None:
    server = real_server("apache", tree(), variant="table", auth=("bob", "s3cret"))
    assert fetch(server.url("/")).status == 401
    ok = fetch(server.url("/sub/x.txt"), headers={"Authorization": "Basic Ym9iOnMzY3JldA=="})
    assert (ok.status, ok.body) == (200, b"x")


def test_servers_start_fast_enough(real_server: RealServerFactory) -> None:
    """Every variant is started once per module; keep each start well under a second."""
    t0 = time.monotonic()
    for kind in ("nginx", "apache", "lighttpd"):
        real_server(kind, tree())
    assert time.monotonic() - t0 < 5
