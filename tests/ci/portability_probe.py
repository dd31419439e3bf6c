"""A pytest plugin (``-p tests.ci.portability_probe``) for ``pytest --collect-only`` runs
that stand in for CI's macOS and Windows jobs, which cannot run here.

Loaded before any test module is imported, it takes away what only Linux
gives: for Windows ``os.fsdecode`` becomes strict UTF-8 (so a module that
computes a raw-byte name at import fails as it would there), Debian's servers
and ``fusermount`` are not found by ``shutil.which``, and any process started
while collecting is recorded.  ``sys.platform`` stays: the standard library
branches on it at import (``urllib.request`` would look for macOS's
``_scproxy``), so faking it would fail for reasons the real OS does not have.

Once collection is final (``-m`` applied) it writes, for every selected test,
what in it would still need Linux, to the JSON file named by
``PARTYFUSE_PROBE_REPORT``:

- the ``linux_only`` marker (the job's ``-m`` should have left it out);
- a fixture from ``tests.support.real_servers`` anywhere in its closure;
- in the source of the test or of a fixture it uses: ``/proc/``,
  ``fusermount``, the raw-byte name or tree of the test helpers, or a direct
  start of a real server.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

TARGET = os.environ.get("PARTYFUSE_PROBE_PLATFORM", "win32")
REPORT = os.environ.get("PARTYFUSE_PROBE_REPORT", "")

LINUX_TOOLS = frozenset({"nginx", "apache2", "lighttpd", "fusermount", "fusermount3"})
LINUX_FIXTURE_MODULE = "tests.support.real_servers"
#: Source text that means Linux: its /proc, its unmount tool, names of raw bytes on
#: disk (the helpers' raw-byte name and hypothesis trees), Debian's server launcher.
LINUX_TOKENS = (
    "/proc/",
    "fusermount",
    "NON_UTF8_NAME",
    "non_utf8_name(",
    "raw_bytes=True",
    "start_real_server",
)

_started: list[str] = []


def _strict_fsdecode(filename: Any) -> str:
    name = os.fspath(filename)
    return name if isinstance(name, str) else name.decode("utf-8", "surrogatepass")


def _which(cmd: Any, *args: Any, **kwargs: Any) -> str | None:
    if os.path.basename(os.fspath(cmd)) in LINUX_TOOLS:
        return None
    return _real_which(cmd, *args, **kwargs)


def _popen_init(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
    _started.append(repr(args))
    _real_popen_init(self, args, *rest, **kwargs)


_real_which = shutil.which
_real_popen_init = subprocess.Popen.__init__
if TARGET == "win32":
    os.fsdecode = _strict_fsdecode
shutil.which = _which  # type: ignore[assignment]
subprocess.Popen.__init__ = _popen_init  # type: ignore[method-assign]


def _source(obj: Any) -> str:
    obj = getattr(getattr(obj, "hypothesis", None), "inner_test", obj)
    try:
        return inspect.getsource(inspect.unwrap(obj))
    except (OSError, TypeError):
        return ""


def _needs_linux(item: pytest.Item) -> list[str]:
    why = []
    if item.get_closest_marker("linux_only") is not None:
        why.append("marked linux_only")
    info = getattr(item, "_fixtureinfo", None)
    sources = [("the test", _source(getattr(item, "obj", None)))]
    for name in getattr(item, "fixturenames", ()):
        for fixturedef in info.name2fixturedefs.get(name, ()) if info else ():
            module = getattr(fixturedef.func, "__module__", "")
            if module == LINUX_FIXTURE_MODULE:
                why.append(f"fixture {name} starts a Debian server")
            elif module.startswith(("tests.", "fakes.")):
                sources.append((f"fixture {name}", _source(fixturedef.func)))
    for where, text in sources:
        why += [f"{where} uses {token!r}" for token in LINUX_TOKENS if token in text]
    return why


def pytest_collection_finish(session: pytest.Session) -> None:
    items = {item.nodeid: _needs_linux(item) for item in session.items}
    if REPORT:
        Path(REPORT).write_text(
            json.dumps({"items": items, "started": _started, "platform": TARGET})
        )
