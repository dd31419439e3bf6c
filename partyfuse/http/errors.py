"""Turning socket/http.client exceptions into the core's typed errors.

What a *status* means is decided with the rest of the answer rules, in
``answers.status_error`` (re-exported here).
"""

from __future__ import annotations

import logging
import socket
import ssl
from http.client import HTTPException, IncompleteRead, RemoteDisconnected

from ..core.errors import TimedOut, Transient, TransportError
from .answers import status_error
from .pool import HeadCut
from .tls import server_certificate, verification_failure
from .urls import BaseUrl

log = logging.getLogger(__name__)


def connection_error(exc: BaseException, base: BaseUrl, what: str) -> TransportError:
    """One-line error for a failed exchange; a TLS verification failure also
    logs the certificate the server showed, so the user can pin it with -te."""
    root = exc
    is_tls = isinstance(root, ssl.SSLError)
    why = verification_failure(exc) if is_tls else None
    if why is not None:
        pem = server_certificate(base.host, base.port)
        if pem:
            log.warning(
                "the server's certificate is not trusted; to trust it, save this "
                "to a file and pass it with -te FILE:\n%s",
                pem.strip(),
            )
        hint = (
            "use the name the certificate is for, or drop -teh"
            if "mismatch" in why
            else "trust it with -te CERT, or skip the check with -td"
        )
        return Transient(
            f"{what}: TLS certificate verification failed for {base.netloc}: "
            f"{why.rstrip('.')} ({hint})"
        )
    if is_tls:
        return Transient(f"{what}: TLS error with {base.netloc}: {_first_line(root)}")
    if isinstance(root, (TimeoutError, socket.timeout)):
        return TimedOut(f"{what}: timed out talking to {base.netloc}")
    if isinstance(root, HeadCut):
        return Transient(f"{what}: the connection to {base.netloc} broke off mid-answer")
    if isinstance(root, IncompleteRead):
        return Transient(f"{what}: the connection to {base.netloc} broke off mid-body")
    if isinstance(root, RemoteDisconnected):
        return Transient(f"{what}: cannot reach {base.netloc}: remote end closed connection")
    if isinstance(root, (HTTPException, OSError)):
        return Transient(f"{what}: cannot reach {base.netloc}: {_reason(root)}")
    return Transient(f"{what}: {type(root).__name__}: {_first_line(root)}")


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in (
        "Connection refused",
        "Connection reset",
        "Connection broken",
        "Name or service not known",
        "No route to host",
        "Network is unreachable",
        "Connection aborted",
        "Remote end closed connection",
    ):
        if marker in text:
            return marker.lower()
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


__all__ = ["connection_error", "status_error"]
