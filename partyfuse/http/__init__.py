"""The HTTP(S) transport: a keep-alive connection pool, URLs, auth and TLS for the core.

Layout: ``transport.HttpTransport`` is the façade the core gets; it wires
``listing`` (fetch and recognise listings), ``exchange`` (requests,
redirects, bodies, over ``pool``) and ``answers`` (the pure rules that judge
each answer against what was asked).  ``pool`` lends the keep-alive
connections of ``connections`` (every socket operation bound by the call's
deadline) and retries; ``wire`` writes each request and reads each answer
(``head`` parses its header fields), ``response`` hands the body out on
demand.

Decisions worth knowing (each verified against copyparty 1.20 in tests/http):

* copyparty listings: ``dir/?ls&dots`` (dotfiles only show with the "."
  permission); downloads: ``file?raw``, or ``file?k=KEY&raw`` when the
  listing carried a file key.  Any other server gets plain URLs, and its
  pages go through ``partyfuse.core.listings.parse_listing``; the dialect the
  first listing reveals decides which (``HttpTransport.dialect``).  Names
  are quoted as their listing linked them: bytes as "%FF", except for
  python's http.server, which links and reads 0xFF as "%ED%B3%BF" (urls.py).
* A root that does not list is checked for being a file (a HEAD without the
  trailing "/" that answers 200), so a file URL gets "must name a folder".
* ``-a``: sent as copyparty's ``PW`` header (only while the server is, or may
  be, copyparty -- a wrong PW would override a right Basic) and as Basic auth
  (user:password split at the first colon; a bare password goes with an
  empty user, which copyparty accepts and nginx does not).  Redirects are
  followed only within the mount's origin, so neither leaves it.
* A protected copyparty *root* answers a wrong password with an empty 200
  listing (``acct: "*"``, no "read" in ``perms``); ``check()`` reports that.
* Reads: one ``Range`` request; a 206 must carry exactly the asked
  Content-Range and the listing's size; a 200 (Range ignored, or If-Range
  failed) is checked against size/validators and sliced while streaming.
  copyparty gets ``If-Range: <listing ts as HTTP date>`` (it compares dates
  exactly and answers 200 when the file changed); other servers get the
  strong ETag / Last-Modified their first answer carried.
* One pool of keep-alive connections per mount (thread-safe; redirects
  never leave the origin, so one pool is enough): the hot path is a small
  ranged GET, written in one piece and read from one buffer (wire.py: a
  third of http.client's CPU per request; no per-request URL parsing or
  header rebuilding).  Connection errors and
  429/502/503/504 are retried (Retry-After honoured, capped); a body that
  breaks off is retried too.  Environment proxies and .netrc are never
  consulted.
* Every call ends within ``call_timeout`` (60 s), retries included: see retry.py.
"""

from __future__ import annotations

from .auth import Credentials, PasswordError, read_password
from .retry import RetryPolicy
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
