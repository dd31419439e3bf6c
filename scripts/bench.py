#!/usr/bin/env python3
"""Side-by-side benchmark: partyfuse vs upstream partyfuse.py vs raw HTTP, in one run.

Why one run: absolute numbers depend on the machine, so the useful output is the
*ratio* of partyfuse to the two references measured minutes apart on the same box,
the same server process and the same tree:

- ``raw``: the orchestrator talks HTTP straight to the server (persistent stdlib
  connection, no FUSE) -- the pace of the same requests without FUSE.
- ``upstream``: the partyfuse.py that ships inside the copyparty package
  (single-threaded, ``nothreads=True``).
- ``partyfuse``: ``python -m partyfuse``.
- ``ceiling`` (loopback only): partyfuse's own FUSE adapter over the server's
  folder, no network and no cache core (bench_ceiling.py) -- how fast a Python
  FUSE daemon can be on this machine at best, so what ratio a target may ask.

The server is copyparty, Debian's nginx (``--server nginx``), or each in turn
(``--server copyparty,nginx``), all serving the same generated tree.

Fairness rules: the server is pinned to CPU 0, every client (FUSE daemon *and* the
process issuing the reads) to CPU 1; each measurement gets a fresh mount (so no
daemon-side cache survives) and the page cache is dropped before it (so no kernel
FUSE page survives either; tmpfs-backed source files are not dropped, so the server
side is equally warm for everyone).  Every result is checked against the source
tree; a wrong byte fails the run instead of producing a fast number.

This is a measuring tool, not a test: nothing here asserts a speed.

Here: the run (trees, servers, mounts, profiles, in order).  The rest, by what
it holds: bench_cli.py (options, data sets), bench_common.py (Config, the
tree), bench_servers.py, bench_clients.py (mounts, raw HTTP), bench_procs.py
(stopping, pinning and counting processes; the link emulator's process),
bench_workloads.py and bench_tree_workloads.py (what is measured),
bench_report.py (tables and JSON).
"""

from __future__ import annotations

import dataclasses
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_cli import UNSUPPORTED, parse_args, profile_config
from bench_clients import MountClient, RawClient
from bench_common import BenchError, Config, MiB, Tree, make_tree
from bench_procs import Cleanup, LinkProc, self_cpu
from bench_report import Result, format_report, machine_info, report
from bench_servers import Server, start_server
from bench_workloads import METRICS
from linkemu import LinkSpec, spec_for


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(MiB):
            h.update(chunk)
    return h.hexdigest()


REPO = Path(__file__).resolve().parent.parent
CEILING = Path(__file__).resolve().parent / "bench_ceiling.py"


