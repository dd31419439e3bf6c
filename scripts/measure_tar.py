#!/usr/bin/env python3
"""Does copyparty's folder download (``?tar``) beat N parallel GETs for small files?

Raw HTTP, no FUSE: a client that already holds the folder listing fetches every file
of a folder of 50 small files, through scripts/linkemu.py (wan, lan) or straight
(loopback). Methods:

- ``tar``: GET ``/folder/?tar`` (the whole folder, recursive, one stream); copyparty
  closes the connection after an archive (``keepalive = False`` in ``tx_zip``), so a
  pool loses that connection and its next request pays a new handshake: ``tar cold``
  times that handshake too;
- ``tar-sel``: POST ``/folder/?tar`` with ``act=zip`` and ``files=`` (newline-separated
  names): only the chosen files, at the archive root, no subfolders -- what a
  prefetcher that wants "the next N files of this folder" would send;
- ``get xN``: N keep-alive connections, already connected (a warm pool), share the
  files; N = 1 is what upstream does.

Every byte is checked against the source, and each archive entry's size and mtime
are compared with the folder's ``?ls`` listing (``sz``, ``ts``) and the file's stat.
Prints one table of files/s per profile (median of --runs).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import io
import json
import os
import queue
import random
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import in_threads  # noqa: E402
from bench_procs import Cleanup, LinkProc, proc_cpu  # noqa: E402
from bench_servers import CopypartyServer  # noqa: E402
from linkemu import PROFILE_NAMES, spec_for  # noqa: E402

KiB = 1 << 10


def make_folders(root: Path, count: int, sizes_kib: list[int], seed: int) -> dict[str, dict]:
    """One folder per size, ``count`` files each, plus a subfolder that a one-level
    fetch must not pull in (``?tar`` does: it is recursive)."""
    rng = random.Random(seed)
    out: dict[str, dict[str, bytes]] = {}
    for kib in sizes_kib:
        name = f"f{kib}k"
        d = root / name
        (d / "sub").mkdir(parents=True)
        files = {}
        for i in range(count):
            data = rng.randbytes(kib * KiB)
            (d / f"img{i:04d}.jpg").write_bytes(data)
            files[f"img{i:04d}.jpg"] = data
        (d / "sub" / "nested.bin").write_bytes(rng.randbytes(kib * KiB))
        out[name] = files
    return out


def conn(port: int, warm: bool = True) -> http.client.HTTPConnection:
    """A connection; ``warm``: one request already answered on it, so the emulated
    handshake (its first byte reaches the server 1.5 round trips after the local
    connect) is over before the measurement starts, as in a client's pool."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.connect()
    if warm:
        c.request("GET", "/?ls")
        c.getresponse().read()
    return c


def listing(port: int, folder: str) -> dict[str, dict[str, Any]]:
    c = conn(port)
    try:
        c.request("GET", f"/{folder}/?ls")
        r = c.getresponse()
        js = json.loads(r.read())
    finally:
        c.close()
    return {urllib.parse.unquote(f["href"]): f for f in js["files"]}


def _untar(stream: Any) -> tuple[dict[str, bytes], dict[str, tuple[int, float]]]:
    got: dict[str, bytes] = {}
    meta: dict[str, tuple[int, float]] = {}
    with tarfile.open(fileobj=stream, mode="r|") as tf:
        for m in tf:
            if not m.isfile():
                continue
            f = tf.extractfile(m)
            assert f is not None
            got[m.name] = f.read()
            meta[m.name] = (m.size, m.mtime)
    return got, meta


def _timed_tar(
    c: http.client.HTTPConnection, t0: float, method: str, folder: str, **kw: Any
) -> tuple[float, dict, dict]:
    """Ask ``c`` for the archive and unpack it; seconds since ``t0``, files, metadata."""
    c.request(method, f"/{folder}/?tar", **kw)
    r = c.getresponse()
    if r.status != 200:
        raise SystemExit(f"{method} ?tar: HTTP {r.status}: {r.read()[:200]!r}")
    got, meta = _untar(r)
    dt = time.perf_counter() - t0
    c.close()
    return dt, got, meta


def by_tar(
    port: int, folder: str, names: list[str], cold: bool = False
) -> tuple[float, dict, dict]:
    """``cold``: the handshake is timed too -- copyparty closes the connection after
    an archive, so a client that keeps asking for archives pays it every time."""
    t0 = time.perf_counter()
    c = conn(port, warm=not cold)
    if not cold:
        t0 = time.perf_counter()
    # entries are named "<folder>/<file>", subfolders included
    return _timed_tar(c, t0, "GET", folder)


