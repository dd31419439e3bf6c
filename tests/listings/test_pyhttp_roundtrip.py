"""Python's http.server renders hypothesis trees with its own code; the parser gets them back.

SimpleHTTPRequestHandler.list_directory is called directly (no socket) on a
directory written to a temp dir, so this is the real renderer, not a copy.
"""

from __future__ import annotations

import http.server
import os
import tempfile
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partyfuse.core.listings import parse_listing
from tests.support.listing_cases import names

# the trees it writes have file names of raw bytes, which APFS and NTFS refuse
pytestmark = pytest.mark.linux_only


class _Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, url_path: str) -> None:  # no socket: only list_directory is used
        self.path = url_path
        self.headers_sent: dict[str, str] = {}

    def send_response(self, *args: Any, **kwargs: Any) -> None:
        pass

    def send_header(self, key: str, value: str) -> None:
        self.headers_sent[key] = value

    def end_headers(self) -> None:
        pass


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(names(raw_bytes=True), st.booleans(), max_size=12))
def test_python_http_server_listing_roundtrip(children: dict[str, bool]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = os.fsencode(tmp)
        for name, is_dir in children.items():
            full = os.path.join(base, name.encode("utf-8", "surrogateescape"))
            if is_dir:
                os.mkdir(full)
            else:
                open(full, "wb").close()
        handler = _Handler("/some%20dir/")
        f = handler.list_directory(tmp)
        assert f is not None
        body = f.read()
    listing = parse_listing(body, handler.headers_sent["Content-type"], url_path="/some%20dir/")
    assert listing.dialect == "python"
    assert listing.warnings == []
    assert {e.name: (e.is_dir, e.size, e.mtime) for e in listing.entries} == {
        name: (is_dir, 0 if is_dir else None, 0.0) for name, is_dir in children.items()
    }
