"""Results, ratios and the tables (text or markdown) the benchmark prints."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_common import CLIENTS, UPSTREAMS, Config, MiB, Tree, tree_dirs
from bench_workloads import METRICS


@dataclass
class Result:
    runs: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    requests: list[dict[str, int]] = field(default_factory=list)
    daemon_cpu: list[float] = field(default_factory=list)
    reader_cpu: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)  # daemon VmHWM at the end of each run
    error: str | None = None  # the first failure, if any run failed
    failures: list[str] = field(default_factory=list)  # every failed run, and why

    @property
    def cpu_median(self) -> float | None:
        """Median client CPU seconds per run (FUSE daemon + the reading process).

        CPU time barely moves when other work shares the machine, so it is the
        steadiest number here when wall-clock rates are noisy.
        """
        if not self.reader_cpu:
            return None
        daemon = self.daemon_cpu or [0.0] * len(self.reader_cpu)
        return statistics.median(d + r for d, r in zip(daemon, self.reader_cpu, strict=True))

    @property
    def median(self) -> float | None:
        return statistics.median(self.runs) if self.runs else None


def machine_info(python: str) -> dict[str, Any]:
    """Enough about the box to read the numbers later (they only compare within one run)."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cpp = subprocess.run(
        [python, "-c", "import copyparty.__version__ as v; print(v.S_VERSION)"],
        capture_output=True,
        text=True,
    )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "kernel": os.uname().release,
        "python": sys.version.split()[0],
        "copyparty": cpp.stdout.strip() or None,
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


LABELS = {
    "raw": "raw HTTP",
    "upstream": "upstream",
    "upstream_full": "upstream full",
    "rclone": "rclone",
    "partyfuse": "partyfuse",
    "ceiling": "no-network ceiling",
}
# the metric that gives CPU s/GiB: the whole-file sequential read
SEQ_FOR_CPU = ("seq", "seq_1m")


def _best_upstream(values: dict[str, float | None], lower_is_better: bool = False) -> float | None:
    """The better of upstream's packaged and full versions (issue 9 compares with it)."""
    got = [v for k, v in values.items() if k in UPSTREAMS and v is not None]
    if not got:
        return None
    return min(got) if lower_is_better else max(got)


def report(
    cfg: Config, tree: Tree, results: dict[str, dict[str, Result]], verify: dict[str, str]
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "config": {
            "profile": cfg.profile,
            "small_per_dir": cfg.small_per_dir,
            "random_seconds": cfg.random_seconds,
            "big_mb": cfg.big_mb,
            "small_count": cfg.small_count,
            "small_kb": cfg.small_kb,
            "tree_dirs": tree_dirs(tree),
            "random_reads": cfg.random_reads,
            "direct_mb": cfg.direct_mb,
            "parallel": cfg.parallel,
            "runs": cfg.runs,
            "seed": cfg.seed,
            "server_cpu": cfg.server_cpu,
            "client_cpu": cfg.client_cpu,
            "drop_caches": cfg.drop_caches,
            "clients": cfg.clients,
            "upstream_args": cfg.upstream_args,
            "partyfuse_args": cfg.partyfuse_args,
        },
        "verify": verify,
        "metrics": {},
    }
    for mname, per in results.items():
        m = METRICS[mname]
        entry: dict[str, Any] = {"unit": m.unit, "help": m.help, "clients": {}}
        for cname, r in per.items():
            entry["clients"][cname] = {
                "median": r.median,
                "runs": r.runs,
                "seconds": r.seconds,
                "requests": _median_counts(r.requests),
                "requests_runs": r.requests,
                "cpu_median": r.cpu_median,
                "daemon_cpu": r.daemon_cpu,
                "reader_cpu": r.reader_cpu,
                "peak_rss_kib": max(r.rss_kib) if r.rss_kib else None,
                "error": r.error,
                "failures": r.failures,
            }
        med = {c: r.median for c, r in per.items()}
        entry["partyfuse_over_upstream"] = _ratio(med.get("partyfuse"), _best_upstream(med))
        entry["partyfuse_over_upstream_rounds"] = _rounds(per)
        entry["partyfuse_over_raw"] = _ratio(med.get("partyfuse"), med.get("raw"))
        entry["upstream_over_raw"] = _ratio(med.get("upstream"), med.get("raw"))
        # the most partyfuse/upstream could be on this machine without a network
        entry["ceiling_over_upstream"] = _ratio(med.get("ceiling"), _best_upstream(med))
        entry["partyfuse_over_ceiling"] = _ratio(med.get("partyfuse"), med.get("ceiling"))
        # a random read cannot be fetched ahead: one request each, as raw HTTP makes
        entry["raw_over_upstream"] = _ratio(med.get("raw"), _best_upstream(med))
        cpu = {c: r.cpu_median for c, r in per.items()}
        entry["cpu_partyfuse_over_upstream"] = _ratio(
            cpu.get("partyfuse"), _best_upstream(cpu, lower_is_better=True)
        )
        out["metrics"][mname] = entry
    out["summary"] = _summary(out["metrics"], tree)
    return out


