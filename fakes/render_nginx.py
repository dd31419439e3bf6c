"""nginx ``autoindex`` listings, byte for byte as nginx 1.22 writes them.

Ported from the behaviour of src/http/modules/ngx_http_autoindex_module.c
(read via the code search, checked against a running nginx 1.22.1 by
tests/listings/fidelity/test_nginx_fidelity.py).  Quirks kept on purpose:

* HTML lines end in CRLF; names longer than 50 columns are cut to 47 and get
  ``..&gt;``; a directory whose name is exactly 50 columns loses its "/".
* Columns are counted in *bytes* unless ``charset utf-8`` is configured;
  then in UTF-8 characters (a name with invalid UTF-8 falls back to bytes).
* hrefs escape everything but ``A-Za-z0-9-._~`` (uppercase hex); the
  visible name escapes only ``<>&"``, control characters go through raw.
* Directories first, then plain ``strcmp`` of the raw bytes; dot-files are
  hidden.  JSON/XML times are always GMT; HTML honours ``autoindex_localtime``.
"""

from __future__ import annotations

import time
from email.utils import formatdate

from .tree import Node, Tree, name_bytes

NAME_LEN = 50
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_HTML_ESC = {ord("<"): b"&lt;", ord(">"): b"&gt;", ord("&"): b"&amp;", ord('"'): b"&quot;"}

SERVER = "nginx/1.22.1"


def escape_uri_component(raw: bytes) -> bytes:
    """ngx_escape_uri(NGX_ESCAPE_URI_COMPONENT) as of nginx 1.21.1+."""
    return b"".join(bytes([c]) if c in _UNRESERVED else b"%%%02X" % c for c in raw)


def escape_html(raw: bytes) -> bytes:
    return b"".join(_HTML_ESC.get(c, bytes([c])) for c in raw)


def _utf8_decode(s: bytes, i: int) -> tuple[int, int]:
    """ngx_utf8_decode: (code point or >0x10FFFF when invalid, next index)."""
    u = s[i]
    if u >= 0xF0:
        u, valid, n = u & 0x07, 0xFFFF, 3
    elif u >= 0xE0:
        u, valid, n = u & 0x0F, 0x7FF, 2
    elif u >= 0xC2:
        u, valid, n = u & 0x1F, 0x7F, 1
    else:
        return 0xFFFFFFFF, i + 1
    if len(s) - i - 1 < n:
        return 0xFFFFFFFE, i
    i += 1
    while n:
        c = s[i]
        i += 1
        if c < 0x80:
            return 0xFFFFFFFF, i
        u = (u << 6) | (c & 0x3F)
        n -= 1
    return (u if u > valid else 0xFFFFFFFF), i


def utf8_length(s: bytes) -> int:
    """ngx_utf8_length: characters, or the byte count if anything is invalid."""
    i = count = 0
    while i < len(s):
        if s[i] < 0x80:
            i += 1
        else:
            cp, i = _utf8_decode(s, i)
            if cp > 0x10FFFF:
                return len(s)
        count += 1
    return count


def _utf8_prefix(s: bytes, n: int) -> bytes:
    """ngx_utf8_cpystrn(dst, s, n, ...): at most n - 1 characters."""
    i = 0
    n -= 1
    while n > 0 and i < len(s):
        if s[i] < 0x80:
            i += 1
        else:
            cp, j = _utf8_decode(s, i)
            if cp > 0x10FFFF:
                break
            i = j
        n -= 1
    return s[:i]


def _sorted(tree: Tree, path: str) -> list[tuple[bytes, Node]]:
    items = [(name_bytes(n), node) for n, node in tree.listdir(path) if not n.startswith(".")]
    return sorted(items, key=lambda it: (not it[1].is_dir, it[0]))


def _rounded(size: int) -> bytes:
    gib, mib = 1024 * 1024 * 1024, 1024 * 1024
    if size > gib - 1:
        n, scale = size // gib + (size % gib > gib // 2 - 1), b"G"
    elif size > mib - 1:
        n, scale = size // mib + (size % mib > mib // 2 - 1), b"M"
    elif size > 9999:
        n, scale = size // 1024 + (size % 1024 > 511), b"K"
    else:
        return b" %6d" % size
    return b"%6d" % n + scale


def _html_name(raw: bytes, is_dir: bool, utf8: bool) -> bytes:
    length = utf8_length(raw) if utf8 else len(raw)
    if len(raw) != length:
        char_len = NAME_LEN - 3 + 1 if length > NAME_LEN else NAME_LEN + 1
        shown = escape_html(_utf8_prefix(raw, char_len))
    elif length > NAME_LEN:
        shown = escape_html(raw[: NAME_LEN - 3])
    else:
        shown = escape_html(raw)
    if length > NAME_LEN:
        return shown + b"..&gt;</a>"
    if is_dir and NAME_LEN - length > 0:
        shown += b"/"
        length += 1
    return shown + b"</a>" + b" " * max(0, NAME_LEN - length)


