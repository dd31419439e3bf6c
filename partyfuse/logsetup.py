"""Logging for the command line: levels for -q/-d, --slowterm batching, --logf, redaction.

Everything partyfuse logs goes through loggers named ``partyfuse.*``; the
core and the transport log each request, range and cache decision at DEBUG,
mounts at INFO and failures at WARNING/ERROR.  This module only decides where
those records go and how they look:

* default: INFO (mount/unmount lines) and errors;
* ``-q``: WARNING and above;
* ``-d``: DEBUG, with the thread name;
* ``--slowterm``: lines are buffered and written a few times a second; when
  the terminal cannot keep up the oldest lines are dropped (Windows consoles
  are slow enough to throttle the filesystem otherwise);
* ``--logf FILE``: every line goes to FILE, the terminal gets --slowterm.

Passwords never reach a handler: a filter replaces each registered secret (and
the userinfo part of URLs) before formatting.
"""

from __future__ import annotations

import base64
import collections
import logging
import re
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO

ROOT = "partyfuse"
REDACTED = "***"

_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/@\s:]*):[^/@\s]*@")


def _basic_spellings(secret: str) -> list[str]:
    user, sep, pw = secret.partition(":")
    pairs = [f":{secret}", secret] + ([f"{user}:{pw}"] if sep else [])
    return [base64.b64encode(p.encode("utf-8", "replace")).decode("ascii") for p in pairs]


class RedactFilter(logging.Filter):
    """Rewrites a record so no registered secret survives formatting."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: list[str] = []
        for s in secrets:
            self.add(s)

    def add(self, secret: str | None) -> None:
        """Redact ``secret`` and the forms a request carries it in: the Basic
        auth value (``:pw`` or ``user:pw``, base64) a header dump would show."""
        if not secret:
            return
        # "user:password" (copyparty --usernames): the password part alone too
        part = secret.partition(":")[2]
        for s in (secret, *([part] if part else []), *_basic_spellings(secret)):
            if s not in self._secrets:
                self._secrets.append(s)
        # longest first, so "alice:hunter2" is replaced before "hunter2"
        self._secrets.sort(key=len, reverse=True)

    def redact(self, text: str) -> str:
        text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)
        for s in self._secrets:
            text = text.replace(s, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # a bad format string must not kill logging
            msg = f"{record.msg!r} {record.args!r}"
        record.msg = self.redact(msg)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        record.exc_info = None
        return True


class RecentLinesHandler(logging.Handler):
    """Buffers formatted lines and writes them in batches, dropping the oldest when flooded."""

    def __init__(self, stream: IO[str], *, interval: float = 0.1, keep: int = 200) -> None:
        super().__init__()
        self.stream = stream
        self.interval = interval
        self.keep = keep
        self._lines: collections.deque[str] = collections.deque()
        self._dropped = 0
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="partyfuse-log", daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        with self._cond:
            self._lines.append(line)
            while len(self._lines) > self.keep:
                self._lines.popleft()
                self._dropped += 1

    def _take(self) -> tuple[list[str], int]:
        with self._cond:
            lines, dropped = list(self._lines), self._dropped
            self._lines.clear()
            self._dropped = 0
        return lines, dropped

    def flush(self) -> None:
        lines, dropped = self._take()
        if not lines and not dropped:
            return
        out = []
        if dropped:
            out.append(f"[{dropped} older log lines dropped]")
        out.extend(lines)
        try:
            self.stream.write("\n".join(out) + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # terminal went away; nothing sensible left to do

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
                self._cond.wait(self.interval)
                if self._closed:
                    return
            self.flush()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        self.flush()
        super().close()


@dataclass
class LogSetup:
    """What setup() installed, so the caller can add secrets and tear it down."""

    redact: RedactFilter
    handlers: list[logging.Handler] = field(default_factory=list)
    previous: tuple[int, bool] = (logging.NOTSET, True)
    """The ``partyfuse`` logger's level and propagate flag before setup()."""

    def close(self) -> None:
        root = logging.getLogger(ROOT)
        for h in self.handlers:
            root.removeHandler(h)
            h.close()
        if self.handlers:
            root.setLevel(self.previous[0])
            root.propagate = self.previous[1]
        self.handlers.clear()


def level_for(*, quiet: bool, debug: bool) -> int:
    if debug:
        return logging.DEBUG
    if quiet:
        return logging.WARNING
    return logging.INFO


def setup(
    *,
    quiet: bool = False,
    debug: bool = False,
    slowterm: bool = False,
    logf: str | None = None,
    secrets: Iterable[str] = (),
    stream: IO[str] | None = None,
    slowterm_interval: float = 0.1,
) -> LogSetup:
    """Route ``partyfuse.*`` records to the terminal (and FILE) for the given flags.

    ``slowterm_interval`` is how often the --slowterm batch is written (tests
    set it huge and flush by hand, so a loaded machine cannot split a batch).
    """
    stream = stream if stream is not None else sys.stderr
    level = level_for(quiet=quiet, debug=debug)
    fmt = "%(asctime)s.%(msecs)03d %(levelname).1s "
    if debug:
        fmt += "[%(threadName)s] "
    fmt += "%(message)s"
    formatter = logging.Formatter(fmt, datefmt="%H:%M:%S")
    redact = RedactFilter(secrets)
    handlers: list[logging.Handler] = []

    console: logging.Handler
    if slowterm or logf:
        console = RecentLinesHandler(stream, interval=slowterm_interval)
    else:
        console = logging.StreamHandler(stream)
    console.setFormatter(formatter)
    handlers.append(console)
    if logf:
        fh = logging.FileHandler(logf, encoding="utf-8", errors="backslashreplace")
        fh.setFormatter(logging.Formatter(fmt, datefmt="%Y-%m-%d %H:%M:%S"))
        handlers.append(fh)

    root = logging.getLogger(ROOT)
    previous = (root.level, root.propagate)
    root.setLevel(level)
    root.propagate = False
    for h in handlers:
        h.addFilter(redact)
        h.setLevel(level)
        root.addHandler(h)
    # the bindings log every errno they return (with tracebacks) at DEBUG;
    # our adapter already reports what matters
    for name in ("fuse", "mfusepy"):
        logging.getLogger(name).setLevel(logging.WARNING if debug else logging.CRITICAL)
    return LogSetup(redact, handlers, previous)
