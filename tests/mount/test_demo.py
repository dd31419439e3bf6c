"""The embedded demo, end to end: scripts/demo.sh and python -m partyfuse.demo."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from partyfuse.demo import BINARY, DEMO_TEXT
from tests.support.mounts import teardown
from tests.support.wait import wait_for

REPO = Path(__file__).resolve().parents[2]


def _assert_shown(out: str, mnt: Path) -> None:
    assert "hello.txt  (85 B)" in out
    assert "random-3MiB.bin  (3.0 MiB)" in out
    for rel in DEMO_TEXT:
        assert rel.rsplit("/", 1)[-1] in out, rel
    assert DEMO_TEXT["hello.txt"] in out  # read through the mount
    assert f"{BINARY[0].split('/')[0]}/" in out
    assert "(matches the source)" in out
    assert "unmounted and stopped copyparty" in out
    assert not os.path.ismount(mnt)


def test_demo_once(tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    try:
        r = subprocess.run(
            [sys.executable, "-m", "partyfuse.demo", "--demo-once", "--mnt", str(mnt)],
            capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    finally:
        teardown(mnt, None)
    assert r.returncode == 0, r.stderr
    _assert_shown(r.stdout, mnt)
    assert not mnt.exists()  # the demo removes the mount point it made


def test_demo_script_is_the_quick_start(tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    try:
        r = subprocess.run(
            ["bash", str(REPO / "scripts" / "demo.sh"), "--mnt", str(mnt)],
            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
            env={**os.environ, "DEMO_NONINTERACTIVE": "1", "PYTHON": sys.executable},
        )  # fmt: skip
    finally:
        teardown(mnt, None)
    assert r.returncode == 0, r.stderr
    _assert_shown(r.stdout, mnt)


def test_interactive_demo_waits_and_ctrl_c_cleans_up(tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    out = tmp_path / "out"
    with open(out, "wb") as f:
        proc = subprocess.Popen(
            [sys.executable, "-m", "partyfuse.demo", "--mnt", str(mnt)],
            stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if k != "DEMO_NONINTERACTIVE"},
        )  # fmt: skip
    try:
        wait_for(lambda: b"Press Ctrl-C" in out.read_bytes(), 60, "the demo to wait")
        assert os.path.ismount(mnt)
        assert (mnt / "hello.txt").read_text() == DEMO_TEXT["hello.txt"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        teardown(mnt, None)
    _assert_shown(out.read_text(), mnt)