def render_html(
    tree: Tree,
    path: str = "",
    *,
    exact_size: bool = True,
    localtime: bool = False,
    gmtoff_minutes: int = 0,
    charset: str | None = None,
    uri: bytes | None = None,
) -> tuple[bytes, dict[str, str]]:
    """``autoindex_format html``; ``uri`` is the decoded request path (default ``/path/``)."""
    if uri is None:
        uri = b"/" + (name_bytes(path.strip("/")) + b"/" if path.strip("/") else b"")
    utf8 = (charset or "").lower() == "utf-8"
    title = escape_html(uri)
    out = [
        b"<html>\r\n<head><title>Index of " + title + b"</title></head>\r\n<body>\r\n",
        b"<h1>Index of " + title + b'</h1><hr><pre><a href="../">../</a>\r\n',
    ]
    shift = gmtoff_minutes * 60 if localtime else 0
    for raw, node in _sorted(tree, path):
        line = b'<a href="' + escape_uri_component(raw) + (b"/" if node.is_dir else b"") + b'">'
        line += _html_name(raw, node.is_dir, utf8) + b" "
        tm = time.gmtime(node.mtime + shift)
        line += b"%02d-%s-%d %02d:%02d " % (
            tm.tm_mday,
            _MONTHS[tm.tm_mon - 1].encode(),
            tm.tm_year,
            tm.tm_hour,
            tm.tm_min,
        )
        if exact_size:
            line += b"                  -" if node.is_dir else b"%19d" % node.size
        else:
            line += b"      -" if node.is_dir else _rounded(node.size)
        out.append(line + b"\r\n")
    out.append(b"</pre><hr></body>\r\n</html>\r\n")
    ctype = "text/html" + (f"; charset={charset}" if charset else "")
    return b"".join(out), {"Content-Type": ctype}


def _json_escape(raw: bytes) -> bytes:
    """ngx_escape_json: quote and backslash escaped, control bytes as \\n or \\u00XX."""
    out = bytearray()
    short = {0x0A: b"n", 0x0D: b"r", 0x09: b"t", 0x08: b"b", 0x0C: b"f"}
    for c in raw:
        if c > 0x1F:
            if c in (0x5C, 0x22):
                out += b"\\"
            out.append(c)
        elif c in short:
            out += b"\\" + short[c]
        else:
            out += b"\\u00%02X" % c
    return bytes(out)


def render_json(tree: Tree, path: str = "") -> tuple[bytes, dict[str, str]]:
    """``autoindex_format json``: CRLF between entries, no trailing newline."""
    parts = []
    for raw, node in _sorted(tree, path):
        item = b'\r\n{ "name":"' + _json_escape(raw) + b'", "type":"'
        item += b"directory" if node.is_dir else b"file"
        item += b'", "mtime":"' + formatdate(node.mtime, usegmt=True).encode()
        item += b'"' if node.is_dir else b'", "size":%d' % node.size
        parts.append(item + b" }")
    body = b"[" + b",".join(parts) + b"\r\n]"
    return body, {"Content-Type": "application/json"}


def render_xml(tree: Tree, path: str = "") -> tuple[bytes, dict[str, str]]:
    """``autoindex_format xml``: always served as ``text/xml; charset=utf-8``."""
    out = [b'<?xml version="1.0"?>\r\n<list>\r\n']
    for raw, node in _sorted(tree, path):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(node.mtime)).encode()
        if node.is_dir:
            out.append(b'<directory mtime="%s">%s</directory>\r\n' % (stamp, escape_html(raw)))
        else:
            out.append(
                b'<file mtime="%s" size="%d">%s</file>\r\n' % (stamp, node.size, escape_html(raw))
            )
    out.append(b"</list>\r\n")
    return b"".join(out), {"Content-Type": "text/xml; charset=utf-8"}


def render(
    tree: Tree, path: str = "", *, fmt: str = "html", **options: object
) -> tuple[bytes, dict[str, str]]:
    """Dispatch on ``fmt`` ("html", "json", "xml"); options go to :func:`render_html`."""
    if fmt == "json":
        return render_json(tree, path)
    if fmt == "xml":
        return render_xml(tree, path)
    if fmt != "html":
        raise ValueError(f"unknown nginx autoindex format {fmt!r}")
    return render_html(tree, path, **options)  # type: ignore[arg-type]


def file_etag(node: Node) -> str:
    """nginx's strong ETag: hex mtime, dash, hex size."""
    return f'"{node.mtime:x}-{node.size:x}"'


def http_date(ts: int) -> str:
    return formatdate(ts, usegmt=True)


__all__ = [
    "render",
    "render_html",
    "render_json",
    "render_xml",
    "escape_uri_component",
    "escape_html",
    "utf8_length",
    "file_etag",
    "http_date",
    "SERVER",
]
