"""Fake nginx / Apache / IIS servers on pytest-httpserver (werkzeug), serving a Tree.

Listings come from the renderers (byte-identical to the real servers, see
tests/listings/fidelity/); files answer GET/HEAD with single byte ranges the
way each product does.  Differences kept from the real servers:

* nginx: a 206 carries no Accept-Ranges (a 200 does); 416 has
  ``Content-Range: bytes */SIZE``; ETag is ``"hexmtime-hexsize"``.
* Apache: Accept-Ranges on 200 and 206; its 416 has *no* Content-Range;
  ETag is ``"hexsize-hexmtime_usec"``; a file without a known type gets no
  Content-Type.
* IIS: Accept-Ranges everywhere; ETag ``"hexFILETIME:0"``.
* copyparty: only its JSON listing (what partyfuse asks for, ``dir/?ls``;
  a folder without ``?ls`` gets the same JSON, not copyparty's HTML page);
  ``?raw`` and ``k=`` are ignored, files are served as by the others.

Misbehaviour is switched per server, at any time, from the test thread:
``ignore_range`` (200 with the whole body), ``range_past_eof_416`` (a range
running past EOF is refused instead of clamped), ``refuse_head`` (405),
``fail_next(n, status, path)`` (an error status for the next n requests, of
``path`` only when given), ``drop_next(n)`` (close the connection without
answering the next n requests),
``short_body`` (drop the last n bytes of file bodies but keep the
Content-Length, then close), ``shift_range`` (a 206 for bytes shifted by n,
labelled honestly in its Content-Range: not the range that was asked for),
``stall`` (read each request and never answer, until the client hangs up;
``stalled`` counts them).

If-Range is honoured (strong ETag, or a date equal to Last-Modified; a
failed validator gets the whole file with 200), as nginx and Apache do.
Not faked: multi-range requests (answered 200 with the whole file, which
RFC 9110 allows), If-None-Match / If-Modified-Since (no 304s).
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote_from_bytes, unquote_to_bytes

from pytest_httpserver.httpserver import HTTPServerBase
from werkzeug import Request, Response
from werkzeug.serving import WSGIRequestHandler, make_server

from . import render_apache, render_iis, render_nginx
from .tree import Node, Tree, name_bytes

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_NGINX_TYPES = {
    "txt": "text/plain",
    "html": "text/html",
    "htm": "text/html",
    "json": "application/json",
    "xml": "text/xml",
    "png": "image/png",
    "jpg": "image/jpeg",
    "gz": "application/octet-stream",
}


@dataclass(frozen=True)
class Seen:
    """One request as the fake saw it (for assertions on what a client sent)."""

    method: str
    path: str
    range: str | None
    status: int


class FakeServer(HTTPServerBase):
    """Base class: routing, auth, ranges, misbehaviour; subclasses set the dialect."""

    server_header = "fake"
    accept_ranges_on_206 = True
    content_range_on_416 = True

    def __init__(
        self,
        tree: Tree,
        *,
        auth: tuple[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port, threaded=True)
        self.tree = tree
        self.auth = auth
        self.ignore_range = False
        self.range_past_eof_416 = False
        self.refuse_head = False
        self.short_body = 0
        self.seen: list[Seen] = []
        self.shift_range = 0
        self.stall = False
        self.stalled = 0
        self._fail_left = 0
        self._drop_left = 0
        self._fail_status = 503
        self._fail_path: str | None = None
        self._lock = threading.Lock()

    # -- lifecycle --------------------------------------------------------
    def start(self) -> None:
        """Like the base class, but the Server header is the product's, not Werkzeug's."""
        product = self.server_header

        class Handler(WSGIRequestHandler):
            def version_string(self) -> str:
                return product

            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                pass  # one stderr line per request slows benchmarks and floods logs

        self.server = make_server(
            self.host,
            self.port,
            Request.application(self.application),
            request_handler=Handler,
            threaded=True,
        )
        self.port = self.server.port
        self.server_thread = threading.Thread(target=self.thread_target, daemon=True)
        self.server_thread.start()

    def __enter__(self) -> FakeServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.is_running():
            self.stop()

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.05)  # stop() waits one poll: keep it short

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def fail_next(self, count: int, status: int = 503, path: str | None = None) -> None:
        with self._lock:
            self._fail_left, self._fail_status, self._fail_path = count, status, path

    def drop_next(self, count: int) -> None:
        with self._lock:
            self._drop_left = count

    # -- what subclasses provide -----------------------------------------
    def render_listing(self, path: str, host: str) -> tuple[bytes, dict[str, str]]:
        raise NotImplementedError

    def file_headers(self, name: str, node: Node) -> dict[str, str]:
        return {"Last-Modified": render_nginx.http_date(node.mtime)}

    def error_body(self, status: int) -> bytes:
        return b"<html><body><h1>%d</h1></body></html>\n" % status

    # -- dispatch ---------------------------------------------------------
    def application(self, request: Request) -> Response:
        # The base class keeps every (request, response) in self.log: a
        # benchmark streaming gigabytes would keep them all; we keep Seen only.
        return self.dispatch(request)

    def dispatch(self, request: Request) -> Response:
        response = self._respond(request)
        with self._lock:
            self.seen.append(
                Seen(
                    request.method,
                    request.environ.get("RAW_URI", request.path),
                    request.headers.get("Range"),
                    response.status_code,
                )
            )
        return response

    def _error(self, status: int, headers: dict[str, str] | None = None) -> Response:
        resp = Response(self.error_body(status), status=status, content_type="text/html")
        for k, v in (headers or {}).items():
            resp.headers[k] = v
        return resp

    def _respond(self, request: Request) -> Response:
        with self._lock:
            drop = self._drop_left > 0
            self._drop_left -= drop
            failing = self._fail_path in (None, request.path)
            if not drop and failing and self._fail_left > 0:
                self._fail_left -= 1
                return self._error(self._fail_status)
        sock = request.environ.get("werkzeug.socket")
        if drop and sock is not None:
            sock.shutdown(socket.SHUT_RDWR)  # the client sees EOF instead of a status line
        if self.stall and sock is not None:
            with self._lock:
                self.stalled += 1
            try:
                while sock.recv(4096):  # until the client gives up
                    pass
            except OSError:
                pass
        if drop or self.stall:
            return Response(b"", status=500)  # nobody reads it: the connection is gone
        if self.auth is not None and not self._authorized(request):
            return self._error(401, {"WWW-Authenticate": 'Basic realm="fake"'})
        if request.method not in ("GET", "HEAD"):
            return self._error(405)
        if request.method == "HEAD" and self.refuse_head:
            return self._error(405)
        raw_uri = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or "/"
        raw_path = unquote_to_bytes(raw_uri.split("?", 1)[0])
        path = raw_path.decode("utf-8", "surrogateescape")
        node = self.tree.lookup(path)
        if node is None or (not node.is_dir and path.endswith("/")):
            return self._error(404)
        if node.is_dir:
            if not path.endswith("/"):
                return self._error(301, {"Location": self.url(raw_uri.split("?", 1)[0] + "/")})
            body, headers = self.render_listing(path.strip("/"), request.host.split(":")[0])
            return Response(body, status=200, headers=headers)
        return self._file(request, path.rsplit("/", 1)[-1], node)

    def _authorized(self, request: Request) -> bool:
        assert self.auth is not None
        header = request.headers.get("Authorization", "")
        expected = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
        return header == f"Basic {expected}"

    @staticmethod
    def _if_range_holds(if_range: str | None, headers: dict[str, str]) -> bool:
        """Strong ETag equality, or a date equal to Last-Modified (nginx and Apache alike)."""
        if if_range is None:
            return True
        if if_range.startswith(('"', "W/")):
            return not if_range.startswith("W/") and if_range == headers.get("ETag")
        try:
            return parsedate_to_datetime(if_range) == parsedate_to_datetime(
                headers.get("Last-Modified", "")
            )
        except (TypeError, ValueError):
            return False

    def _file(self, request: Request, name: str, node: Node) -> Response:
        data = node.data
        size = len(data)
        headers = self.file_headers(name, node)
        status, body = 200, data
        spec = request.headers.get("Range")
        match = _RANGE.fullmatch(spec.strip()) if spec and not self.ignore_range else None
        if match and not self._if_range_holds(request.headers.get("If-Range"), headers):
            match = None  # RFC 9110 13.1.5: the validator failed, send the whole file
        if match and (match.group(1) or match.group(2)):
            first, last = match.group(1), match.group(2)
            if first:
                start, end = int(first), int(last) if last else size - 1
            else:
                start, end = max(0, size - int(last)), size - 1
            if (
                (last and first and end < start)
                or start >= size
                or (self.range_past_eof_416 and end >= size)
            ):
                extra = {"Content-Range": f"bytes */{size}"} if self.content_range_on_416 else {}
                return self._error(416, extra)
            end = min(end, size - 1)
            if self.shift_range:
                start = min(max(0, start + self.shift_range), size - 1)
                end = min(max(start, end + self.shift_range), size - 1)
            status, body = 206, data[start : end + 1]
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        if status == 200 or self.accept_ranges_on_206:
            headers["Accept-Ranges"] = "bytes"
        length = len(body)
        if self.short_body and request.method == "GET":
            body = body[: max(0, len(body) - self.short_body)]
            headers["Connection"] = "close"
        resp = Response(body, status=status)
        if "Content-Type" not in headers:
            del resp.headers["Content-Type"]
        for k, v in headers.items():
            resp.headers[k] = v
        resp.headers["Content-Length"] = str(length)
        return resp


class FakeNginx(FakeServer):
    """nginx 1.22 autoindex; ``fmt`` is "html", "json" or "xml"."""

    server_header = render_nginx.SERVER
    accept_ranges_on_206 = False

    def __init__(
        self,
        tree: Tree,
        *,
        fmt: str = "html",
        exact_size: bool = True,
        localtime: bool = False,
        gmtoff_minutes: int = 0,
        charset: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(tree, **kw)
        self.fmt = fmt
        self.html_options: dict[str, Any] = {}
        if fmt == "html":
            self.html_options = dict(
                exact_size=exact_size,
                localtime=localtime,
                gmtoff_minutes=gmtoff_minutes,
                charset=charset,
            )

    def render_listing(self, path: str, host: str) -> tuple[bytes, dict[str, str]]:
        return render_nginx.render(self.tree, path, fmt=self.fmt, **self.html_options)

    def file_headers(self, name: str, node: Node) -> dict[str, str]:
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        return {
            "Content-Type": _NGINX_TYPES.get(ext, "application/octet-stream"),
            "Last-Modified": render_nginx.http_date(node.mtime),
            "ETag": render_nginx.file_etag(node),
        }

    def error_body(self, status: int) -> bytes:
        title = f"{status} {_REASONS.get(status, 'Error')}"
        return (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>{self.server_header}"
            "</center>\r\n</body>\r\n</html>\r\n"
        ).encode()


class FakeApache(FakeServer):
    """Apache 2.4 mod_autoindex with Debian's defaults; ``style`` "table", "pre" or "ul"."""

    server_header = render_apache.SERVER
    content_range_on_416 = False

    def __init__(
        self, tree: Tree, *, style: str = "table", gmtoff_minutes: int = 0, **kw: Any
    ) -> None:
        super().__init__(tree, **kw)
        self.style = style
        self.gmtoff_minutes = gmtoff_minutes

    def render_listing(self, path: str, host: str) -> tuple[bytes, dict[str, str]]:
        return render_apache.render(
            self.tree, path, style=self.style, gmtoff_minutes=self.gmtoff_minutes
        )

    def file_headers(self, name: str, node: Node) -> dict[str, str]:
        headers = {
            "Last-Modified": render_nginx.http_date(node.mtime),
            "ETag": render_apache.file_etag(node),
        }
        ctype = render_apache.content_type(name)
        if ctype:
            headers["Content-Type"] = ctype
        return headers


