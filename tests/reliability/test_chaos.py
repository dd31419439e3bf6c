"""Chaos through a real mount: copyparty behind the fault proxy, partyfuse
mounted with a small -cf and a short -cds, several readers at once and the
page cache dropped now and then (see chaos.py for what is checked).

The quick run is seeded and in the default suite; the soak runs for
PARTYFUSE_SOAK_SECONDS (default 600) behind the ``soak`` marker
(``tox -e soak``, or scripts/soak.py for the printed figures)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fakes.tree import Tree as ServedTree

from .chaos import Report, Settings, Tree, make_tree, run


@pytest.fixture(scope="module")
def served(copyparty_factory, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tree = make_tree(tmp_path_factory.mktemp("chaos-src") / "tree")
    return copyparty_factory(tree.root), tree


def check(report: Report, settings: Settings, *, min_faults: int, min_kinds: int) -> None:
    print(report.text())
    assert report.wrong == 0, (report.wrong_what[:10], report.evidence[:61])
    assert not report.unexpected, (report.unexpected[:10], report.evidence[:61])
    assert report.readback_ok, report.wrong_what[:10]
    assert not report.stuck, (report.stuck, report.log_tail)
    assert not report.over_bound, report.over_bound[:10]
    injected = sum(report.faults.values())
    assert injected >= min_faults, report.faults
    assert report.on_kept_alive >= injected // 5, "faults should hit kept-alive connections too"
    kinds = {k.split("_")[0] if k.startswith("status") else k for k in report.faults}
    assert len(kinds) >= min_kinds, report.faults
    assert report.reads > 10 * min_faults, "too few reads to mean anything"
    assert set(report.errors) <= {"EIO", "ETIMEDOUT"}, report.errors


def test_quick_chaos_run_reads_exact_bytes_or_errors(served, tmp_path: Path) -> None:
    server, tree = served
    settings = Settings(seed=11, seconds=20.0, call_timeout=3.0, rate=0.12)
    report = run(server.port, tree, tmp_path, settings)
    check(report, settings, min_faults=40, min_kinds=7)


@pytest.fixture(scope="module")
def nginx_served(real_server_module, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tree = make_tree(tmp_path_factory.mktemp("chaos-nginx") / "tree")
    served = ServedTree()
    for rel, data in tree.files.items():
        served.add_file(rel, data)
    return real_server_module("nginx", served), tree


def test_quick_chaos_run_through_nginx(nginx_served, tmp_path: Path) -> None:
    # nginx: HTML listings sent chunked, ETag/Last-Modified validators
    server, tree = nginx_served
    settings = Settings(seed=12, seconds=12.0, call_timeout=3.0, rate=0.15)
    report = run(server.port, tree, tmp_path, settings)
    check(report, settings, min_faults=25, min_kinds=6)


@pytest.mark.soak
def test_soak(served, tmp_path: Path) -> None:
    server, tree = served
    seconds = float(os.environ.get("PARTYFUSE_SOAK_SECONDS", "600"))
    settings = Settings(seed=int(os.environ.get("PARTYFUSE_SOAK_SEED", "5")), seconds=seconds)
    report = run(server.port, tree, tmp_path, settings)
    check(report, settings, min_faults=int(seconds), min_kinds=9)


def test_the_tree_has_many_sizes(tmp_path: Path) -> None:
    tree: Tree = make_tree(tmp_path / "t")
    sizes = {len(d) for d in tree.files.values()}
    assert {0, 1, 4096, 65536, 1 << 20, 3_000_000} <= sizes
    assert len(tree.dirs) > 5
