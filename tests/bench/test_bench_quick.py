"""The benchmark harness runs end to end and cleans up after itself.

These prove the harness works (parses, verifies data, counts requests, unmounts),
never how fast anything is: performance is reported by scripts/bench.py, not asserted.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.bench import BENCH, exited, mounts_under, quick_run
from tests.support.wait import wait_for

# The harness pins with taskset, reads /proc and unmounts with fusermount: Linux only.
pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="scripts/bench.py is Linux-only"
)

METRICS = {
    "seq_1m",
    "seq_128k",
    "small_files",
    "traverse",
    "random_4k",
    "seq_4k",
    "seq_64k",
    "direct_4k",
    "direct_64k",
    "par_seq",
    "par_small",
}


def test_quick_run_reports_every_metric_for_raw_and_upstream(tmp_path: Path) -> None:
    run = quick_run(tmp_path, "--only", "upstream,raw")
    r = run.proc
    assert r.returncode == 0, r.stderr[-2000:]
    full = run.report()
    assert list(full["profiles"]) == ["loopback"]  # no --link: the loopback run of old
    rep = full["profiles"]["loopback"]
    assert rep["verify"] == {"upstream": "ok", "raw": "ok"}
    assert rep["config"]["link"] is None and "linkemu" not in rep
    assert set(rep["metrics"]) == METRICS
    for name, entry in rep["metrics"].items():
        for client in ("raw", "upstream"):
            c = entry["clients"][client]
            assert c["error"] is None, (name, client, c)
            assert c["median"] > 0, (name, client, c)
            assert c["requests"]["requests"] > 0, (name, client, c)
        assert entry["upstream_over_raw"] > 0
        assert entry["partyfuse_over_raw"] is None  # partyfuse was not asked for
    # request counting is real: streaming the file is exactly one GET for raw
    assert rep["metrics"]["seq_1m"]["clients"]["raw"]["requests"]["requests"] == 1
    assert rep["metrics"]["random_4k"]["clients"]["raw"]["requests"]["requests"] == 50
    # ... and so is byte counting: raw asks for exactly what the workload reads
    raw = {name: e["clients"]["raw"]["requests"] for name, e in rep["metrics"].items()}
    assert raw["seq_1m"]["file_bytes"] == rep["config"]["big_mb"] << 20
    assert raw["random_4k"]["file_bytes"] == 50 * 4096
    assert raw["small_files"]["file_bytes"] == rep["config"]["small_count"] * 4096
    assert raw["direct_4k"]["file_bytes"] == rep["config"]["direct_mb"] << 20
    # upstream reads every byte of the big file at least once
    assert rep["metrics"]["seq_1m"]["clients"]["upstream"]["requests"]["file_bytes"] >= 8 << 20
    assert rep["mount_seconds"]["upstream"] > 0
    # the table names every metric, and nothing stays mounted
    for name in METRICS:
        assert re.search(rf"^{name}\s", r.stdout, re.M), r.stdout
    assert mounts_under(tmp_path) == []


def test_sigterm_mid_run_unmounts_and_stops_the_server(tmp_path: Path) -> None:
    work = tmp_path / "work"
    args = ["--quick", "--only", "upstream", "--runs", "50", "--metrics", "small_files"]
    proc = subprocess.Popen(
        [sys.executable, str(BENCH), *args, "--workdir", str(work)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        server_pid = None
        deadline = time.monotonic() + 60
        assert proc.stderr is not None
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            m = re.search(r"\(pid (\d+),", line)
            if m:
                server_pid = int(m.group(1))
            if re.search(r"small_files +upstream +run 1", line):
                break
        assert server_pid is not None
        wait_for(lambda: mounts_under(work), 30, "the upstream mount")
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == 130
    assert mounts_under(tmp_path) == []
    assert exited(server_pid)