def _rounds(per: dict[str, Result]) -> list[float] | None:
    """partyfuse over the better upstream in each round of runs.  Clients take
    turns within a round, so a slow spell of the machine (minutes long here)
    hits a round's clients alike: how far these spread says how far the
    medians' ratio can be trusted.  None when a run failed (the rounds no
    longer line up) or there is nothing to pair."""
    pf = per.get("partyfuse")
    ups = {c: r for c, r in per.items() if c in UPSTREAMS}
    if pf is None or not ups or len(pf.runs) < 2:
        return None
    if any(r.failures or r.error or len(r.runs) != len(pf.runs) for r in (pf, *ups.values())):
        return None
    rounds = []
    for i, mine in enumerate(pf.runs):
        ratio = _ratio(mine, _best_upstream({c: r.runs[i] for c, r in ups.items()}))
        if ratio is None:
            return None
        rounds.append(ratio)
    return rounds


def _summary(metrics: dict[str, Any], tree: Tree) -> dict[str, Any]:
    """Per client: FUSE daemon CPU seconds per GiB streamed, and its peak RSS."""
    cpu: dict[str, float | None] = {}
    seq = next((metrics[m] for m in SEQ_FOR_CPU if m in metrics), None)
    if seq is not None:
        gib = tree.big_size / (1 << 30)
        for c, e in seq["clients"].items():
            d = e["daemon_cpu"]
            cpu[c] = statistics.median(d) / gib if d else None
    rss: dict[str, float | None] = {}
    for e in metrics.values():
        for c, ce in e["clients"].items():
            kib = ce.get("peak_rss_kib")
            if kib:
                rss[c] = max(rss.get(c) or 0.0, kib / 1024)
    return {
        "cpu_s_per_gib": cpu,
        "peak_rss_mib": rss,
        "cpu_partyfuse_over_upstream": _ratio(
            cpu.get("partyfuse"), _best_upstream(cpu, lower_is_better=True)
        ),
        "rss_partyfuse_over_upstream": _ratio(
            rss.get("partyfuse"), _best_upstream(rss, lower_is_better=True)
        ),
    }


def _per_metric(rep: dict[str, Any], key: str) -> str:
    """``metric 1.23x; ...`` for each metric that has the ratio ``key``."""
    return "; ".join(f"{mname} {e[key]:.2f}x" for mname, e in rep["metrics"].items() if e.get(key))


def _median_counts(runs: list[dict[str, int]]) -> dict[str, int] | None:
    """Per-counter median over the runs (runs differ when fetches race)."""
    if not runs:
        return None
    return {k: int(statistics.median(r[k] for r in runs)) for k in runs[0]}


def _fmt(v: float | None, ratio: bool = False) -> str:
    if v is None:
        return "-"
    if ratio:
        return f"{v:.2f}x"
    return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"


def _render(rows: list[list[str]], left: int, markdown: bool) -> list[str]:
    """Aligned text columns (the first ``left`` left-aligned), or a markdown table."""
    if markdown:
        out = ["| " + " | ".join(rows[0]) + " |"]
        out.append(
            "|" + "|".join(":---" if i < left else "---:" for i in range(len(rows[0]))) + "|"
        )
        out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return out
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for j, r in enumerate(rows):
        out.append(
            "  ".join(
                x.ljust(w) if i < left else x.rjust(w)
                for i, (x, w) in enumerate(zip(r, widths, strict=True))
            )
        )
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def _clients(rep: dict[str, Any]) -> list[str]:
    return [c for c in CLIENTS if c in rep["config"]["clients"]]


