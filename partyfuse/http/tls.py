"""Certificate checking for https mounts (-te, -teh, -td).

requests can only switch verification on/off or swap the CA bundle; it cannot
trust one pinned certificate while skipping the hostname check.  So the
adapter here hands urllib3 our own ssl.SSLContext.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from typing import Any

from requests.adapters import HTTPAdapter

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
        """The context to use, or None for requests' default (system CAs, hostname checked)."""
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


class ContextAdapter(HTTPAdapter):
    """An HTTPAdapter whose https pools use a fixed SSLContext."""

    def __init__(self, ssl_context: ssl.SSLContext | None, **kwargs: Any) -> None:
        self._ssl_context = ssl_context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self._ssl_context is not None:
            kwargs["ssl_context"] = self._ssl_context
            if not self._ssl_context.check_hostname:
                # urllib3 checks the hostname itself unless told not to.
                kwargs["assert_hostname"] = False
            if self._ssl_context.verify_mode == ssl.CERT_NONE:
                kwargs["cert_reqs"] = "CERT_NONE"
        super().init_poolmanager(*args, **kwargs)

    def build_connection_pool_key_attributes(
        self, request: Any, verify: Any, cert: Any = None
    ) -> Any:
        attrs: Any = super().build_connection_pool_key_attributes(request, verify, cert)
        host: dict[str, Any] = attrs[0]
        pool: dict[str, Any] = attrs[1]
        if self._ssl_context is not None and host.get("scheme") == "https":
            # requests >= 2.32 puts its default context (or ca_certs) here,
            # which would replace ours.
            for key in ("ca_certs", "ca_cert_dir"):
                pool.pop(key, None)
            pool["ssl_context"] = self._ssl_context
            # urllib3 resets the context's verify_mode from cert_reqs.
            none = self._ssl_context.verify_mode == ssl.CERT_NONE
            pool["cert_reqs"] = "CERT_NONE" if none else "CERT_REQUIRED"
            if not self._ssl_context.check_hostname:
                pool["assert_hostname"] = False
        return host, pool

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        if self._ssl_context is None:
            super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]
        # else: the context decides; requests would otherwise overwrite
        # cert_reqs/ca_certs on the pool.


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
    requests and urllib3 wrap the ssl error a few layers deep."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLCertVerificationError):
            return str(cur.verify_message or "certificate verify failed")
        reason = getattr(cur, "reason", None)  # urllib3's MaxRetryError
        nxt = reason if isinstance(reason, BaseException) else None
        nxt = nxt or cur.__cause__ or cur.__context__
        if nxt is None and cur.args and isinstance(cur.args[0], BaseException):
            nxt = cur.args[0]
        cur = nxt
    if "CERTIFICATE_VERIFY_FAILED" in str(exc) or "certificate verify failed" in str(exc):
        return "certificate verify failed"
    return None
