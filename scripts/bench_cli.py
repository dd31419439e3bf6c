"""bench.py's command line: the data sets, the options, and the Config they make.

Kept apart from the run itself (bench.py) because it is mostly a table of
options and sizes, read when choosing what to run, not how it runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench_common import CLIENTS, Config
from bench_servers import SERVERS
from bench_workloads import LINK_METRICS, LOOPBACK_METRICS, METRICS
from linkemu import PROFILE_NAMES, LinkSpec

# Why a client cannot read a server (the client is left out of that server's table).
UNSUPPORTED = {
    ("upstream", "nginx"): "the partyfuse.py in the copyparty package reads only copyparty's "
    "?ls listings and mounts nginx as empty folders (--upstream-full speaks nginx)",
}


def find_upstream(python: str) -> Path:
    """partyfuse.py as shipped inside the copyparty package that `python` imports."""
    r = subprocess.run(
        [python, "-c", "import copyparty, os; print(os.path.dirname(copyparty.__file__))"],
        capture_output=True,
        text=True,
    )
    return Path(r.stdout.strip() or "copyparty-not-importable") / "web" / "a" / "partyfuse.py"


# --quick's set for loopback and link alike: a smoke test, not a measurement
_QUICK: dict[str, Any] = dict(
    big_mb=4,
    small_count=20,
    small_per_dir=10,
    tree_fanout=3,
    tree_depth=2,
    random_reads=10,
    direct_mb=2,
    runs=1,
)


# Data sets: (full, --quick). Without --link, the loopback set and metrics of old.
# With --link: issue 9's link data set (64 MiB file, 400 small files in 8 folders,
# 110 folders, 200 random 4 KiB reads) on lan/wan, and issue 9's loopback set
# (256 MiB, 2,000 small files, ~500 folders); a full wan,lan,loopback run takes
# about a quarter of an hour on a 2-core machine.
DATASETS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "legacy": (
        dict(
            big_mb=256,
            small_count=2000,
            small_per_dir=10,
            tree_fanout=4,
            tree_depth=5,
            random_reads=500,
            direct_mb=32,
            runs=3,
        ),
        dict(
            big_mb=8,
            small_count=100,
            small_per_dir=10,
            tree_fanout=3,
            tree_depth=2,
            random_reads=50,
            direct_mb=2,
            runs=1,
        ),
    ),
    "loopback": (
        dict(
            big_mb=256,
            small_count=2000,
            small_per_dir=10,
            tree_fanout=22,
            tree_depth=2,
            random_reads=500,
            direct_mb=32,
            runs=3,
        ),
        _QUICK,
    ),
    "link": (
        dict(
            big_mb=64,
            small_count=400,
            small_per_dir=50,
            tree_fanout=10,
            tree_depth=2,
            random_reads=200,
            direct_mb=8,
            runs=3,
        ),
        _QUICK,
    ),
}
SIZE_KEYS = ("big_mb", "small_count", "small_per_dir", "tree_fanout", "tree_depth",
             "random_reads", "direct_mb", "runs")  # fmt: skip
# random_4k is cut off after this long on a link (rclone does ~1 read/s on a WAN)
RANDOM_SECONDS = (20.0, 5.0)
# rclone's http backend, tuned for reading: small first chunks and buffer (random
# reads), long-lived listings. Not --http-no-head: without its HEAD per file rclone
# knows no sizes, and find/random reads then return wrong data (the bench caught it).
RCLONE_ARGS = (
    "-q --read-only --dir-cache-time 1h --attr-timeout 1h --vfs-read-chunk-size 1M --buffer-size 4M"
)


def profile_config(cfg: Config, profile: str) -> Config:
    """The config one profile runs with: its data set unless sizes were given."""
    if not cfg.link_mode:
        return dataclasses.replace(cfg, profile=profile)
    kind = "loopback" if profile == "loopback" else "link"
    sizes = DATASETS[kind][1 if cfg.quick else 0]
    given: dict[str, Any] = {k: v for k, v in cfg.overrides.items() if v is not None}
    return dataclasses.replace(cfg, profile=profile, **{**sizes, **given})


def parse_args(argv: list[str] | None) -> tuple[Config, argparse.Namespace]:
    ap = argparse.ArgumentParser(
        description="benchmark partyfuse against raw HTTP, upstream partyfuse.py and rclone "
        "(ratios), on loopback or through an emulated link"
    )
    ap.add_argument(
        "--quick", action="store_true", help="small sizes, 1 run (a smoke run, not a measurement)"
    )
    ap.add_argument(
        "--link",
        default=None,
        help="comma list of link profiles, measured in this order: "
        + ",".join((*PROFILE_NAMES, "custom"))
        + " (lan = 1 ms/1 Gbit/s, wan = 30 ms/100 Mbit/s, custom = --rtt-ms/--mbit); "
        "each gets its own table. Without --link: loopback with the old metric set",
    )
    ap.add_argument("--rtt-ms", type=float, default=None, help="round trip of the custom link")
    ap.add_argument("--mbit", type=float, default=None, help="bandwidth of the custom link")
    ap.add_argument(
        "--server",
        default="copyparty",
        help="comma list of servers, measured in this order: "
        + ",".join(SERVERS)
        + " (nginx = Debian's nginx with its autoindex); one table per server and profile",
    )
    ap.add_argument(
        "--only",
        default=None,
        help="comma list of clients: " + ",".join(CLIENTS) + " (default: all runnable)",
    )
    ap.add_argument(
        "--metrics", default=None, help="comma list of metrics (default: all): " + ",".join(METRICS)
    )
    ap.add_argument("--big-mb", type=int, default=None, help="big file size (default 256)")
    ap.add_argument("--small-count", type=int, default=None, help="small files (default 2000)")
    ap.add_argument("--small-kb", type=int, default=4, help="small file size (default 4)")
    ap.add_argument(
        "--small-per-dir", type=int, default=None, help="small files per folder (default 10)"
    )
    ap.add_argument("--tree-fanout", type=int, default=None, help="dirs per dir (default 4)")
    ap.add_argument("--tree-depth", type=int, default=None, help="levels (default 5)")
    ap.add_argument("--tree-files", type=int, default=3, help="files per traversal dir")
    ap.add_argument("--random-reads", type=int, default=None, help="default 500")
    ap.add_argument(
        "--random-seconds",
        type=float,
        default=None,
        help="stop random_4k after this many seconds (default with --link: 20, --quick 5)",
    )
    ap.add_argument(
        "--direct-mb", type=int, default=None, help="MiB read by the O_DIRECT metrics (default 32)"
    )
    ap.add_argument(
        "--parallel", type=int, default=4, help="readers in the par_* metrics (default 4)"
    )
    ap.add_argument("--runs", type=int, default=None, help="runs per measurement (default 3)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--server-cpu", default="0", help="CPU for the server; 'none' = no pinning")
    ap.add_argument("--client-cpu", default="1", help="CPU for clients; 'none' = no pinning")
    ap.add_argument(
        "--upstream",
        type=Path,
        default=None,
        help="path to upstream partyfuse.py (default: the one in the copyparty package)",
    )
    ap.add_argument("--upstream-args", default="-q", help="extra args for upstream")
    ap.add_argument(
        "--upstream-full",
        type=Path,
        default=None,
        help="path to the full upstream bin/partyfuse.py (a copyparty checkout): "
        "measured too, ratios are to the better of the two upstreams",
    )
    ap.add_argument("--upstream-full-args", default="-q", help="extra args for --upstream-full")
    ap.add_argument(
        "--rclone-args", default=RCLONE_ARGS, help=f"args for rclone mount (default: {RCLONE_ARGS})"
    )
    ap.add_argument("--partyfuse-args", default="-q", help="extra args for python -m partyfuse")
    ap.add_argument(
        "--partyfuse-rev",
        default="HEAD",
        help="git revision of this repo to benchmark, exported to the work dir; "
        "'worktree' = the live working tree",
    )
    ap.add_argument("--python", default=sys.executable, help="interpreter for every client")
    ap.add_argument(
        "--no-drop-caches",
        action="store_true",
        help="do not write /proc/sys/vm/drop_caches (rely on remounts only)",
    )
    ap.add_argument("--workdir", type=Path, default=None, help="default: a temp dir on /dev/shm")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (logs, tree)")
    ap.add_argument(
        "--json",
        metavar="FILE",
        default=None,
        help="write the JSON report to FILE ('-' = stdout, table goes to stderr)",
    )
    ap.add_argument(
        "--markdown", action="store_true", help="print the tables as markdown (for README/notes)"
    )
    a = ap.parse_args(argv)

    q = a.quick
    link_mode = a.link is not None
    links = [p.strip() for p in (a.link or "loopback").split(",") if p.strip()]
    custom = None
    for p in links:
        if p == "custom":
            if a.rtt_ms is None or a.mbit is None or a.rtt_ms < 0 or a.mbit <= 0:
                ap.error("--link custom needs --rtt-ms >= 0 and --mbit > 0")
            custom = LinkSpec(a.rtt_ms, a.mbit)
        elif p not in PROFILE_NAMES:
            ap.error(f"unknown link profile {p!r}; choose from {', '.join(PROFILE_NAMES)}, custom")
    if not links or len(set(links)) != len(links):
        ap.error(f"--link {a.link!r}: give each profile once")

    servers = [s.strip() for s in a.server.split(",") if s.strip()]
    bad_servers = [s for s in servers if s not in SERVERS]
    if bad_servers or not servers or len(set(servers)) != len(servers):
        ap.error(f"--server {a.server!r}: give each of {', '.join(SERVERS)} at most once")

    def cpu(v: str) -> int | None:
        if v.lower() == "none" or (os.cpu_count() or 1) < 2 or not shutil.which("taskset"):
            return None
        if not v.isdigit():
            ap.error(f"CPU {v!r}: give a CPU number or 'none'")
        return int(v)

    rclone = shutil.which("rclone")
    skipped: list[str] = []
    if a.only:
        clients = [c.strip() for c in a.only.split(",") if c.strip()]
        bad = [c for c in clients if c not in CLIENTS]
        if bad:
            ap.error(f"unknown client(s) {bad}; choose from {', '.join(CLIENTS)}")
        if "upstream_full" in clients and a.upstream_full is None:
            ap.error("client upstream_full needs --upstream-full PATH")
        if "rclone" in clients and rclone is None:
            ap.error("rclone: not installed")
        for c in clients:
            if all((c, s) in UNSUPPORTED for s in servers):
                ap.error(f"--only {c} --server {servers[0]}: {UNSUPPORTED[c, servers[0]]}")
        if "ceiling" in clients and "loopback" not in links:
            ap.error("client ceiling: only on the loopback profile (it has no network)")
    else:
        clients = ["raw", "upstream", "partyfuse"]
        if "loopback" in links:
            clients.append("ceiling")
        if a.upstream_full is not None:
            clients.append("upstream_full")
        # rclone joins the link tables by default; the old loopback run stays as it was
        if link_mode:
            if rclone is not None:
                clients.append("rclone")
            else:
                skipped.append("rclone: not installed")
    clients = [c for c in CLIENTS if c in clients]  # table order
    default_metrics = LINK_METRICS if link_mode else LOOPBACK_METRICS
    metrics = list(default_metrics) if not a.metrics else [m.strip() for m in a.metrics.split(",")]
    bad = [m for m in metrics if m not in METRICS]
    if bad:
        ap.error(f"unknown metric(s) {bad}; choose from {', '.join(METRICS)}")

    legacy = DATASETS["legacy"][1 if q else 0]
    overrides = {k: getattr(a, k) for k in SIZE_KEYS}
    sizes: dict[str, Any] = {
        k: overrides[k] if overrides[k] is not None else legacy[k] for k in SIZE_KEYS
    }
    random_seconds = a.random_seconds
    if random_seconds is None and link_mode:
        random_seconds = RANDOM_SECONDS[1 if q else 0]

    cfg = Config(
        small_kb=a.small_kb,
        tree_files=a.tree_files,
        parallel=a.parallel,
        seed=a.seed,
        clients=clients,
        metrics=metrics,
        server_cpu=cpu(a.server_cpu),
        client_cpu=cpu(a.client_cpu),
        upstream=a.upstream or find_upstream(a.python),
        upstream_args=a.upstream_args.split(),
        partyfuse_args=a.partyfuse_args.split(),
        partyfuse_rev=a.partyfuse_rev,
        partyfuse_optional=not a.only,
        python=a.python,
        drop_caches=not a.no_drop_caches,
        workdir=a.workdir,
        keep=a.keep,
        links=links,
        link_mode=link_mode,
        servers=servers,
        random_seconds=random_seconds,
        upstream_full=a.upstream_full,
        upstream_full_args=a.upstream_full_args.split(),
        rclone=rclone,
        rclone_args=a.rclone_args.split(),
        custom_link=custom,
        skipped=skipped,
        quick=q,
        overrides=overrides,
        **sizes,
    )
    return cfg, a