def _rate_rows(rep: dict[str, Any]) -> list[list[str]]:
    clients = _clients(rep)
    rows = [
        [
            "metric",
            "unit",
            *(LABELS[c] for c in clients),
            "pf/upstream",
            "pf/raw",
            "requests " + "/".join(c[:2] if c != "upstream_full" else "uf" for c in clients),
        ]
    ]
    for mname, e in rep["metrics"].items():
        c = e["clients"]

        def med(name: str, c: dict[str, Any] = c) -> str:
            if name not in c:
                return "-"
            if c[name]["median"] is None:
                return "FAIL" if c[name]["error"] else "-"
            # "!": some run of this client failed (listed under the table)
            return _fmt(c[name]["median"]) + ("!" if c[name]["error"] else "")

        def reqs(name: str, c: dict[str, Any] = c) -> str:
            r = c.get(name, {}).get("requests")
            return str(r["requests"]) if r else "-"

        rows.append(
            [
                mname,
                e["unit"],
                *(med(n) for n in clients),
                _fmt(e["partyfuse_over_upstream"], True),
                _fmt(e["partyfuse_over_raw"], True),
                "/".join(reqs(n) for n in clients),
            ]
        )
    summ = rep.get("summary")
    if summ:
        # lower is better on both rows; raw HTTP has no daemon
        for key, label, unit, ratio in (
            ("cpu_s_per_gib", "CPU (daemon)", "s/GiB", "cpu_partyfuse_over_upstream"),
            ("peak_rss_mib", "peak RSS", "MiB", "rss_partyfuse_over_upstream"),
        ):
            vals = summ[key]
            if not any(v is not None for v in vals.values()):
                continue
            rows.append(
                [
                    label,
                    unit,
                    *("-" if vals.get(n) is None else f"{vals[n]:.2f}" for n in clients),
                    _fmt(summ[ratio], True),
                    "-",
                    "",
                ]
            )
    return rows


def _cost_rows(rep: dict[str, Any]) -> list[list[str]]:
    """Cost per run: client CPU (steadier than rates on a shared machine) and file
    bytes asked of the server (more than the workload needs = wasted fetches)."""
    clients = _clients(rep)
    rows = [
        [
            "metric",
            "client CPU ms: " + " / ".join(LABELS[c] for c in clients),
            "pf/upstream CPU",
            "MiB fetched " + "/".join(c[:2] if c != "upstream_full" else "uf" for c in clients),
        ]
    ]
    for mname, e in rep["metrics"].items():
        c = e["clients"]

        def ms(name: str, c: dict[str, Any] = c) -> str:
            v = c.get(name, {}).get("cpu_median")
            return "-" if v is None else f"{v * 1000:,.0f}"

        def mib(name: str, c: dict[str, Any] = c) -> str:
            r = c.get(name, {}).get("requests")
            return "-" if not r else f"{r['file_bytes'] / MiB:,.1f}"

        rows.append(
            [
                mname,
                " / ".join(ms(n) for n in clients),
                _fmt(e.get("cpu_partyfuse_over_upstream"), True),
                "/".join(mib(n) for n in clients),
            ]
        )
    return rows


def format_report(full: dict[str, Any], markdown: bool = False) -> str:
    """One table per link profile, in the order they ran."""
    parts = [format_table(rep, markdown) for rep in full["profiles"].values()]
    return "\n\n".join(parts)


def _heading(rep: dict[str, Any]) -> str:
    cfg = rep["config"]
    link = cfg.get("link")
    what = (
        "loopback (no link emulator)"
        if not link
        else (
            f"{cfg['profile']}: {link['rtt_ms']:g} ms round trip, {link['mbit']:g} Mbit/s"
            " (scripts/linkemu.py)"
        )
    )
    server = cfg.get("server")
    return f"{what}; server {server}" if server else what


