"""``python -m partyfuse.demo``: see partyfuse work without a server of your own.

It serves a generated folder with a local copyparty (127.0.0.1, a free
port), mounts it with ``python -m partyfuse``, shows what the mount holds and
reads a file through it, then waits for Ctrl-C and cleans up: unmount, stop
copyparty, remove what it created.  ``--demo-once`` (or the environment
variable ``DEMO_NONINTERACTIVE=1``) skips the wait, for scripts and tests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from .platform import force_unmount_command

START_DEADLINE = 30.0

DEMO_TEXT = {
    "hello.txt": (
        "Hello from partyfuse!\nThis file was read through a FUSE mount of a copyparty server.\n"
    ),
    "docs/readme.md": "# Demo\n\nEverything under this mount is read-only and fetched on demand.\n",
    "docs/notes/todo.txt": "- mount a real server\n- try -d to watch every request\n",
    "music/playlist.m3u": "#EXTM3U\nsong one.flac\nsong two.flac\n",
    "names/with space & symbols #1.txt": "awkward names work too\n",
    "names/ünïcödé – 日本語.txt": "so does unicode\n",
}
BINARY = ("data/random-3MiB.bin", 3 * 1024 * 1024 + 12345)


def make_demo_tree(root: Path) -> dict[str, bytes]:
    """Write the demo folder; returns relative path -> content."""
    files = {k: v.encode() for k, v in DEMO_TEXT.items()}
    files[BINARY[0]] = random.Random(42).randbytes(BINARY[1])
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(cond: Callable[[], bool], deadline: float, what: str) -> None:
    while not cond():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _copyparty_up(url: str, token: str) -> bool:
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url + "?ls", timeout=2) as r:
            return str(json.loads(r.read()).get("srvinf", "")).startswith(token)
    except (OSError, ValueError):
        return False


def human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def print_tree(mnt: Path) -> None:
    for top, dirs, files in os.walk(mnt):
        dirs.sort()
        rel = os.path.relpath(top, mnt)
        depth = 0 if rel == "." else rel.count(os.sep) + 1
        if rel != ".":
            print(f"{'  ' * (depth - 1)}{os.path.basename(top)}/")
        for f in sorted(files):
            size = os.stat(os.path.join(top, f)).st_size
            print(f"{'  ' * depth}{f}  ({human(size)})")


class Demo:
    def __init__(self, mnt: Path | None) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="partyfuse-demo-"))
        self.src = self.work / "share"
        self.made_mnt = False
        if mnt is None:
            mnt = Path("demo-mnt")
            if mnt.exists() and (not mnt.is_dir() or any(mnt.iterdir())):
                mnt = self.work / "mnt"
        if not mnt.exists():
            mnt.mkdir(parents=True)
            self.made_mnt = True
        self.mnt = mnt.resolve()
        self.copyparty: subprocess.Popen[bytes] | None = None
        self.partyfuse: subprocess.Popen[bytes] | None = None

    def start(self) -> dict[str, bytes]:
        files = make_demo_tree(self.src)
        port = free_port()
        token = "partyfuse-demo-" + os.urandom(4).hex()
        url = f"http://127.0.0.1:{port}/"
        cpp_log = open(self.work / "copyparty.log", "wb")  # noqa: SIM115 - closed by the child's exit
        # own session: Ctrl-C reaches only us, and we stop things in order
        self.copyparty = subprocess.Popen(
            [sys.executable, "-m", "copyparty", "-i", "127.0.0.1", "-p", str(port), "-q",
             "--http-only", "--no-thumb", "--no-robots", "--name", token,
             "--hist", str(self.work / "hist"), "-v", f"{self.src}::r"],
            stdin=subprocess.DEVNULL, stdout=cpp_log, stderr=subprocess.STDOUT,
            env={**os.environ, "XDG_CONFIG_HOME": str(self.work / "xdg")},
            start_new_session=True,
        )  # fmt: skip
        cpp_log.close()
        deadline = time.monotonic() + START_DEADLINE
        wait_for(
            lambda: _copyparty_up(url, token) or self.copyparty.poll() is not None,  # type: ignore[union-attr]
            deadline,
            "copyparty to start",
        )
        if self.copyparty.poll() is not None:
            raise RuntimeError("copyparty did not start:\n" + self._log("copyparty.log"))
        print(f"copyparty serves {self.src} at {url}")

        pf_log = open(self.work / "partyfuse.log", "wb")  # noqa: SIM115
        self.partyfuse = subprocess.Popen(
            [sys.executable, "-m", "partyfuse", url, str(self.mnt)],
            stdin=subprocess.DEVNULL, stdout=pf_log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        pf_log.close()
        wait_for(
            lambda: os.path.ismount(self.mnt) or self.partyfuse.poll() is not None,  # type: ignore[union-attr]
            deadline,
            "the mount",
        )
        if not os.path.ismount(self.mnt):
            raise RuntimeError("partyfuse did not mount:\n" + self._log("partyfuse.log"))
        print(f"partyfuse mounted it on {self.mnt}\n")
        return files

    def _log(self, name: str) -> str:
        try:
            return (self.work / name).read_text(errors="replace")[-4000:]
        except OSError:
            return "(no log)"

    def show(self, files: dict[str, bytes]) -> None:
        print(f"$ tree {self.mnt}")
        print_tree(self.mnt)
        print(f"\n$ cat {self.mnt / 'hello.txt'}")
        print((self.mnt / "hello.txt").read_text(), end="")
        rel = BINARY[0]
        got = hashlib.sha256((self.mnt / rel).read_bytes()).hexdigest()
        same = got == hashlib.sha256(files[rel]).hexdigest()
        verdict = "matches the source" if same else "DIFFERS from the source"
        print(f"\n$ sha256sum {rel}\n{got}  ({verdict})")
        if not same:
            raise RuntimeError(f"{rel} read through the mount differs from the source")

    def stop(self) -> None:
        if self.partyfuse is not None and self.partyfuse.poll() is None:
            self.partyfuse.send_signal(signal.SIGTERM)  # partyfuse unmounts on SIGTERM
            try:
                self.partyfuse.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.partyfuse.kill()
                self.partyfuse.wait()
        if os.path.ismount(self.mnt):
            cmds = [force_unmount_command(str(self.mnt))]
            if sys.platform.startswith("linux"):
                cmds.append(["umount", "-l", str(self.mnt)])  # as root, without fusermount
            for cmd in cmds:
                if cmd and shutil.which(cmd[0]) and os.path.ismount(self.mnt):
                    subprocess.run(cmd, capture_output=True)
        if self.copyparty is not None and self.copyparty.poll() is None:
            self.copyparty.terminate()
            try:
                self.copyparty.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.copyparty.kill()
                self.copyparty.wait()
        if not os.path.ismount(self.mnt):
            if self.made_mnt:
                try:
                    self.mnt.rmdir()
                except OSError:
                    pass
            shutil.rmtree(self.work, ignore_errors=True)
        if os.path.ismount(self.mnt):
            fix = shlex.join(force_unmount_command(str(self.mnt)))
            print(f"could not unmount {self.mnt}; try: {fix}")
        else:
            print("unmounted and stopped copyparty")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m partyfuse.demo", description=(__doc__ or "").split("\n")[0]
    )
    ap.add_argument("--demo-once", action="store_true", help="show, then clean up and exit")
    ap.add_argument("--mnt", type=Path, help="where to mount (default ./demo-mnt or a temp dir)")
    args = ap.parse_args(argv)
    once = args.demo_once or os.environ.get("DEMO_NONINTERACTIVE", "") not in ("", "0")

    from .fusebind import FuseUnavailable, load

    try:
        load()
    except FuseUnavailable as ex:
        print(f"partyfuse demo: {ex}", file=sys.stderr)
        return 1
    demo = Demo(args.mnt)
    # SIGTERM ends the wait like Ctrl-C does
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        files = demo.start()
        demo.show(files)
        if not once:
            print(f"\nThe mount stays up: browse {demo.mnt} in another terminal.")
            print("Press Ctrl-C to unmount and stop the demo server.", flush=True)
            while True:
                signal.pause() if hasattr(signal, "pause") else time.sleep(3600)
        return 0
    except KeyboardInterrupt:
        print()
        return 0
    except RuntimeError as ex:
        print(f"partyfuse demo: {ex}", file=sys.stderr)
        return 1
    finally:
        demo.stop()


if __name__ == "__main__":
    sys.exit(main())
