#!/usr/bin/env python3
"""Soak: a long chaos run through a real mount, with its figures printed.

A real copyparty (or nginx) serves a tree of many sizes through the fault proxy
(fakes/faultproxy.py, seeded); partyfuse is mounted on it with a small -cf
and a short -cds; sequential, random, whole-small-file and ``find`` readers
run at once while the page cache is dropped now and then.  Prints reads,
faults injected by kind, errors surfaced, wrong bytes (must be 0), the
longest blocked call, the daemon's peak RSS and its threads/sockets before
and after; exits 1 if any check failed.  Needs FUSE (root or fusermount).

    python3 scripts/soak.py --seconds 300 --seed 5

(``tox -e soak`` runs the same through pytest, 600 s by default:
PARTYFUSE_SOAK_SECONDS, PARTYFUSE_SOAK_SEED.)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fakes.tree import Tree as ServedTree  # noqa: E402
from tests.reliability.chaos import Settings, Tree, make_tree, run  # noqa: E402
from tests.support.copyparty import launch  # noqa: E402
from tests.support.real_servers import RealServer, start_real_server  # noqa: E402


def nginx(tree: Tree) -> RealServer:
    served = ServedTree()
    for rel, data in tree.files.items():
        served.add_file(rel, data)
    return start_real_server("nginx", served)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=300.0, help="how long faults go on")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--server", choices=("copyparty", "nginx"), default="copyparty")
    ap.add_argument("--rate", type=float, default=Settings.rate, help="share of exchanges faulted")
    ap.add_argument(
        "--call-timeout", type=float, default=Settings.call_timeout, help="the bound on a call"
    )
    ap.add_argument("--cf", type=int, default=Settings.cf, help="partyfuse -cf")
    ap.add_argument("--cds", type=float, default=Settings.cds, help="partyfuse -cds")
    ap.add_argument("--debug", action="store_true", help="partyfuse -d (to hunt a failure)")
    ap.add_argument("--keep", metavar="DIR", help="copy the daemon's log to DIR")
    args = ap.parse_args(argv)
    settings = Settings(
        seed=args.seed,
        seconds=args.seconds,
        call_timeout=args.call_timeout,
        rate=args.rate,
        cf=args.cf,
        cds=args.cds,
        debug=args.debug,
    )
    with tempfile.TemporaryDirectory(prefix="partyfuse-soak-") as tmp:
        work = Path(tmp)
        tree = make_tree(work / "tree")
        server = launch(work / "cpp", tree.root) if args.server == "copyparty" else nginx(tree)
        try:
            report = run(server.port, tree, work / "run", settings)
        finally:
            server.stop()
    print(f"partyfuse soak: {args.server}, seed {args.seed}, rate {args.rate}, call timeout "
          f"{args.call_timeout:g} s, -cf {args.cf} -cds {args.cds:g}")  # fmt: skip
    print(report.text())
    print(f"bound on a blocked call: {settings.bound():.1f} s per FUSE request it makes")
    failures = []
    if report.wrong:
        failures += report.wrong_what[:20]
    if not report.readback_ok:
        failures.append("the tree did not read back exactly")
    if report.stuck:
        failures.append(f"stuck: {report.stuck}")
    if report.over_bound:
        failures.append(f"calls blocked past their bound: {report.over_bound[:10]}")
    failures += [f"unexpected error: {u}" for u in report.unexpected[:20]]
    for f in failures:
        print(f"FAIL: {f}")
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        (Path(args.keep) / "partyfuse.log").write_text(report.log_text)
        (Path(args.keep) / "evidence.txt").write_text("\n".join(report.evidence) + "\n")
    if failures and report.evidence:
        print("the fault proxy's last exchanges before the first failure:")
        print(*report.evidence[:61], sep="\n  ")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
