"""scripts/bench.py against Debian's real nginx: same tree, same byte checks, clean exit.

A smoke run proves the harness (nginx started, listed, read, counted, stopped),
never how fast anything is.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.bench import exited, mounts_under, quick_run, run_bench

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="scripts/bench.py is Linux-only"
)

# enough to cover streaming, ranged reads, listings (walks) and the parallel raw readers
SMOKE_METRICS = "seq_1m,random_4k,small_files,traverse,par_seq,par_small"


def test_quick_nginx_run_checks_every_byte_and_stops_nginx(tmp_path: Path) -> None:
    run = quick_run(
        tmp_path,
        "--server",
        "nginx",
        "--only",
        "partyfuse,raw",
        "--metrics",
        SMOKE_METRICS,
        timeout=180,
    )
    r, work = run.proc, run.workdir
    assert r.returncode == 0, r.stderr[-2000:]
    full = run.report()
    assert list(full["profiles"]) == ["loopback"]  # one server: the keys of old
    rep = full["profiles"]["loopback"]
    assert rep["config"]["server"] == "nginx"
    assert rep["verify"] == {"partyfuse": "ok", "raw": "ok"}
    cfg = rep["config"]
    for name, entry in rep["metrics"].items():
        for client in ("raw", "partyfuse"):
            c = entry["clients"][client]
            assert c["error"] is None and c["median"] > 0, (name, client, c)
            assert c["requests"]["requests"] > 0, (name, client, c)
    # nginx's access log is counted like copyparty's: one GET streams the file,
    # ranged reads ask for exactly their bytes, every folder walked is one listing
    raw = {name: e["clients"]["raw"]["requests"] for name, e in rep["metrics"].items()}
    assert raw["seq_1m"] == {
        "requests": 1,
        "listings": 0,
        "ranged": 0,
        "file_bytes": cfg["big_mb"] << 20,
    }
    assert raw["random_4k"]["ranged"] == cfg["random_reads"]
    assert raw["random_4k"]["file_bytes"] == cfg["random_reads"] * 4096
    assert raw["small_files"]["file_bytes"] == cfg["small_count"] * 4096
    assert raw["small_files"]["listings"] > 0
    assert raw["traverse"]["listings"] == cfg["tree_dirs"]
    assert raw["traverse"]["file_bytes"] == 0
    assert rep["metrics"]["seq_1m"]["clients"]["partyfuse"]["requests"]["file_bytes"] >= (
        cfg["big_mb"] << 20
    )
    # the table says which server it measured; nothing stays mounted or running
    assert "== loopback (no link emulator); server nginx ==" in r.stdout, r.stdout
    assert mounts_under(tmp_path) == []
    pid = full["pids"]["servers"]["nginx"]
    assert exited(pid)
    assert not (work / "nginx" / "nginx.pid").exists()  # nginx removes it when it exits


def test_packaged_upstream_on_nginx_is_refused_in_one_line(tmp_path: Path) -> None:
    r = run_bench("--quick", "--server", "nginx", "--only", "upstream", cwd=tmp_path)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "?ls listings" in r.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("server", ["apache", "nginx,nginx", ""])
def test_unknown_or_repeated_server_is_a_usage_error(server: str, tmp_path: Path) -> None:
    r = run_bench("--quick", "--server", server, cwd=tmp_path)
    assert r.returncode == 2
    assert "--server" in r.stderr and "Traceback" not in r.stderr
