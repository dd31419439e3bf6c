#!/usr/bin/env python3
"""Side-by-side benchmark: partyfuse vs upstream partyfuse.py vs raw HTTP, in one run.

Why one run: absolute numbers depend on the machine, so the useful output is the
*ratio* of partyfuse to the two references measured minutes apart on the same box,
the same server process and the same tree:

- ``raw``: the orchestrator talks HTTP straight to copyparty (persistent stdlib
  connection, no FUSE) -- the ceiling a filesystem client can approach.
- ``upstream``: the partyfuse.py that ships inside the copyparty package
  (single-threaded, ``nothreads=True``).
- ``partyfuse``: ``python -m partyfuse``.

Fairness rules: copyparty is pinned to CPU 0, every client (FUSE daemon *and* the
process issuing the reads) to CPU 1; each measurement gets a fresh mount (so no
daemon-side cache survives) and the page cache is dropped before it (so no kernel
FUSE page survives either; tmpfs-backed source files are not dropped, so the server
side is equally warm for everyone).  Every result is checked against the source
tree; a wrong byte fails the run instead of producing a fast number.

This is a measuring tool, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_common import CLIENTS, BenchError, Config, MiB, make_tree
from bench_procs import Cleanup, MountClient, RawClient, Server, self_cpu
from bench_report import Result, format_table, machine_info, report
from bench_workloads import METRICS


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(MiB):
            h.update(chunk)
    return h.hexdigest()


REPO = Path(__file__).resolve().parent.parent


def partyfuse_source(rev: str, work: Path) -> tuple[dict[str, str], str]:
    """The environment that makes `python -m partyfuse` run `rev` of this repo.

    The default is a committed revision exported to the work dir, never the
    live working tree: other sessions edit (and mutation-test) that tree while
    a benchmark runs, and a number for code nobody committed means nothing.
    PYTHONPATH wins over the editable install's finder.
    """
    env = dict(os.environ)
    if rev == "worktree":
        src, label = REPO, f"working tree {REPO}"
    else:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--verify", rev + "^{commit}"],
            capture_output=True,
            text=True,
        )
        if commit.returncode != 0:
            raise BenchError(f"--partyfuse-rev {rev}: not a commit in {REPO}")
        sha = commit.stdout.strip()
        src = work / "partyfuse-src"
        src.mkdir(exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", sha, "partyfuse"],
            capture_output=True,
        )
        if archive.returncode != 0:
            raise BenchError(f"git archive {sha}: {archive.stderr.decode(errors='replace')}")
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
        label = f"commit {sha[:12]} ({rev})"
    env["PYTHONPATH"] = os.pathsep.join([str(src), *filter(None, [env.get("PYTHONPATH")])])
    return env, label


def partyfuse_runnable(python: str, env: dict[str, str], cwd: Path) -> str | None:
    """None if `python -m partyfuse` can be started, else why not."""
    r = subprocess.run(
        [python, "-m", "partyfuse", "--help"], capture_output=True, timeout=60, env=env, cwd=cwd
    )
    if r.returncode == 0:
        return None
    tail = (r.stderr or r.stdout).decode(errors="replace").strip().splitlines()
    return tail[-1] if tail else f"exit status {r.returncode}"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_bench(cfg: Config) -> dict[str, Any]:
    cleanup = Cleanup()
    made_work = cfg.workdir is None
    if cfg.workdir is None:
        shm = Path("/dev/shm")
        base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
        work = Path(tempfile.mkdtemp(prefix="partyfuse-bench-", dir=base))
    else:
        work = cfg.workdir
        work.mkdir(parents=True, exist_ok=True)

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old_term = signal.signal(signal.SIGTERM, on_term)
    try:
        pf_env: dict[str, str] | None = None
        pf_source = None
        load_before = os.getloadavg()[0]
        if "partyfuse" in cfg.clients:
            pf_env, pf_source = partyfuse_source(cfg.partyfuse_rev, work)
            log(f"bench: partyfuse from {pf_source}")
            why = partyfuse_runnable(cfg.python, pf_env, work)
            if why is not None:
                if not cfg.partyfuse_optional:
                    raise BenchError(f"python -m partyfuse does not start: {why}")
                log(f"bench: python -m partyfuse does not start ({why}); skipping it")
                cfg.clients.remove("partyfuse")
        log(f"bench: building tree in {work} ...")
        tree = make_tree(work / "src", cfg)
        server = Server(cfg, tree, work, cleanup)
        log(f"bench: copyparty on {server.url} (pid {server.proc.pid}, cpu {cfg.server_cpu})")
        if cfg.client_cpu is not None:
            # the process issuing the reads is part of the client side
            os.sched_setaffinity(0, {cfg.client_cpu})

        mounts: dict[str, MountClient] = {}
        if "upstream" in cfg.clients:
            mounts["upstream"] = MountClient(
                "upstream",
                [cfg.python, str(cfg.upstream)],
                server.url,
                cfg.upstream_args,
                work,
                cfg,
                cleanup,
            )
        if "partyfuse" in cfg.clients:
            mounts["partyfuse"] = MountClient(
                "partyfuse",
                [cfg.python, "-m", "partyfuse"],
                server.url,
                cfg.partyfuse_args,
                work,
                cfg,
                cleanup,
                env=pf_env,
            )
        raw = RawClient(server.port)

        # correctness first: a fast wrong answer is no answer
        verify: dict[str, str] = {}
        for name, mc in mounts.items():
            with mc.mounted() as root:
                got = sha256_file(root / "big.bin")
            verify[name] = "ok" if got == tree.big_sha256 else f"sha256 mismatch: {got}"
            log(f"bench: verify {name}: big.bin sha256 {verify[name]}")
        if "raw" in cfg.clients:
            with raw.connected():
                h = hashlib.sha256()
                resp = raw.get("/big.bin")
                while chunk := resp.read(MiB):
                    h.update(chunk)
            verify["raw"] = "ok" if h.hexdigest() == tree.big_sha256 else "sha256 mismatch"

        results: dict[str, dict[str, Result]] = {m: {} for m in cfg.metrics}
        for mname in cfg.metrics:
            metric = METRICS[mname]
            for cname in cfg.clients:
                results[mname][cname] = Result()
            # clients take turns within each run, so a load change on the machine
            # hits every column alike instead of one client's three runs
            for i in range(cfg.runs):
                for cname in cfg.clients:
                    res = results[mname][cname]
                    if res.error:
                        continue
                    before = server.log_size()
                    try:
                        if cname == "raw":
                            with raw.connected():
                                c0 = self_cpu()
                                amount, dt, ev = metric.on_raw(raw, tree, cfg)
                                res.reader_cpu.append(self_cpu() - c0)
                        else:
                            mc = mounts[cname]
                            with mc.mounted() as root:
                                before = server.log_size()  # mount-time probes are not the workload
                                d0, c0 = mc.cpu(), self_cpu()
                                amount, dt, ev = metric.on_mount(root, tree, cfg)
                                res.reader_cpu.append(self_cpu() - c0)
                                res.daemon_cpu.append(mc.cpu() - d0)
                    except (OSError, BenchError, http.client.HTTPException) as e:
                        res.error = f"{type(e).__name__}: {e}"
                        verify[cname] = f"{mname}: {res.error}"
                        log(f"bench: {mname} {cname} run {i + 1}: FAILED {res.error}")
                        if cname in mounts:
                            log(f"bench: {cname} log tail: {mounts[cname].last_error()}")
                        continue
                    res.requests.append(server.requests_since(before))
                    problem = metric.check(ev, tree, cfg)
                    if problem:
                        res.error = problem
                        verify[cname] = f"{mname}: {problem}"
                        log(f"bench: {mname} {cname} run {i + 1}: WRONG DATA {problem}")
                        continue
                    rate = amount / dt if dt > 0 else float("inf")
                    res.runs.append(rate)
                    res.seconds.append(dt)
                    log(
                        f"bench: {mname:12s} {cname:10s} run {i + 1}: {rate:10.1f} "
                        f"{metric.unit} ({dt:.2f}s, {res.requests[-1]['requests']} requests)"
                    )
        rep = report(cfg, tree, results, verify)
        rep["config"]["partyfuse_source"] = pf_source
        rep["config"]["loadavg_before"] = load_before
        rep["config"]["loadavg_after"] = os.getloadavg()[0]
        rep["config"]["machine"] = machine_info(cfg.python)
        # start to mounted: interpreter start-up, imports, the first listing, FUSE init
        rep["mount_seconds"] = {
            name: statistics.median(mc.mount_seconds)
            for name, mc in mounts.items()
            if mc.mount_seconds
        }
        return rep
    finally:
        signal.signal(signal.SIGTERM, old_term)
        cleanup.all()
        if made_work and not cfg.keep:
            shutil.rmtree(work, ignore_errors=True)
        elif cfg.keep:
            log(f"bench: kept {work}")


# --------------------------------------------------------------------------- cli


def find_upstream(python: str) -> Path:
    """partyfuse.py as shipped inside the copyparty package that `python` imports."""
    r = subprocess.run(
        [python, "-c", "import copyparty, os; print(os.path.dirname(copyparty.__file__))"],
        capture_output=True,
        text=True,
    )
    return Path(r.stdout.strip() or "copyparty-not-importable") / "web" / "a" / "partyfuse.py"


def parse_args(argv: list[str] | None) -> tuple[Config, argparse.Namespace]:
    ap = argparse.ArgumentParser(
        description="benchmark partyfuse against raw HTTP and upstream partyfuse.py (ratios)"
    )
    ap.add_argument(
        "--quick", action="store_true", help="small sizes, 1 run (a smoke run, not a measurement)"
    )
    ap.add_argument(
        "--only",
        default=None,
        help="comma list of clients: raw,upstream,partyfuse (default: all runnable)",
    )
    ap.add_argument(
        "--metrics", default=None, help="comma list of metrics (default: all): " + ",".join(METRICS)
    )
    ap.add_argument("--big-mb", type=int, default=None, help="big file size (default 256)")
    ap.add_argument("--small-count", type=int, default=None, help="small files (default 2000)")
    ap.add_argument("--small-kb", type=int, default=4, help="small file size (default 4)")
    ap.add_argument("--tree-fanout", type=int, default=None, help="dirs per dir (default 4)")
    ap.add_argument("--tree-depth", type=int, default=None, help="levels (default 5)")
    ap.add_argument("--tree-files", type=int, default=3, help="files per traversal dir")
    ap.add_argument("--random-reads", type=int, default=None, help="default 500")
    ap.add_argument(
        "--direct-mb", type=int, default=None, help="MiB read by the O_DIRECT metrics (default 32)"
    )
    ap.add_argument(
        "--parallel", type=int, default=4, help="readers in the par_* metrics (default 4)"
    )
    ap.add_argument("--runs", type=int, default=None, help="runs per measurement (default 3)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--server-cpu", default="0", help="CPU for copyparty; 'none' = no pinning")
    ap.add_argument("--client-cpu", default="1", help="CPU for clients; 'none' = no pinning")
    ap.add_argument(
        "--upstream",
        type=Path,
        default=None,
        help="path to upstream partyfuse.py (default: the one in the copyparty package)",
    )
    ap.add_argument("--upstream-args", default="-q", help="extra args for upstream")
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

    def pick(v: int | None, full: int, quick: int) -> int:
        return v if v is not None else (quick if q else full)

    def cpu(v: str) -> int | None:
        if v.lower() == "none" or (os.cpu_count() or 1) < 2 or not shutil.which("taskset"):
            return None
        return int(v)

    if a.only:
        clients = [c.strip() for c in a.only.split(",") if c.strip()]
        bad = [c for c in clients if c not in CLIENTS]
        if bad:
            ap.error(f"unknown client(s) {bad}; choose from {', '.join(CLIENTS)}")
    else:
        clients = list(CLIENTS)
    clients = [c for c in CLIENTS if c in clients]  # table order
    metrics = list(METRICS) if not a.metrics else [m.strip() for m in a.metrics.split(",")]
    bad = [m for m in metrics if m not in METRICS]
    if bad:
        ap.error(f"unknown metric(s) {bad}; choose from {', '.join(METRICS)}")

    cfg = Config(
        big_mb=pick(a.big_mb, 256, 8),
        small_count=pick(a.small_count, 2000, 100),
        small_kb=a.small_kb,
        tree_fanout=pick(a.tree_fanout, 4, 3),
        tree_depth=pick(a.tree_depth, 5, 2),
        tree_files=a.tree_files,
        random_reads=pick(a.random_reads, 500, 50),
        direct_mb=pick(a.direct_mb, 32, 2),
        parallel=a.parallel,
        runs=pick(a.runs, 3, 1),
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
    )
    return cfg, a


def main(argv: list[str] | None = None) -> int:
    cfg, a = parse_args(argv)
    if cfg.drop_caches and not os.access("/proc/sys/vm/drop_caches", os.W_OK):
        log("bench: /proc/sys/vm/drop_caches not writable; relying on fresh mounts only")
        cfg.drop_caches = False
    if "upstream" in cfg.clients and not cfg.upstream.is_file():
        if a.only:
            print(f"bench: upstream partyfuse.py not found at {cfg.upstream}", file=sys.stderr)
            return 2
        log(f"bench: upstream partyfuse.py not found at {cfg.upstream}; skipping it")
        cfg.clients.remove("upstream")
    try:
        rep = run_bench(cfg)
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted; everything stopped and unmounted", file=sys.stderr)
        return 130
    table = format_table(rep, markdown=a.markdown)
    if a.json == "-":
        print(table, file=sys.stderr)
        json.dump(rep, sys.stdout, indent=2)
        print()
    else:
        print(table)
        if a.json:
            Path(a.json).write_text(json.dumps(rep, indent=2) + "\n")
    bad = {k: v for k, v in rep["verify"].items() if v != "ok"}
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
