"""CI's macOS and Windows jobs select only tests that need nothing Linux-only.

No such job can run here, so each one's selection (the exact pytest arguments
ci.yml gives it) is collected in a subprocess with what only Linux offers
taken away (see tests/ci/portability_probe.py): collection must succeed, and no
selected test may be marked linux_only, use a Debian server fixture, or touch
/proc, fusermount or raw-byte file names.  The last two tests show the probe
can fail.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
TOX_RUN = 'python -m tox -e "$TOXENV" --'
PROBE_PLATFORM = {"macOS": "darwin", "Windows": "win32"}


def job_selections() -> dict[str, list[str]]:
    """runner.os -> the pytest arguments of that OS's test step in ci.yml."""
    text = WORKFLOW.read_text()
    steps = re.split(r"^      - (?=name:|uses:)", text, flags=re.M)
    found: dict[str, list[str]] = {}
    for step in steps:
        os_name = re.search(r"^\s+if: runner\.os == '(\w+)'", step, re.M)
        run = re.search(r"^        run: >-\n((?:          .*\n?)+)", step, re.M)
        if not (os_name and run):
            continue
        command = " ".join(line.strip() for line in run.group(1).splitlines())
        if command.startswith(TOX_RUN):
            found[os_name.group(1)] = shlex.split(command[len(TOX_RUN) :])
    return found


def probe(args: list[str], platform: str, tmp_path: Path) -> tuple[int, str, dict]:
    """Collect ``args`` as the job would, without Linux's extras; (status, output, report)."""
    report = tmp_path / f"probe-{platform}.json"
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        PARTYFUSE_PROBE_PLATFORM=platform,
        PARTYFUSE_PROBE_REPORT=str(report),
        # only the interpreter's own directory: no nginx, apache2, lighttpd, fusermount
        PATH=os.path.dirname(sys.executable),
    )
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-p", "tests.ci.portability_probe",
         "-p", "no:cacheprovider", "-p", "no:randomly", *args],
        cwd=tmp_path if args and Path(args[0]).is_absolute() else ROOT,
        capture_output=True, text=True, timeout=240, env=env, check=False,
    )  # fmt: skip
    data = json.loads(report.read_text()) if report.exists() else {}
    return res.returncode, res.stdout + res.stderr, data


def test_the_workflow_has_a_macos_and_a_windows_selection() -> None:
    sel = job_selections()
    assert set(sel) == {"macOS", "Windows"}, sel
    for args in sel.values():
        assert "not linux_only" in args and args[args.index("not linux_only") - 1] == "-m"


@pytest.mark.parametrize("runner_os", ["macOS", "Windows"])
def test_the_job_selection_needs_nothing_linux_only(runner_os: str, tmp_path: Path) -> None:
    args = job_selections()[runner_os]
    status, output, report = probe(args, PROBE_PLATFORM[runner_os], tmp_path)
    assert status == 0, output[-4000:]
    assert len(report["items"]) > 300, "the selection lost most of its tests"
    needs = {nodeid: why for nodeid, why in report["items"].items() if why}
    assert needs == {}
    assert report["started"] == []  # collecting started no process
    # the core's state machines and a real mount are part of it
    assert any(n.startswith("tests/core/") for n in report["items"])
    assert any(n.startswith("tests/ci/test_mount_smoke.py::") for n in report["items"])


def test_the_probe_finds_what_needs_linux_without_the_marker_filter(tmp_path: Path) -> None:
    status, output, report = probe(
        ["tests/listings/test_lighttpd_roundtrip.py", "tests/ci/test_mount_smoke.py"],
        "darwin",
        tmp_path,
    )
    assert status == 0, output[-4000:]
    needs = {nodeid.split("::")[0] for nodeid, why in report["items"].items() if why}
    assert needs == {"tests/listings/test_lighttpd_roundtrip.py", "tests/ci/test_mount_smoke.py"}


def test_the_probe_fails_a_module_that_decodes_raw_bytes_at_import(tmp_path: Path) -> None:
    """What tests/support/copyparty.py once did: os.fsdecode(b"...\\xe9...") at import."""
    module = tmp_path / "test_raw_name_at_import.py"
    module.write_text(
        'import os\nNAME = os.fsdecode(b"caf\\xe9")\n\n\ndef test_nothing():\n    pass\n'
    )
    status, output, _ = probe([str(module)], "win32", tmp_path)
    assert status != 0
    assert "UnicodeDecodeError" in output
    status, output, _ = probe([str(module)], "darwin", tmp_path)
    assert status == 0, output[-4000:]
