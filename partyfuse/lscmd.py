"""``partyfuse --ls URL [-r]``: print what the mount would show, without mounting.

One JSON object per line: ``{"path": "a/b.txt", "type": "file", "size": 123,
"mtime": 1700000000.0}``.  The path is relative to the URL, "/"-separated.  It
goes through the same RemoteFS the mount uses, so a size a listing only gave
rounded ("12K") is resolved exactly (HEAD / one-byte GET) before it is printed,
just as ``stat`` on the mount would.  Bytes of a name that are not UTF-8 are
printed as the JSON escapes ``\\udc80``..``\\udcff`` (Python's surrogateescape:
``json.loads(line)["path"].encode("utf-8", "surrogateescape")`` gives the
exact bytes back).

Directories are printed before their contents (depth first, in listing
order).  An error on one directory or file is reported on stderr and the rest
is still listed; the exit status is then 1.  A failure on the URL itself is one
line on stderr and status 1.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Iterator
from typing import Any, TextIO

from .core.errors import FsError
from .core.names import NameMap
from .core.remotefs import Attrs, CacheConfig, RemoteFS
from .core.transport import Transport

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def json_line(obj: dict[str, Any]) -> str:
    """JSON without ASCII-escaping, except lone surrogates (undecodable name bytes),
    which no UTF-8 stream could carry: those become ``\\udcXX`` escapes."""
    text = json.dumps(obj, ensure_ascii=False)
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f\udc80-\udcff]")


def printable(path: str) -> str:
    """A path for a one-line message: control characters and undecodable bytes as \\xNN."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()) & 0xFF:02x}", path)


def _record(path: str, attrs: Attrs) -> dict[str, Any]:
    return {
        "path": path,
        "type": "dir" if attrs.is_dir else "file",
        "size": attrs.size,
        "mtime": attrs.mtime,
    }


def _walk(fs: RemoteFS, rel: str, recursive: bool, errors: list[str]) -> Iterator[dict[str, Any]]:
    try:
        names = fs.readdir("/" + rel)
    except FsError as e:
        errors.append(f"{printable(rel or '/')}: {e.reason or e}")
        return
    for name, attrs in names:
        path = f"{rel}/{name}" if rel else name
        if attrs is None:
            try:
                attrs = fs.getattr("/" + path)
            except FsError as e:
                errors.append(f"{printable(path)}: {e.reason or e}")
                continue
        yield _record(path, attrs)
        if recursive and attrs.is_dir:
            yield from _walk(fs, path, recursive, errors)


def run_ls(
    transport: Transport,
    *,
    recursive: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
    names: NameMap | None = None,
) -> int:
    """List the root of ``transport`` (and below, with ``recursive``); 0 when all went well."""
    out = out or sys.stdout
    err = err or sys.stderr
    # A long TTL: each directory is listed once, and its files' sizes are
    # probed against that same listing.
    fs = RemoteFS(
        transport,
        clock=time.monotonic,
        config=CacheConfig(dir_max=64, dir_ttl=3600.0, file_blocks=0),
        names=names,
    )
    errors: list[str] = []
    try:
        for record in _walk(fs, "", recursive, errors):
            out.write(json_line(record) + "\n")
        out.flush()
    except BrokenPipeError:
        # `partyfuse --ls URL | head`: the reader has all it wanted.  Point
        # stdout at /dev/null so the interpreter's final flush stays quiet.
        if out is sys.stdout:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        return 0
    where = getattr(transport, "base", None)
    for line in errors:
        err.write(f"partyfuse --ls: {where}: {line}\n" if where else f"partyfuse --ls: {line}\n")
    err.flush()
    return 1 if errors else 0


def run_ls_url(
    url: str,
    recursive: bool = False,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    **transport_kwargs: Any,
) -> int:
    """Build an HttpTransport for ``url`` (``password``, ``dialect`` and the
    rest of ``transport_kwargs`` are its keywords) and :func:`run_ls` it (for
    scripts and tests)."""
    from .http import BadUrl, HttpTransport

    err = err or sys.stderr
    try:
        transport = HttpTransport(url, **transport_kwargs)
    except (BadUrl, ValueError) as e:
        err.write(f"partyfuse --ls: {e}\n")
        return 1
    try:
        return run_ls(transport, recursive=recursive, out=out, err=err)
    finally:
        transport.close()
