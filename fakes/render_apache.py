"""Apache 2.4 ``mod_autoindex`` listings as Debian's default configuration makes them.

Debian's /etc/apache2/mods-available/autoindex.conf sets ``IndexOptions
FancyIndexing VersionSort HTMLTable NameWidth=* DescriptionWidth=*
Charset=UTF-8``, its icon table and ``IndexIgnore .??* *~ *# RCS CVS *,v *,t``.
Three styles: ``table`` (that default), ``pre`` (``-HTMLTable``: FancyIndexing
in a <pre>) and ``ul`` (``-FancyIndexing``: a bare list).

Behaviour ported from modules/generators/mod_autoindex.c and
apr strings/apr_strnatcmp.c (read via the code search), checked byte for byte
against apache2 2.4 by tests/listings/fidelity/test_apache_fidelity.py:

* VersionSort is apr_strnatcmp on the name (directories carry their "/"),
  comparing *signed* chars, so UTF-8 names sort before ASCII; whitespace is
  skipped; ties fall back to strcmp.  Folders are not first.
* hrefs are ap_os_escape_path (lowercase hex; ``$-_.+!*'(),:;@&=/~`` and
  alnum kept; "./" prefixed when a ":" would make it look like a scheme),
  then HTML-escaped; names are HTML-escaped (``<>&"``).
* Sizes are apr_strfsize (``  5 ``, ``4.9K``, `` 12M``); directories ``  - ``.
* Times are the server's local time, ``%Y-%m-%d %H:%M``.
* Icons/alts follow the AddIcon* rules in order, with the MIME type from
  /etc/mime.types looked up mod_mime-style on every extension of the name.
* ``HeaderName HEADER.html`` / ``ReadmeName README.html``: such files in the
  listed directory are spliced into the page verbatim.
"""

from __future__ import annotations

import functools
import mimetypes
import re
import time
from pathlib import Path

from .tree import Node, Tree, name_bytes

SERVER = "Apache/2.4.71 (Debian)"
CONTENT_TYPE = "text/html;charset=UTF-8"
_DOCTYPE = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
)
_INDEX_IGNORE = (".??*", "*~", "*#", "RCS", "CVS", "*,v", "*,t")
_HTML_ESC = {ord("<"): b"&lt;", ord(">"): b"&gt;", ord("&"): b"&amp;", ord('"'): b"&quot;"}
_PATH_SAFE = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789$-_.+!*'(),:;@&=/~"
)

# (kind, alt or None, icon, pattern) in the order Debian's autoindex.conf
# declares them; "type" patterns match the MIME type, "path" ones the full
# file path (push_item prefixes a "*" to anything that is not a wildcard).
_RULES: list[tuple[str, str | None, str, str]] = [
    ("type", "TXT", "/icons/text.gif", "text/*"),
    ("type", "IMG", "/icons/image2.gif", "image/*"),
    ("type", "SND", "/icons/sound2.gif", "audio/*"),
    ("type", "VID", "/icons/movie.gif", "video/*"),
]
for _icon, _exts in (
    ("/icons/binary.gif", ".bin .exe"),
    ("/icons/binhex.gif", ".hqx"),
    ("/icons/tar.gif", ".tar"),
    ("/icons/world2.gif", ".wrl .wrl.gz .vrml .vrm .iv"),
    ("/icons/compressed.gif", ".Z .z .tgz .gz .zip"),
    ("/icons/a.gif", ".ps .ai .eps"),
    ("/icons/layout.gif", ".html .shtml .htm .pdf"),
    ("/icons/text.gif", ".txt"),
    ("/icons/c.gif", ".c"),
    ("/icons/p.gif", ".pl .py"),
    ("/icons/f.gif", ".for"),
    ("/icons/dvi.gif", ".dvi"),
    ("/icons/uuencoded.gif", ".uu"),
    ("/icons/script.gif", ".conf .sh .shar .csh .ksh .tcl"),
    ("/icons/tex.gif", ".tex"),
    ("/icons/bomb.gif", "/core"),
):
    _RULES += [("path", None, _icon, "*" + e) for e in _exts.split()]
