"""When an exchange is tried again, and for how long a call may go on.

GET/HEAD requests (all the transport sends) are retried on connection errors
and on 429/502/503/504, honouring Retry-After (capped, so a server asking for
an hour cannot freeze a read); other 4xx are never retried (pool.py).  A body
that breaks off after the headers is retried by the transport.

Every transport call -- its retries, pauses, redirects and body included --
ends within ``call_timeout`` seconds (60 by default): a server that accepts
and never answers, stalls or trickles a byte at a time gets the caller an
ETIMEDOUT, never a hang.  Where the kernel kills FUSE requests that take too
long (``/proc/sys/fs/fuse/*_request_timeout``, Linux 6.14+), the bound is
kept below that, or one slow server would take the whole mount down.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from threading import get_ident
from typing import Any, TypeVar

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: Seconds a transport call may take, retries included, unless told otherwise.
CALL_TIMEOUT = 60.0
#: Where Linux says how long a FUSE request may take before it aborts the mount.
FUSE_SYSCTL = "/proc/sys/fs/fuse"
#: Share of the kernel's FUSE request timeout a call may use: the kernel checks
#: its timeout on a coarse timer, and one file operation may wait on a fetch
#: another thread started a little earlier.
KERNEL_SHARE = 0.5


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3
    """Extra attempts after the first one, for connection errors and 429/502/503/504."""
    backoff: float = 0.25
    """Seconds before the first retry; doubles each time."""
    max_retry_after: float = 10.0

    def delay(self, attempt: int) -> float:
        """Pause before retry number ``attempt`` (0-based) when the server named none."""
        return float(self.backoff * 2.0**attempt)


Sleep = Callable[[float], None]


def kernel_request_timeout(sysctl: str | os.PathLike[str] = FUSE_SYSCTL) -> float | None:
    """Seconds after which this kernel aborts a FUSE request (None: never, or unknown).

    ``default_request_timeout`` applies to mounts that set none (ours), and
    ``max_request_timeout`` caps every mount's; 0 means unset."""
    found: list[float] = []
    for name in ("default_request_timeout", "max_request_timeout"):
        try:
            with open(os.path.join(sysctl, name)) as f:
                value = float(f.read().strip() or 0)
        except (OSError, ValueError):
            continue
        if value > 0:
            found.append(value)
    return min(found) if found else None


def fit_call_timeout(
    requested: float = CALL_TIMEOUT, sysctl: str | os.PathLike[str] = FUSE_SYSCTL
) -> float:
    """``requested``, lowered below the kernel's FUSE request timeout when one is set."""
    kernel = kernel_request_timeout(sysctl)
    if kernel is None:
        return requested
    fitted = min(requested, max(1.0, kernel * KERNEL_SHARE))
    if fitted < requested:
        log.info(
            "each call to the server is bounded by %g s instead of %g s: this kernel "
            "aborts FUSE requests that take %g s",
            fitted,
            requested,
            kernel,
        )
    return fitted


#: When the outermost call scope of each thread began, by thread id.  A dict
#: and not a ``threading.local``: FUSE's threads enter Python through ctypes
#: callbacks, where a thread-local cost several times a dict lookup on every
#: file operation (py-spy put it at a tenth of the daemon's time in cp -r).
#: Each thread only touches its own key, one dict operation at a time.
_starts: dict[int, float] = {}


def scope_start() -> float | None:
    return _starts.get(get_ident())


class call_scope:  # noqa: N801 - used as a function: ``with call_scope():``
    """Every exchange on this thread inside shares one deadline, counted from
    the entry of the outermost scope (nested scopes change nothing)."""

    __slots__ = ("_ident",)

    def __enter__(self) -> None:
        ident = get_ident()
        if ident in _starts:
            self._ident = None
        else:
            self._ident = ident
            _starts[ident] = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        if self._ident is not None:
            _starts.pop(self._ident, None)


def bounded_call(fn: F) -> F:
    """Run ``fn`` in a ``call_scope`` (for the transport's public calls)."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        with call_scope():
            return fn(*args, **kwargs)

    return call  # type: ignore[return-value]