class FakeIIS(FakeServer):
    """IIS 10 directory browsing; ``flags`` are showFlags (LongDate = 32)."""

    server_header = render_iis.SERVER

    def __init__(
        self,
        tree: Tree,
        *,
        flags: int = render_iis.DEFAULT_FLAGS,
        gmtoff_minutes: int = 0,
        locale: str = "en-US",
        **kw: Any,
    ) -> None:
        super().__init__(tree, **kw)
        self.flags = flags
        self.gmtoff_minutes = gmtoff_minutes
        self.locale = locale

    def render_listing(self, path: str, host: str) -> tuple[bytes, dict[str, str]]:
        return render_iis.render(
            self.tree,
            path,
            flags=self.flags,
            host=host,
            gmtoff_minutes=self.gmtoff_minutes,
            locale=self.locale,
        )

    def file_headers(self, name: str, node: Node) -> dict[str, str]:
        return {
            "Content-Type": "application/octet-stream",
            "Last-Modified": render_nginx.http_date(node.mtime),
            "ETag": render_iis.file_etag(node),
        }


class FakeCopyparty(FakeServer):
    """copyparty's JSON folder listing (``?ls``): the listing partyfuse reads from copyparty."""

    server_header = "copyparty"

    def render_listing(self, path: str, host: str) -> tuple[bytes, dict[str, str]]:
        doc: dict[str, list[dict[str, Any]]] = {"dirs": [], "files": []}
        for name, node in sorted(self.tree.listdir(path)):
            href = quote_from_bytes(name_bytes(name))
            if node.is_dir:
                doc["dirs"].append({"href": href + "/", "sz": 0, "ts": node.mtime})
            else:
                doc["files"].append({"href": href, "sz": node.size, "ts": node.mtime})
        return json.dumps(doc).encode(), {"Content-Type": "application/json"}


_REASONS = {
    301: "Moved Permanently",
    401: "Authorization Required",
    404: "Not Found",
    405: "Not Allowed",
    416: "Requested Range Not Satisfiable",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
}

KINDS: dict[str, Callable[..., FakeServer]] = {
    "nginx": FakeNginx,
    "apache": FakeApache,
    "iis": FakeIIS,
    "cpp": FakeCopyparty,
}