_RULES += [
    ("path", "SND", "/icons/sound2.gif", "*.ogg"),
    ("path", "VID", "/icons/movie.gif", "*.ogm"),
    ("path", None, "/icons/back.gif", "*.."),
    ("path", None, "/icons/hand.right.gif", "*README"),
    ("path", None, "/icons/folder.gif", "*^^DIRECTORY^^"),
    ("path", None, "/icons/blank.gif", "*^^BLANKICON^^"),
]
_RULES += [
    ("path", None, f"/icons/odf6{e}-20x22.png", f"*.{e}")
    for e in "odt ods odp odg odc odf odb odi odm ott ots otp otg otc otf oti oth".split()
]
DEFAULT_ICON = "/icons/unknown.gif"
HEADER_NAME = "HEADER.html"
README_NAME = "README.html"


@functools.cache
def _wildcard(pattern: str) -> re.Pattern[str]:
    """ap_strcmp_match: only "*" and "?" are special."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.S)


_ASCII_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")


def _match(text: bytes, pattern: str, fold: bool = False) -> bool:
    """ap_strcmp_match / ap_strcasecmp_match on C strings.

    Bytes, not characters: "?" eats one byte, so ``.??*`` hides ".é"
    (3 bytes) but shows ".a".  The case-folding variant is apr_tolower in
    the C locale: ASCII only.
    """
    if fold:
        text, pattern = text.translate(_ASCII_LOWER), pattern.lower()
    return _wildcard(pattern).fullmatch(text.decode("latin-1")) is not None


@functools.lru_cache(maxsize=1)
def mime_table() -> dict[str, str]:
    """Extension -> type as mod_mime reads it from ``TypesConfig /etc/mime.types``."""
    table: dict[str, str] = {}
    path = Path("/etc/mime.types")
    if path.exists():
        for line in path.read_text(encoding="latin-1").splitlines():
            # mod_mime skips whole-line comments only; a "#" later is an extension
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            for ext in fields[1:]:
                table[ext.lower()] = fields[0]
    else:  # not Debian: close enough for icons
        table = {k.lstrip(".").lower(): v for k, v in mimetypes.types_map.items()}
    return table


def content_type(name: str) -> str | None:
    """mod_mime find_ct: every extension after the base name is looked up; the last hit wins.

    Since 2.4 leading dots belong to the base name (".c" is a hidden file
    called c, not C source), and extensions are lowercased ASCII-only.
    """
    raw = name_bytes(name)
    stem = raw.lstrip(b".")
    ctype = None
    for ext in stem.split(b".")[1:]:
        if ext:
            ctype = mime_table().get(ext.translate(_ASCII_LOWER).decode("latin-1"), ctype)
    return ctype


def _icon_alt(name: str, is_dir: bool, full_path: str) -> tuple[str, str | None]:
    def find(want_alt: bool, path: str, ctype: str | None, path_only: bool) -> str | None:
        raw = name_bytes(path)
        for kind, alt, icon, pattern in _RULES:
            if want_alt and alt is None:
                continue
            value = alt if want_alt else icon
            if kind == "path" or path.startswith("^"):
                if _match(raw, pattern):
                    return value
            elif not path_only and ctype is not None and _match(ctype.encode(), pattern, fold=True):
                return value
        return None

    if is_dir:
        icon = find(False, full_path, None, True) or find(False, "^^DIRECTORY^^", None, True)
        alt = find(True, full_path, None, True) or find(True, "^^DIRECTORY^^", None, True) or "DIR"
        return icon or DEFAULT_ICON, alt
    ctype = content_type(name)
    return find(False, full_path, ctype, False) or DEFAULT_ICON, find(True, full_path, ctype, False)


def escape_html(raw: bytes) -> bytes:
    return b"".join(_HTML_ESC.get(c, bytes([c])) for c in raw)


def escape_path(raw: bytes) -> bytes:
    """ap_os_escape_path(path, partial=0)."""
    out = b"".join(bytes([c]) if c in _PATH_SAFE else b"%%%02x" % c for c in raw)
    colon, slash = raw.find(b":"), raw.find(b"/")
    if colon >= 0 and (slash < 0 or colon < slash):
        out = b"./" + out
    return out


def _signed(c: int) -> int:
    return c - 256 if c >= 128 else c


def _isspace(c: int) -> bool:
    return c in b" \t\n\v\f\r"


def _isdigit(c: int) -> bool:
    return 48 <= c <= 57


def strnatcmp(a: bytes, b: bytes) -> int:
    """apr_strnatcmp, chars compared signed as on x86 (NUL-terminated semantics)."""
    a0, b0 = a + b"\0", b + b"\0"

    def compare_right(i: int, j: int) -> int:
        bias = 0
        while True:
            ca, cb = a0[i], b0[j]
            if not _isdigit(ca) and not _isdigit(cb):
                return bias
            if not _isdigit(ca):
                return -1
            if not _isdigit(cb):
                return 1
            if ca < cb and not bias:
                bias = -1
            elif ca > cb and not bias:
                bias = 1
            i, j = i + 1, j + 1

    def compare_left(i: int, j: int) -> int:
        while True:
            ca, cb = a0[i], b0[j]
            if not _isdigit(ca) and not _isdigit(cb):
                return 0
            if not _isdigit(ca):
                return -1
            if not _isdigit(cb):
                return 1
            if ca != cb:
                return -1 if ca < cb else 1
            i, j = i + 1, j + 1

    ai = bi = 0
    while True:
        while _isspace(a0[ai]):
            ai += 1
        while _isspace(b0[bi]):
            bi += 1
        ca, cb = a0[ai], b0[bi]
        if _isdigit(ca) and _isdigit(cb):
            fractional = ca == 48 or cb == 48
            result = compare_left(ai, bi) if fractional else compare_right(ai, bi)
            if result:
                return result
        if not ca and not cb:
            return 0
        if _signed(ca) != _signed(cb):
            return -1 if _signed(ca) < _signed(cb) else 1
        ai, bi = ai + 1, bi + 1


def _cmp(a: bytes, b: bytes) -> int:
    r = strnatcmp(a, b)
    return r if r else (a > b) - (a < b)


def strfsize(size: int) -> bytes:
    """apr_strfsize into a 5-byte buffer: 4 columns."""
    if size < 0:
        return b"  - "
    if size < 973:
        return b"%3d " % size
    orders = b"KMGTPE"
    o = 0
    while True:
        remain = size & 1023
        size >>= 10
        if size >= 973:
            o += 1
            continue
        if size < 9 or (size == 9 and remain < 973):
            remain = (remain * 5 + 256) // 512
            if remain >= 10:
                size, remain = size + 1, 0
            return b"%d.%d%c" % (size, remain, orders[o])
        if remain >= 512:
            size += 1
        return b"%3d%c" % (size, orders[o])


def ignored(name: str) -> bool:
    """IndexIgnore, matched on the on-disk bytes."""
    raw = name_bytes(name)
    return any(_match(raw, p) for p in _INDEX_IGNORE)


def _entries(tree: Tree, path: str) -> list[tuple[bytes, Node]]:
    items = [
        (name_bytes(n) + (b"/" if node.is_dir else b""), node)
        for n, node in tree.listdir(path)
        if not ignored(n)
    ]

    def order(x: tuple[bytes, Node], y: tuple[bytes, Node]) -> int:
        return _cmp(x[0], y[0])

    return sorted(items, key=functools.cmp_to_key(order))


def _local(ts: int, gmtoff_minutes: int) -> bytes:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts + gmtoff_minutes * 60)).encode()


def render(
    tree: Tree,
    path: str = "",
    *,
    style: str = "table",
    gmtoff_minutes: int = 0,
    fs_root: str = "/srv",
    uri: bytes | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The listing of directory ``path``; ``style`` is "table", "pre" or "ul".

    ``fs_root`` only matters for icon rules that look at the full path
    (``/core``); ``uri`` is the decoded request path (default ``/path/``).
    """
    if style not in ("table", "pre", "ul"):
        raise ValueError(f"unknown apache index style {style!r}")
    rel = path.strip("/")
    if uri is None:
        uri = b"/" + (name_bytes(rel) + b"/" if rel else b"")
    title = escape_html(uri)
    while len(title) > 1 and title.endswith(b"/"):
        title = title[:-1]
    rows: list[tuple[bytes, bytes, bytes, str, str | None, int | None, int]] = []
    # (href, shown name, width name, icon, alt, mtime or None, size)
    parent = uri.rstrip(b"/").rsplit(b"/", 1)[0] + b"/" if uri.strip(b"/") else None
    if parent is not None:
        rows.append(
            (
                escape_html(escape_path(parent)),
                b"Parent Directory",
                parent,
                "/icons/back.gif",
                "PARENTDIR",
                None,
                -1,
            )
        )
    dir_fs = fs_root.rstrip("/") + ("/" + rel if rel else "")
    for raw, node in _entries(tree, rel):
        name = raw.decode("utf-8", "surrogateescape").rstrip("/")
        icon, alt = _icon_alt(name, node.is_dir, f"{dir_fs}/{name}")
        size = -1 if node.is_dir else node.size
        rows.append((escape_html(escape_path(raw)), raw, raw, icon, alt, node.mtime, size))

    header = _spliced(tree, rel, HEADER_NAME)
    out = [
        _DOCTYPE,
        b"<html>\n <head>\n  <title>Index of " + title + b"</title>\n </head>\n",
        b" <body>\n" + (b"<h1>Index of " + title + b"</h1>\n" if header is None else header),
    ]
    cols = (
        b'<a href="?C=N;O=D">Name</a>',
        b'<a href="?C=M;O=A">Last modified</a>',
        b'<a href="?C=S;O=A">Size</a>',
        b'<a href="?C=D;O=A">Description</a>',
    )
    if style == "table":
        hr = b'   <tr><th colspan="5"><hr></th></tr>\n'
        out.append(
            b'  <table>\n   <tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th>'
            + b"".join(b"<th>" + c + b"</th>" for c in cols)
            + b"</tr>\n"
            + hr
        )
        for href, shown, _w, icon, alt, mtime, size in rows:
            date = (
                b'<td align="right">' + _local(mtime, gmtoff_minutes) + b"  </td>"
                if mtime is not None
                else b"<td>&nbsp;</td>"
            )
            out.append(
                b'<tr><td valign="top"><img src="'
                + icon.encode()
                + b'" alt="['
                + (alt or "   ").encode()
                + b']"></td><td><a href="'
                + href
                + b'">'
                + escape_html(shown)
                + b"</a></td>"
                + date
                + b'<td align="right">'
                + strfsize(size)
                + b"</td><td>&nbsp;</td></tr>\n"
            )
        out.append(hr + b"</table>\n")
    elif style == "pre":
        width = max([23] + [len(w) for _h, _s, w, *_ in rows])
        out.append(
            b'<pre><img src="/icons/blank.gif" alt="Icon "> '
            + cols[0]
            + b" " * (width - 4)
            + b" "
            + cols[1]
            + b"      "
            + cols[2]
            + b"  "
            + cols[3]
            + b"<hr>"
        )
        for href, shown, _w, icon, alt, mtime, size in rows:
            date = _local(mtime, gmtoff_minutes) + b"  " if mtime is not None else b" " * 19
            out.append(
                b'<img src="'
                + icon.encode()
                + b'" alt="['
                + (alt or "   ").encode()
                + b']"> <a href="'
                + href
                + b'">'
                + escape_html(shown)
                + b"</a>"
                + b" " * (width - len(shown))
                + b" "
                + date
                + strfsize(size)
                + b"  \n"
            )
        out.append(b"<hr></pre>\n")
    else:
        out.append(b"<ul>")
        for href, shown, *_ in rows:
            out.append(b'<li><a href="' + href + b'"> ' + escape_html(shown) + b"</a></li>\n")
        out.append(b"</ul>\n")
    readme = _spliced(tree, rel, README_NAME)
    if readme is not None:
        out.append(readme)
    out.append(b"</body></html>\n")
    return b"".join(out), {"Content-Type": CONTENT_TYPE}


def _spliced(tree: Tree, rel: str, name: str) -> bytes | None:
    """HeaderName/ReadmeName: a regular file of that name is sent verbatim inside the page.

    mod_autoindex runs it as a text/html subrequest (the name ends in .html,
    so mod_mime always says html): raw bytes, NULs and all, no escaping; a
    header, even an empty one, replaces the <h1>.  A directory of that name
    is just listed.
    """
    node = tree.lookup(f"{rel}/{name}" if rel else name)
    return node.data if node is not None and not node.is_dir else None


def file_etag(node: Node) -> str:
    """Apache's default ``FileETag MTime Size``: hex size, dash, hex mtime in microseconds."""
    return f'"{node.size:x}-{node.mtime * 1_000_000:x}"'
