"""The benchmark's no-network ceiling (scripts/bench_ceiling.py): partyfuse's FUSE
adapter over the server's own folder, a column of the loopback tables only.
No speed is asserted; what is checked is that it reads the same bytes as the
server serves, never asks the server anything, and is refused where a link is."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="scripts/bench.py is Linux-only"
)

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import bench  # noqa: E402

from tests.support.bench import exited, mounts_under, quick_run, run_bench  # noqa: E402


def test_loopback_run_checks_the_ceilings_bytes_and_names_its_ratio(tmp_path: Path) -> None:
    run = quick_run(tmp_path, "--link", "loopback", "--only", "raw,upstream,partyfuse,ceiling")
    r = run.proc
    assert r.returncode == 0, r.stderr[-3000:]
    full = run.report()
    rep = full["profiles"]["loopback"]
    assert rep["config"]["clients"] == ["raw", "upstream", "partyfuse", "ceiling"]
    assert full["verify"]["loopback/ceiling"] == "ok"
    for name, entry in rep["metrics"].items():
        got = entry["clients"]["ceiling"]
        # every link metric checks every byte it read: a wrong one is an error here
        assert got["error"] is None and got["median"] > 0, (name, got)
        # the ceiling reads the server's folder, not the server
        assert got["requests"]["requests"] == 0, (name, got)
        assert entry["ceiling_over_upstream"] == pytest.approx(
            got["median"] / entry["clients"]["upstream"]["median"]
        )
        assert entry["partyfuse_over_ceiling"] == pytest.approx(
            entry["clients"]["partyfuse"]["median"] / got["median"]
        )
    assert "no-network ceiling" in r.stdout and "most pf/upstream could reach" in r.stdout
    assert "partyfuse over the no-network ceiling: seq " in r.stdout
    rnd = rep["metrics"]["random_4k"]
    bound = rnd["clients"]["raw"]["median"] / rnd["clients"]["upstream"]["median"]
    assert rnd["raw_over_upstream"] == pytest.approx(bound)
    assert "raw HTTP over the better upstream in random_4k (one" in r.stdout
    assert f"about the most pf/upstream can reach there): {bound:.2f}x" in r.stdout
    assert mounts_under(tmp_path) == []
    assert exited(full["pids"]["server"])


def test_the_ceiling_joins_loopback_tables_only() -> None:
    cfg, _ = bench.parse_args(["--link", "wan,loopback"])
    assert "ceiling" in cfg.clients
    cfg, _ = bench.parse_args(["--link", "wan"])
    assert "ceiling" not in cfg.clients
    r = run_bench("--link", "wan", "--only", "raw,ceiling")
    assert r.returncode == 2
    assert "client ceiling: only on the loopback profile" in r.stderr
    assert "Traceback" not in r.stderr
