"""Certificate checking for https mounts (-te, -teh, -td).

A pinned certificate (-te) is trusted with or without a hostname check
(-teh), which a CA bundle path alone cannot express; so every connection is
made with our own ssl.SSLContext.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TlsOptions:
    trust_file: str | None = None
    """-te: PEM file with a CA or the server's own certificate."""
    check_hostname: bool = False
    """-teh: with -te, also require the certificate to name the host."""
    insecure: bool = False
    """-td: no verification at all."""

    def context(self) -> ssl.SSLContext | None:
        """The context to use, or None for the default (system CAs, hostname checked)."""
        if self.insecure:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return ctx
        if self.trust_file:
            try:
                ctx = ssl.create_default_context(cafile=self.trust_file)
            except (OSError, ssl.SSLError) as e:
                raise ValueError(f"cannot load -te certificate {self.trust_file}: {e}") from None
            ctx.check_hostname = self.check_hostname
            return ctx
        return None


def default_context() -> ssl.SSLContext:
    """System CAs, hostname checked.  Where Python finds no system CA file
    (python.org builds on macOS ship without one), certifi's bundle is added
    when installed."""
    ctx = ssl.create_default_context()
    if not ctx.cert_store_stats().get("x509_ca"):
        try:
            import certifi
        except ImportError:
            return ctx
        ctx.load_verify_locations(cafile=certifi.where())
    return ctx


def server_certificate(host: str, port: int, timeout: float = 5.0) -> str | None:
    """The PEM certificate the server presents, so the user can pin it with -te."""
    try:
        return ssl.get_server_certificate((host, port), timeout=timeout)
    except (OSError, ssl.SSLError, ValueError) as e:
        log.debug("could not fetch the server certificate: %s", e)
        return None


def verification_failure(exc: BaseException) -> str | None:
    """Why the certificate was refused ("self-signed certificate", "Hostname
    mismatch, ..."), or None when ``exc`` is not a verification failure.
    The ssl error is looked for down ``exc``'s chain (cause, context, first
    argument), so a wrapped one is found too."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLCertVerificationError):
            return str(cur.verify_message or "certificate verify failed")
        nxt = cur.__cause__ or cur.__context__
        if nxt is None and cur.args and isinstance(cur.args[0], BaseException):
            nxt = cur.args[0]
        cur = nxt
    if "CERTIFICATE_VERIFY_FAILED" in str(exc) or "certificate verify failed" in str(exc):
        return "certificate verify failed"
    return None
