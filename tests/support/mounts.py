"""Real FUSE mounts: ``python -m partyfuse URL MNT`` in a subprocess, always unmounted.

A pytest plugin (tests/conftest.py lists it in ``pytest_plugins``), so every
test package gets the ``mounter`` fixtures without importing them by name.

Each mount is made by the ``mounter`` factory (per test) or by a module-scoped
fixture shared by read-only tests; both unmount in their finalizer with
``fusermount -u``, then ``-uz``, then kill the process by PID, and assert
the mount point is no longer a mount, whatever the test did.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import partyfuse
from tests.support.factories import stopped_afterwards
from tests.support.wait import wait_for

MOUNT_TIMEOUT = 20.0
#: The partyfuse each subprocess runs is the one this test process imports (the
#: checkout under test), not whatever a `pip install -e` elsewhere last pointed at.
SOURCE_ROOT = str(Path(partyfuse.__file__).resolve().parent.parent)
TEST_ENV = {
    "PYTHONUNBUFFERED": "1",
    "PYTHONPATH": os.pathsep.join(p for p in (SOURCE_ROOT, os.environ.get("PYTHONPATH")) if p),
}


def fusermount() -> str:
    return shutil.which("fusermount3") or shutil.which("fusermount") or "fusermount"


@dataclass
class Mount:
    """A partyfuse process and its mount point."""

    path: Path
    proc: subprocess.Popen[bytes]
    log_dir: Path
    args: list[str] = field(default_factory=list)

    @property
    def stderr(self) -> str:
        return (self.log_dir / "stderr").read_bytes().decode("utf-8", "replace")

    @property
    def stdout(self) -> str:
        return (self.log_dir / "stdout").read_bytes().decode("utf-8", "replace")

    def wait_exit(self, timeout: float = 15.0) -> int:
        return self.proc.wait(timeout=timeout)

    def unmount(self) -> None:
        teardown(self.path, self.proc)


def teardown(path: Path, proc: subprocess.Popen[bytes] | None, pid: int | None = None) -> None:
    """Leave no mount and no process behind, however the test ended."""
    for flags in ("-u", "-uz"):
        if not os.path.ismount(path):
            break
        subprocess.run([fusermount(), flags, str(path)], capture_output=True, timeout=15)
        try:
            wait_for(lambda: not os.path.ismount(path), 5, f"unmount {flags} of {path}")
        except AssertionError:
            pass
    if proc is not None and proc.poll() is None:
        try:
            proc.wait(timeout=5)  # it exits on its own once unmounted
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    if pid is not None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            pass
        else:
            try:
                wait_for(lambda: not _alive(pid), 5, f"pid {pid} to exit")
            except AssertionError:
                os.kill(pid, signal.SIGKILL)
    assert not os.path.ismount(path), f"{path} is still mounted"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie child of ours counts as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def start_partyfuse(
    args: list[str], log_dir: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / "stdout", "wb") as out, open(log_dir / "stderr", "wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "partyfuse", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env={**os.environ, **TEST_ENV, **(env or {})},
            cwd=str(log_dir),
        )


def run_partyfuse(
    args: list[str], timeout: float = 30.0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run to completion (for commands expected to fail or return, like --background)."""
    return subprocess.run(
        [sys.executable, "-m", "partyfuse", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **TEST_ENV, **(env or {})},
    )


def mount(
    url: str,
    mnt: Path,
    *extra: str,
    log_dir: Path,
    env: dict[str, str] | None = None,
) -> Mount:
    mnt.mkdir(parents=True, exist_ok=True)
    args = [url, str(mnt), *extra]
    proc = start_partyfuse(args, log_dir, env)
    m = Mount(mnt, proc, log_dir, args)
    try:
        wait_for(
            lambda: os.path.ismount(mnt) or proc.poll() is not None,
            MOUNT_TIMEOUT,
            f"mount on {mnt}",
        )
        if not os.path.ismount(mnt):
            raise AssertionError(f"partyfuse exited {proc.returncode}:\n{m.stderr}")
    except BaseException:
        teardown(mnt, proc)
        raise
    return m


Mounter = Callable[..., Mount]


@pytest.fixture
def mounter(tmp_path: Path) -> Iterator[Mounter]:
    """mounter(url, *args, env=...) -> a live Mount on a fresh dir, torn down after the test."""
    numbers = itertools.count()

    def make(url: str, *extra: str, env: dict[str, str] | None = None) -> Mount:
        n = next(numbers)
        return mount(url, tmp_path / f"mnt{n}", *extra, log_dir=tmp_path / f"log{n}", env=env)

    yield from stopped_afterwards(make, Mount.unmount)


@pytest.fixture(scope="module")
def module_mounter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mounter]:
    """Like ``mounter`` but the mounts live for the whole module (read-only tests share them)."""

    def make(url: str, *extra: str, env: dict[str, str] | None = None) -> Mount:
        base = tmp_path_factory.mktemp("mount")
        return mount(url, base / "mnt", *extra, log_dir=base / "log", env=env)

    yield from stopped_afterwards(make, Mount.unmount)
