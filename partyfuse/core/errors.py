"""Typed errors a transport raises, and the errno each one becomes.

The core never sees an HTTP status or a socket exception: the transport
translates them into these, so the errno mapping lives in one place.
"""

from __future__ import annotations

import errno


class TransportError(Exception):
    """Base class; anything unexpected from a server is an I/O error."""

    errno: int = errno.EIO


class NotFound(TransportError):
    """The server says the path does not exist (404, 410, a file where a dir was expected)."""

    errno = errno.ENOENT


class Forbidden(TransportError):
    """Authentication failed or access denied (401, 403)."""

    errno = errno.EACCES


class Transient(TransportError):
    """Connection refused/reset, timeout, 5xx after the retries were spent."""

    errno = errno.EIO


class TimedOut(Transient):
    """The server did not answer (or finish answering) within the call timeout."""

    errno = errno.ETIMEDOUT


class ProtocolError(TransportError):
    """The server answered, but not sensibly (bad Content-Range, short body, bad listing)."""

    errno = errno.EIO


class Changed(TransportError):
    """The file is no longer the version the caller expected (If-Range mismatch,
    size changed): the caller must drop what it cached and look again."""

    errno = errno.EIO


class FsError(Exception):
    """What the filesystem core raises to its adapter: a bare errno and a reason."""

    def __init__(self, err: int, reason: str = "") -> None:
        super().__init__(err, reason or errno.errorcode.get(err, str(err)))
        self.errno = err
        self.reason = reason