def format_table(rep: dict[str, Any], markdown: bool = False) -> str:
    lines = [f"### {_heading(rep)}" if markdown else f"== {_heading(rep)} ==", ""]
    lines += _render(_rate_rows(rep), 2, markdown)
    lines.append("")
    lines += _render(_cost_rows(rep), 1, markdown)
    cfg = rep["config"]
    lines.append("")
    direct = any(m.startswith("direct_") for m in rep["metrics"])
    notes = [
        f"median of {cfg['runs']} run(s); big file {cfg['big_mb']} MiB, "
        f"{cfg['small_count']} x {cfg['small_kb']} KiB small files, "
        f"{cfg['tree_dirs']} dirs, {cfg['random_reads']} random reads"
        + (f", O_DIRECT over {cfg['direct_mb']} MiB" if direct else "")
        + f"; server cpu {cfg['server_cpu']}, "
        f"client cpu {cfg['client_cpu']}; drop_caches={cfg['drop_caches']}"
    ]
    mi = cfg.get("machine")
    if mi:
        notes.append(
            f"machine: {mi['cpus']} x {mi['cpu_model']}, Linux {mi['kernel']}, "
            f"Python {mi['python']}, copyparty {mi['copyparty']}"
        )
    if cfg.get("partyfuse_source"):
        notes.append(f"partyfuse: {cfg['partyfuse_source']}")
    lb, la = cfg.get("loadavg_before"), cfg.get("loadavg_after")
    if lb is not None and la is not None:
        # other work on the box skews absolute numbers; ratios suffer less
        notes.append(f"load average (1 min): {lb:.2f} before, {la:.2f} after")
    if rep.get("mount_seconds"):
        notes.append(
            "median time to mount: "
            + ", ".join(f"{k} {v:.2f}s" for k, v in rep["mount_seconds"].items())
        )
    if cfg.get("random_seconds"):
        notes.append(f"random_4k stops after {cfg['random_seconds']:g} s (rate over reads done)")
    rounds = [
        f"{mname} " + " ".join(f"{x:.2f}x" for x in e["partyfuse_over_upstream_rounds"])
        for mname, e in rep["metrics"].items()
        if e.get("partyfuse_over_upstream_rounds")
    ]
    if rounds:
        notes.append(
            "pf/upstream round by round (the better upstream of each): " + "; ".join(rounds)
        )
    ceiling = _per_metric(rep, "ceiling_over_upstream")
    if ceiling:
        notes.append(
            "no-network ceiling (partyfuse's FUSE adapter over the server's folder, "
            "scripts/bench_ceiling.py) over the better upstream, the most pf/upstream "
            "could reach here: " + ceiling
        )
    reached = _per_metric(rep, "partyfuse_over_ceiling")
    if reached:
        notes.append("partyfuse over the no-network ceiling: " + reached)
    if "random_4k" in rep["metrics"] and rep["metrics"]["random_4k"].get("raw_over_upstream"):
        notes.append(
            "raw HTTP over the better upstream in random_4k (one request per read, none "
            "fetched ahead: about the most pf/upstream can reach there): "
            f"{rep['metrics']['random_4k']['raw_over_upstream']:.2f}x"
        )
    emu = rep.get("linkemu")
    if emu:
        notes.append(
            f"link emulator: {emu['cpu_s']:.1f} CPU s for {emu['down_mib']:,.0f} MiB down, "
            f"{emu['up_mib']:,.1f} MiB up (pinned with the server)"
        )
    for why in cfg.get("skipped", []):
        notes.append(why)
    for mname, e in rep["metrics"].items():
        for cname, ce in e["clients"].items():
            fails = ce.get("failures") or ([ce["error"]] if ce["error"] else [])
            if fails:
                runs = len(fails) + len(ce["runs"])
                notes.append(
                    f"FAILED {cname} {mname}, {len(fails)} of {runs} run(s) "
                    f"(not counted): {fails[0]}"
                )
    notes.append("verify: " + ", ".join(f"{k}={v}" for k, v in rep["verify"].items()))
    lines += [f"- {n}" for n in notes] if markdown else notes
    return "\n".join(lines)
