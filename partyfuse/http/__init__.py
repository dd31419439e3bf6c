"""The HTTP(S) transport: requests sessions, URLs, auth and TLS for the core."""

from __future__ import annotations

from .auth import Credentials, PasswordError, read_password
from .session import RetryPolicy
from .tls import TlsOptions
from .transport import HttpTransport
from .urls import BadUrl, BaseUrl, parse_base_url

__all__ = [
    "BadUrl",
    "BaseUrl",
    "Credentials",
    "HttpTransport",
    "PasswordError",
    "RetryPolicy",
    "TlsOptions",
    "parse_base_url",
    "read_password",
]
