"""Running scripts/bench.py from the harness tests, and checking it left nothing behind.

The harness pins with taskset, reads /proc and unmounts with fusermount, so
these helpers (and the tests in tests/bench) are Linux-only.  No test asserts
a speed: they prove the harness runs, checks bytes, counts and cleans up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "scripts" / "bench.py"


def run_bench(
    *args: str, timeout: float = 60.0, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python scripts/bench.py ARGS`` to completion, output captured as text."""
    return subprocess.run(
        [sys.executable, str(BENCH), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


@dataclass
class QuickRun:
    """A finished ``--quick`` run whose JSON report and work dir are under a test's tmp_path."""

    proc: subprocess.CompletedProcess[str]
    workdir: Path
    json_path: Path

    def report(self) -> dict[str, Any]:
        return json.loads(self.json_path.read_text())  # type: ignore[no-any-return]


def quick_run(tmp_path: Path, *args: str, timeout: float = 120.0) -> QuickRun:
    """``bench.py --quick ARGS --json tmp_path/bench.json --workdir tmp_path/work``."""
    out, work = tmp_path / "bench.json", tmp_path / "work"
    proc = run_bench("--quick", *args, "--json", str(out), "--workdir", str(work), timeout=timeout)
    return QuickRun(proc, work, out)


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below ``path`` (from /proc/self/mountinfo)."""
    prefix = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return [ln.split()[4] for ln in f if ln.split()[4].startswith(prefix)]


def exited(pid: int) -> bool:
    """The process is gone, or a zombie waiting for its parent."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True