def partyfuse_source(
    rev: str, work: Path, python: str = sys.executable
) -> tuple[dict[str, str], str]:
    """The environment that makes `python -m partyfuse` run `rev` of this repo.

    The default is a committed revision exported to the work dir, never the
    live working tree: other sessions edit (and mutation-test) that tree while
    a benchmark runs, and a number for code nobody committed means nothing.
    PYTHONPATH wins over the editable install's finder.

    The package is byte-compiled for ``python``, as pip does when it installs
    one: without it every mount compiled every module before mounting where
    PYTHONDONTWRITEBYTECODE is set (as on these machines), and the time to
    mount counted the compiler (~460 ms to mount here without bytecode,
    ~220-280 with).
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
    compiled = subprocess.run(
        [python, "-m", "compileall", "-q", str(src / "partyfuse")], capture_output=True
    )
    if compiled.returncode != 0:
        raise BenchError(f"compileall {src / 'partyfuse'}: {compiled.stdout.decode()[-300:]}")
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


def make_mounts(
    cfg: Config,
    url: str,
    work: Path,
    cleanup: Cleanup,
    pf_env: dict[str, str] | None,
    root: Path,
) -> dict[str, MountClient]:
    """The FUSE clients of one profile, all pointed at ``url`` (the link's front),
    but the no-network ceiling, which mounts the server's folder ``root`` itself."""
    full_args = list(cfg.upstream_full_args)
    if cfg.server == "nginx" and not any(a.startswith("--html") for a in full_args):
        # the full upstream cannot tell nginx's HTML from copyparty's; it must be told
        full_args += ["--html", "nginx"]
    argvs: dict[str, tuple[Callable[[str, str], list[str]], dict[str, str] | None]] = {
        # URL MNT first, flags after: both partyfuse CLIs document it in that order
        "upstream": (lambda u, m: [cfg.python, str(cfg.upstream), u, m, *cfg.upstream_args], None),
        "upstream_full": (
            lambda u, m: [cfg.python, str(cfg.upstream_full), u, m, *full_args],
            None,
        ),
        "rclone": (
            lambda u, m: [
                str(cfg.rclone),
                "mount",
                ":http:",
                m,
                "--http-url",
                u,
                "--config",
                str(work / "rclone.conf"),
                *cfg.rclone_args,
            ],
            None,
        ),
        "partyfuse": (
            lambda u, m: [cfg.python, "-m", "partyfuse", u, m, *cfg.partyfuse_args],
            pf_env,
        ),
        # this checkout's adapter (also with --partyfuse-rev): it has no core to compare
        "ceiling": (lambda u, m: [cfg.python, str(CEILING), str(root), m], None),
    }
    (work / "rclone.conf").touch()
    return {
        name: MountClient(name, argv, url, work, cfg, cleanup, env=env)
        for name, (argv, env) in argvs.items()
        if name in cfg.clients
    }


def run_profile(
    cfg: Config,
    tree: Tree,
    server: Server,
    work: Path,
    cleanup: Cleanup,
    pf_env: dict[str, str] | None,
) -> dict[str, Any]:
    """Every metric for every client through one link profile's emulator."""
    spec = None if cfg.profile == "loopback" else cfg_link(cfg)
    emu = LinkProc(spec, server.port, cfg, work, cleanup) if spec is not None else None
    if emu is not None:
        link = f"{emu.spec.describe()} on {emu.url} (pid {emu.proc.pid})"
        log(f"bench: [{cfg.profile}] linkemu {link}")
    url = emu.url if emu is not None else server.url
    port = emu.port if emu is not None else server.port
    load_before = os.getloadavg()[0]
    try:
        mounts = make_mounts(cfg, url, work, cleanup, pf_env, tree.root)
        raw = RawClient(port, cfg.server)

        verify: dict[str, str] = {}
        if cfg.link_mode:
            # every link metric checks every byte it read (seq: a CRC32 of the file)
            verify = {c: "ok" for c in cfg.clients}
        else:
            # correctness first: a fast wrong answer is no answer
            for name, mc in mounts.items():
                with mc.mounted() as root:
                    got = sha256_file(root / tree.big_rel)
                verify[name] = "ok" if got == tree.big_sha256 else f"sha256 mismatch: {got}"
                log(f"bench: verify {name}: big.bin sha256 {verify[name]}")
            if "raw" in cfg.clients:
                with raw.connected():
                    h = hashlib.sha256()
                    resp = raw.get("/" + tree.big_rel)
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
                    if len(res.failures) >= 2 and not res.runs:
                        continue  # failed twice, never worked: not worth more runs
                    before = server.log_size()
                    daemon_cpu, rss = None, None
                    try:
                        if cname == "raw":
                            with raw.connected():
                                c0 = self_cpu()
                                amount, dt, ev = metric.on_raw(raw, tree, cfg)
                                reader_cpu = self_cpu() - c0
                        else:
                            mc = mounts[cname]
                            with mc.mounted() as root:
                                before = server.log_size()  # mount-time probes are not the workload
                                d0, c0 = mc.cpu(), self_cpu()
                                amount, dt, ev = metric.on_mount(root, tree, cfg)
                                reader_cpu = self_cpu() - c0
                                daemon_cpu = mc.cpu() - d0
                                rss = mc.peak_rss_kib()
                        problem = metric.check(ev, tree, cfg)
                    except (OSError, BenchError, http.client.HTTPException) as e:
                        problem = f"{type(e).__name__}: {e}"
                        log(f"bench: {mname} {cname} run {i + 1}: FAILED {problem}")
                        if cname in mounts:
                            log(f"bench: {cname} log tail: {mounts[cname].last_error()}")
                    else:
                        if problem:
                            log(f"bench: {mname} {cname} run {i + 1}: WRONG DATA {problem}")
                    if problem:
                        # a failed run never counts; the others still do, and the
                        # table marks the metric (one flaky run must not hide the rest)
                        res.failures.append(f"run {i + 1}: {problem}")
                        res.error = res.error or problem
                        verify[cname] = f"{mname}: {problem}"
                        continue
                    res.requests.append(server.requests_since(before))
                    res.reader_cpu.append(reader_cpu)
                    if daemon_cpu is not None:
                        res.daemon_cpu.append(daemon_cpu)
                    if rss is not None:
                        res.rss_kib.append(rss)
                    rate = amount / dt if dt > 0 else float("inf")
                    res.runs.append(rate)
                    res.seconds.append(dt)
                    log(
                        f"bench: [{cfg.server} {cfg.profile}] {mname:12s} {cname:13s} run {i + 1}: "
                        f"{rate:10.1f} {metric.unit} ({dt:.2f}s, "
                        f"{res.requests[-1]['requests']} requests)"
                    )
        rep = report(cfg, tree, results, verify)
        rep["config"]["link"] = None if spec is None else {"rtt_ms": spec.rtt_ms, "mbit": spec.mbit}
        rep["config"]["loadavg_before"] = load_before
        rep["config"]["loadavg_after"] = os.getloadavg()[0]
        # start to mounted: interpreter start-up, imports, the first listing, FUSE init
        rep["mount_seconds"] = {
            name: statistics.median(mc.mount_seconds)
            for name, mc in mounts.items()
            if mc.mount_seconds
        }
        if emu is not None:
            cpu = emu.cpu()
            stats = emu.stop()
            rep["linkemu"] = {
                "pid": emu.proc.pid,
                "cpu_s": cpu,
                "down_mib": stats.get("down_bytes", 0) / MiB,
                "up_mib": stats.get("up_bytes", 0) / MiB,
            }
        return rep
    finally:
        if emu is not None:
            cleanup.stop(emu.proc)


def server_clients(cfg: Config, kind: str) -> tuple[list[str], list[str]]:
    """The clients measured against one server, and every skip reason so far."""
    skipped = list(cfg.skipped)
    clients = []
    for c in cfg.clients:
        why = UNSUPPORTED.get((c, kind))
        if why is None:
            clients.append(c)
        else:
            skipped.append(f"{c} on {kind}: {why}")
    return clients, skipped


def cfg_link(cfg: Config) -> LinkSpec:
    if cfg.profile == "custom":
        assert cfg.custom_link is not None
        return cfg.custom_link
    spec = spec_for(cfg.profile)
    assert spec is not None
    return spec


def run_bench(cfg: Config) -> dict[str, Any]:
    """Build the trees once; per server: start it, measure each link profile, stop it."""
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
        if "partyfuse" in cfg.clients:
            pf_env, pf_source = partyfuse_source(cfg.partyfuse_rev, work, cfg.python)
            log(f"bench: partyfuse from {pf_source}")
            why = partyfuse_runnable(cfg.python, pf_env, work)
            if why is not None:
                if not cfg.partyfuse_optional:
                    raise BenchError(f"python -m partyfuse does not start: {why}")
                log(f"bench: python -m partyfuse does not start ({why}); skipping it")
                cfg.clients.remove("partyfuse")
                cfg.skipped.append(f"partyfuse: does not start ({why})")
        per_profile = {p: profile_config(cfg, p) for p in cfg.links}
        trees: dict[str, Tree] = {}
        built: dict[tuple[int, ...], Tree] = {}
        for p, pc in per_profile.items():
            key = pc.dataset_key()
            if key not in built:
                prefix = f"{p}/" if cfg.link_mode else ""
                log(f"bench: building the {p} tree in {work / 'src' / prefix} ...")
                built[key] = make_tree(work / "src", pc, prefix)
            trees[p] = built[key]
        if cfg.client_cpu is not None:
            # the process issuing the reads is part of the client side
            os.sched_setaffinity(0, {cfg.client_cpu})
        machine = machine_info(cfg.python)
        out: dict[str, Any] = {
            "profiles": {},
            "verify": {},
            "pids": {"server": None, "servers": {}, "linkemu": []},
        }
        for kind in cfg.servers:
            clients, skipped = server_clients(cfg, kind)
            for why in skipped[len(cfg.skipped) :]:
                log(f"bench: {why}")
            server = start_server(kind, cfg, work / "src", work, cleanup)
            log(f"bench: {kind} on {server.url} (pid {server.proc.pid}, cpu {cfg.server_cpu})")
            out["pids"]["servers"][kind] = server.proc.pid
            out["pids"]["server"] = out["pids"]["server"] or server.proc.pid
            try:
                for p, pc in per_profile.items():
                    # the ceiling has no link to go through: loopback tables only
                    here = [c for c in clients if c != "ceiling" or p == "loopback"]
                    sc = dataclasses.replace(pc, server=kind, clients=here)
                    rep = run_profile(sc, trees[p], server, work, cleanup, pf_env)
                    rep["config"]["partyfuse_source"] = pf_source
                    rep["config"]["machine"] = machine
                    rep["config"]["skipped"] = skipped
                    rep["config"]["server"] = kind
                    # one server: the keys of old ("wan"); several: "nginx/wan"
                    table = p if len(cfg.servers) == 1 else f"{kind}/{p}"
                    out["profiles"][table] = rep
                    if rep.get("linkemu"):
                        out["pids"]["linkemu"].append(rep["linkemu"]["pid"])
                    out["verify"].update({f"{table}/{c}": v for c, v in rep["verify"].items()})
            finally:
                cleanup.stop(server.proc)
                server.out.close()
        return out
    finally:
        signal.signal(signal.SIGTERM, old_term)
        cleanup.all()
        if made_work and not cfg.keep:
            shutil.rmtree(work, ignore_errors=True)
        elif cfg.keep:
            log(f"bench: kept {work}")


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
        cfg.skipped.append(f"upstream: not found at {cfg.upstream}")
    if cfg.upstream_full is not None and not cfg.upstream_full.is_file():
        print(f"bench: --upstream-full {cfg.upstream_full}: no such file", file=sys.stderr)
        return 2
    for why in cfg.skipped:
        log(f"bench: {why}")
    try:
        rep = run_bench(cfg)
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted; everything stopped and unmounted", file=sys.stderr)
        return 130
    table = format_report(rep, markdown=a.markdown)
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
