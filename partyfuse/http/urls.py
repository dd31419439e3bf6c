"""The mount's base URL and how remote paths become request URLs.

Every name must round-trip: a path is encoded to bytes with surrogateescape
(so names that were not UTF-8 on the server go back as the same bytes) and
then percent-quoted, leaving only "/" unescaped.  "#", "?", "%", "&", "+" and
spaces are all quoted, so no name can be mistaken for a fragment or query.

Python's http.server is the exception: it links an undecodable byte such as
0xFF as the UTF-8 of its escape surrogate ("%ED%B3%BF", ``quote(errors=
"surrogatepass")``) and unquotes request paths the same way, so "%FF" is a 404
there.  ``surrogatepass=True`` quotes the way it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, quote_from_bytes, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


class BadUrl(ValueError):
    """The base URL cannot be mounted (one line, shown to the user)."""


@dataclass(frozen=True)
class BaseUrl:
    scheme: str
    host: str
    """Hostname, or an IPv6 literal without brackets."""
    port: int
    prefix: str
    """Percent-encoded URL path of the mount root, starting and ending with "/"."""

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host.lower(), self.port)

    def url(
        self, path: str, *, is_dir: bool = False, query: str = "", surrogatepass: bool = False
    ) -> str:
        """Absolute URL of remote ``path`` ("" is the root, no leading "/")."""
        tail = self.url_path(path, is_dir=is_dir, surrogatepass=surrogatepass)
        out = f"{self.scheme}://{self.netloc}{tail}"
        return f"{out}?{query}" if query else out

    def url_path(self, path: str, *, is_dir: bool = False, surrogatepass: bool = False) -> str:
        tail = quote_path(path, surrogatepass=surrogatepass)
        if is_dir and tail:
            tail += "/"
        return self.prefix + tail

    def __str__(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.prefix}"


def quote_path(path: str, *, surrogatepass: bool = False) -> str:
    raw = path.strip("/").encode("utf-8", "surrogatepass" if surrogatepass else "surrogateescape")
    return quote_from_bytes(raw, safe="/")


def origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an absolute URL, or None when it has no host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return (scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme])


def parse_base_url(text: str) -> BaseUrl:
    """Validate the user's URL; a missing scheme means http (like upstream's examples)."""
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as e:
        raise BadUrl(f"invalid URL {text!r}: {e}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise BadUrl(f"unsupported URL scheme {parts.scheme!r} (use http or https)")
    if not parts.hostname:
        raise BadUrl(f"URL has no host: {text!r}")
    if parts.username or parts.password:
        raise BadUrl("put the password in -a, not in the URL")
    if parts.query or parts.fragment:
        raise BadUrl(f"URL must not have a query or fragment: {text!r}")
    # Keep the user's escapes ("%20") but escape what was typed raw (spaces, unicode).
    prefix = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~")
    if not prefix.endswith("/"):
        prefix += "/"
    return BaseUrl(scheme, parts.hostname, port or DEFAULT_PORTS[scheme], prefix)
