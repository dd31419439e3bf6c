"""scripts/bench.py --link: every client through the link emulator, bytes checked,
everything stopped and unmounted afterwards. No speed is asserted."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="scripts/bench.py is Linux-only"
)

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import bench  # noqa: E402
from bench_common import Tree  # noqa: E402
from bench_report import Result, format_table, report  # noqa: E402

from tests.support.bench import exited, mounts_under, quick_run, run_bench  # noqa: E402

LINK_METRICS = ["seq", "random_4k", "cp_r", "find"]


def test_quick_wan_run_checks_every_byte_through_the_emulator_and_cleans_up(
    tmp_path: Path,
) -> None:
    run = quick_run(tmp_path, "--link", "wan")
    r = run.proc
    assert r.returncode in (0, 1), r.stderr[-3000:]
    full = run.report()
    assert list(full["profiles"]) == ["wan"]
    rep = full["profiles"]["wan"]
    clients = ["raw", "upstream", "partyfuse"]
    if shutil.which("rclone"):
        clients.insert(2, "rclone")
    else:
        assert "rclone: not installed" in rep["config"]["skipped"]
        assert "rclone: not installed" in r.stdout
    assert rep["config"]["clients"] == clients
    assert set(full["verify"]) == {f"wan/{c}": "ok" for c in clients}.keys()
    # ours and the reference must be right; a third-party client's wrong run (upstream's
    # cp -r has seen "file replaced while being copied" under load) is reported, and
    # only then is the exit status 1
    assert full["verify"]["wan/partyfuse"] == "ok" and full["verify"]["wan/raw"] == "ok"
    assert (r.returncode == 0) == all(v == "ok" for v in full["verify"].values())
    assert rep["config"]["link"] == {"rtt_ms": 30.0, "mbit": 100.0}
    assert list(rep["metrics"]) == LINK_METRICS
    for name, entry in rep["metrics"].items():
        for c in clients:
            got = entry["clients"][c]
            if got["error"] is not None:
                assert c not in ("raw", "partyfuse") and f"FAILED {c} {name}" in r.stdout
                continue
            assert got["median"] > 0, (name, c, got)
            assert got["requests"]["requests"] > 0, (name, c, got)
    # the clients really went through the emulator: it carried every seq stream
    big = rep["config"]["big_mb"] << 20
    assert rep["linkemu"]["down_mib"] * (1 << 20) >= len(clients) * big
    for c in ("upstream", "partyfuse"):  # FUSE daemons: CPU per GiB and peak RSS reported
        assert rep["summary"]["cpu_s_per_gib"][c] is not None
        assert rep["summary"]["peak_rss_mib"][c] > 0
    assert re.search(r"^== wan: 30 ms round trip, 100 Mbit/s", r.stdout, re.M)
    for name in LINK_METRICS:
        assert re.search(rf"^{name}\s", r.stdout, re.M), r.stdout
    # nothing left behind: no mount, no server, no emulator
    assert mounts_under(tmp_path) == []
    assert exited(full["pids"]["server"])
    assert full["pids"]["linkemu"] and all(exited(p) for p in full["pids"]["linkemu"])


def test_several_profiles_in_one_invocation_each_with_its_data_set() -> None:
    cfg, _ = bench.parse_args(["--link", "wan,lan,loopback"])
    assert cfg.links == ["wan", "lan", "loopback"]
    assert cfg.metrics == LINK_METRICS
    wan, lan, loop = (bench.profile_config(cfg, p) for p in cfg.links)
    # issue 9's link data set: 64 MiB, 400 small files in 8 folders, 110 folders, 200 reads
    assert (wan.big_mb, wan.small_count, wan.small_count // wan.small_per_dir) == (64, 400, 8)
    assert wan.tree_fanout + wan.tree_fanout**2 == 110 and wan.random_reads == 200
    assert wan.dataset_key() == lan.dataset_key()  # one tree on the server serves both
    assert (loop.big_mb, loop.small_count) == (256, 2000)
    assert loop.dataset_key() != wan.dataset_key()
    # explicit sizes win over every profile's default
    cfg, _ = bench.parse_args(["--link", "wan,loopback", "--big-mb", "3"])
    assert {bench.profile_config(cfg, p).big_mb for p in cfg.links} == {3}


def test_without_rclone_the_link_run_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    real = shutil.which
    monkeypatch.setattr(
        bench.shutil, "which", lambda name: None if name == "rclone" else real(name)
    )
    cfg, _ = bench.parse_args(["--link", "wan"])
    assert "rclone" not in cfg.clients
    assert cfg.skipped == ["rclone: not installed"]
    with pytest.raises(SystemExit):
        bench.parse_args(["--link", "wan", "--only", "rclone"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--link", "moon"], "unknown link profile 'moon'"),
        (["--link", "wan,wan"], "give each profile once"),
        (["--link", "custom"], "--link custom needs --rtt-ms"),
        (["--only", "upstream_full"], "needs --upstream-full PATH"),
    ],
)
def test_bad_link_arguments_get_one_clear_line(args: list[str], message: str) -> None:
    r = run_bench(*args)
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr


def test_ratios_are_to_the_better_upstream(tmp_path: Path) -> None:
    cfg, _ = bench.parse_args(["--link", "wan", "--metrics", "cp_r"])
    cfg.clients = ["upstream", "upstream_full", "partyfuse"]
    tree = Tree(tmp_path, tmp_path / "b", "", 1 << 30, 0, "b", "s", "d", "", 1, [], [])

    def res(rate: float, cpu: float) -> Result:
        return Result(runs=[rate], daemon_cpu=[cpu], reader_cpu=[0.0], rss_kib=[1024])

    results = {
        "cp_r": {
            "upstream": res(10.0, 2.0),
            "upstream_full": res(40.0, 4.0),
            "partyfuse": res(80.0, 1.0),
        }
    }
    rep = report(cfg, tree, results, {})
    # files/s: higher is better, so the full upstream's 40 is the reference
    assert rep["metrics"]["cp_r"]["partyfuse_over_upstream"] == 2.0
    # CPU: lower is better, so the packaged upstream's 2.0 s is the reference
    assert rep["metrics"]["cp_r"]["cpu_partyfuse_over_upstream"] == 0.5


def test_a_failed_run_is_not_counted_and_is_named_under_the_table(tmp_path: Path) -> None:
    cfg, _ = bench.parse_args(["--link", "wan", "--metrics", "cp_r"])
    cfg.clients = ["upstream", "partyfuse"]
    tree = Tree(tmp_path, tmp_path / "b", "", 1 << 30, 0, "b", "s", "d", "", 1, [], [])
    flaky = Result(runs=[20.0, 30.0], reader_cpu=[0.0, 0.0], error="cp -r failed: replaced")
    flaky.failures = ["run 3: cp -r failed: replaced"]
    results = {"cp_r": {"upstream": flaky, "partyfuse": Result(runs=[50.0], reader_cpu=[0.0])}}
    rep = report(cfg, tree, results, {"upstream": "cp_r: cp -r failed", "partyfuse": "ok"})
    rep["config"].update(skipped=[], link={"rtt_ms": 30.0, "mbit": 100.0})
    assert rep["metrics"]["cp_r"]["partyfuse_over_upstream"] == 2.0  # over the good runs
    table = format_table(rep)
    assert re.search(r"^cp_r\s+files/s\s+25\.0!\s+50\.0\s+2\.00x", table, re.M), table
    assert "FAILED upstream cp_r, 1 of 3 run(s) (not counted): run 3: cp -r failed" in table


def test_each_round_is_also_compared_on_its_own(tmp_path: Path) -> None:
    """Clients take turns within each round, so the machine's slow spells hit a
    round's clients alike: the round-by-round ratios show how far the medians'
    ratio can be trusted.  Rounds with a failed run are not paired."""
    cfg, _ = bench.parse_args(["--link", "wan", "--metrics", "seq,cp_r", "--runs", "3"])
    cfg.clients = ["upstream", "upstream_full", "partyfuse"]
    tree = Tree(tmp_path, tmp_path / "b", "", 1 << 30, 0, "b", "s", "d", "", 1, [], [])

    def res(*rates: float) -> Result:
        return Result(runs=list(rates), reader_cpu=[0.0] * len(rates))

    flaky = res(10.0, 10.0)
    flaky.failures = ["run 2: cp -r failed"]
    results = {
        "seq": {
            "upstream": res(10.0, 40.0, 20.0),
            "upstream_full": res(20.0, 10.0, 20.0),
            "partyfuse": res(30.0, 20.0, 10.0),
        },
        "cp_r": {
            "upstream": flaky,
            "upstream_full": res(1.0, 1.0, 1.0),
            "partyfuse": res(2.0, 2.0, 2.0),
        },
    }
    rep = report(cfg, tree, results, {})
    # each round against the better upstream of that round: 30/20, 20/40, 10/20
    assert rep["metrics"]["seq"]["partyfuse_over_upstream_rounds"] == [1.5, 0.5, 0.5]
    assert rep["metrics"]["cp_r"]["partyfuse_over_upstream_rounds"] is None
    rep["config"].update(skipped=[], link={"rtt_ms": 30.0, "mbit": 100.0})
    table = format_table(rep, markdown=True)
    line = "- pf/upstream round by round (the better upstream of each): seq 1.50x 0.50x 0.50x"
    assert line in table
    assert "cp_r 2" not in table


def test_the_benchmarked_commit_comes_with_its_bytecode(tmp_path: Path) -> None:
    """pip compiles a package's bytecode when it installs it; the exported
    commit must have it too, or every mount compiles every module first and
    the time to mount measures the compiler (where PYTHONDONTWRITEBYTECODE is
    set, on every mount; elsewhere on the first)."""
    env, label = bench.partyfuse_source("HEAD", tmp_path)
    src = Path(env["PYTHONPATH"].split(":")[0]) / "partyfuse"
    modules = sorted(p.relative_to(src) for p in src.rglob("*.py"))
    assert modules and label.startswith("commit ")
    tag = sys.implementation.cache_tag
    missing = [
        m for m in modules if not (src / m.parent / "__pycache__" / f"{m.stem}.{tag}.pyc").is_file()
    ]
    assert missing == []