def _multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = io.BytesIO()
    for k, v in fields.items():
        body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode())
        body.write(v.encode() + b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    return body.getvalue(), f"multipart/form-data; boundary={boundary}"


def by_tar_selection(port: int, folder: str, names: list[str]) -> tuple[float, dict, dict]:
    body, ctype = _multipart(
        {"act": "zip", "files": "\n".join(urllib.parse.quote(n) for n in names)}
    )
    c = conn(port)
    t0 = time.perf_counter()
    return _timed_tar(c, t0, "POST", folder, body=body, headers={"Content-Type": ctype})


def by_gets(port: int, folder: str, names: list[str], n: int) -> tuple[float, dict, dict]:
    conns = [conn(port) for _ in range(n)]
    todo: queue.Queue[str] = queue.Queue()
    for name in names:
        todo.put(name)

    def worker(k: int) -> list[tuple[str, bytes]]:
        c = conns[k]
        items: list[tuple[str, bytes]] = []
        while True:
            try:
                name = todo.get_nowait()
            except queue.Empty:
                return items
            c.request("GET", f"/{folder}/{urllib.parse.quote(name)}")
            r = c.getresponse()
            body = r.read()
            if r.status != 200:
                raise SystemExit(f"GET: {name}: HTTP {r.status}")
            items.append((f"{folder}/{name}", body))

    try:
        dt, items = in_threads(n, worker)
    finally:
        for c in conns:
            c.close()
    return dt, dict(items), {}


def check(
    got: dict[str, bytes],
    meta: dict[str, tuple[int, float]],
    folder: str,
    files: dict[str, bytes],
    ls: dict[str, dict[str, Any]],
    root: Path,
    notes: set[str],
) -> None:
    """Every byte of every wanted file; archive size/mtime against listing and stat."""
    for name, data in files.items():
        key = f"{folder}/{name}" if f"{folder}/{name}" in got else name
        if got.get(key) != data:
            raise SystemExit(f"{folder}/{name}: wrong bytes")
        if key in meta:
            size, mtime = meta[key]
            st = (root / folder / name).stat()
            if size != ls[name]["sz"] or size != st.st_size:
                raise SystemExit(f"{folder}/{name}: tar size {size}, listing {ls[name]['sz']}")
            if int(mtime) != int(ls[name]["ts"]):
                notes.add(f"tar mtime {mtime} != listing ts {ls[name]['ts']}")
            notes.add(
                "tar mtime == int(st_mtime) (GNU tar header, whole seconds)"
                if mtime == int(st.st_mtime)
                else f"tar mtime {mtime} vs st_mtime {st.st_mtime}"
            )
    extra = sorted(k for k in got if k.split("/")[-1] not in files)
    if extra:
        notes.add(f"archive also holds {', '.join(extra)} (recursive)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--link", default="wan,lan,loopback", help="profiles, comma-separated")
    ap.add_argument("--count", type=int, default=50, help="files per folder")
    ap.add_argument("--sizes-kib", default="4,64", help="file sizes, comma-separated")
    ap.add_argument("--parallel", default="4,8,16", help="GET concurrencies")
    ap.add_argument("--runs", type=int, default=5, help="runs per method (median)")
    ap.add_argument("--server-cpu", default="0")
    ap.add_argument("--client-cpu", default="1")
    ap.add_argument("--json", default=None, help="write the results to this file")
    a = ap.parse_args()
    profiles = [p.strip() for p in a.link.split(",") if p.strip()]
    for p in profiles:
        if p not in PROFILE_NAMES:
            ap.error(f"unknown profile {p!r}; choose from {', '.join(PROFILE_NAMES)}")
    sizes = [int(x) for x in a.sizes_kib.split(",")]
    pars = [int(x) for x in a.parallel.split(",")]
    methods: dict[str, Any] = {
        "get x1": functools.partial(by_gets, n=1),
        **{f"get x{k}": functools.partial(by_gets, n=k) for k in pars},
        "tar": by_tar,
        "tar cold": functools.partial(by_tar, cold=True),
        "tar-sel": by_tar_selection,
    }

    def cpu(v: str) -> int | None:
        return None if v == "none" or (os.cpu_count() or 1) < 2 else int(v)

    cfg: Any = SimpleNamespace(python=sys.executable, server_cpu=cpu(a.server_cpu))
    client_cpu = cpu(a.client_cpu)
    shm = Path("/dev/shm")
    work = Path(tempfile.mkdtemp(prefix="measure-tar-", dir=shm if shm.is_dir() else None))
    cleanup = Cleanup()
    results: dict[str, dict[str, dict[str, float]]] = {}
    notes: set[str] = set()
    try:
        root = work / "src"
        folders = make_folders(root, a.count, sizes, seed=5)
        server = CopypartyServer(cfg, root, work, cleanup)
        if client_cpu is not None:
            os.sched_setaffinity(0, {client_cpu})
        for prof in profiles:
            spec = spec_for(prof)
            emu = LinkProc(spec, server.port, cfg, work, cleanup) if spec else None
            port = emu.port if emu else server.port
            results[prof] = {}
            try:
                for folder, files in folders.items():
                    names = sorted(files)
                    ls = listing(port, folder)
                    row: dict[str, float] = {}
                    for mname, fn in methods.items():
                        rates = []
                        for _ in range(a.runs):
                            dt, got, meta = fn(port, folder, names)
                            check(got, meta, folder, files, ls, root, notes)
                            rates.append(len(names) / dt)
                        row[mname] = statistics.median(rates)
                        print(
                            f"measure_tar: {prof:8s} {folder:5s} {mname:8s} "
                            f"{row[mname]:8.1f} files/s",
                            file=sys.stderr,
                            flush=True,
                        )
                    results[prof][folder] = row
            finally:
                if emu is not None:
                    notes.add(f"linkemu {prof}: {proc_cpu(emu.proc.pid):.1f} CPU s")
                    emu.stop()
    finally:
        cleanup.all()
        shutil.rmtree(work, ignore_errors=True)

    methods_order = list(next(iter(next(iter(results.values())).values())))
    header = ["profile", "folder", *methods_order, "best"]
    rows = [header]
    for prof, per in results.items():
        for folder, row in per.items():
            best = max(row, key=lambda m: row[m])
            rows.append([prof, folder, *(f"{row[m]:,.0f}" for m in methods_order), best])
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] * len(header)) + "|")
    for r in rows[1:]:
        print("| " + " | ".join(r) + " |")
    print(f"\nfiles/s, median of {a.runs}; {a.count} files per folder; warm connections")
    for n in sorted(notes):
        print(f"- {n}")
    if a.json:
        Path(a.json).write_text(json.dumps({"results": results, "notes": sorted(notes)}, indent=2))
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
