"""Hostile listings through a real mount: one bad entry costs that entry, never its folder.

Before the fix, a folder whose copyparty listing held one size of 1e400 (JSON
reads it as inf) or one time of NaN could not be listed at all (``ls``:
"Input/output error"), a size of 2**64 showed as 0 and a time of 1e300 made
``stat`` fail with EINVAL.  Here ``ls`` works, the honest files read exactly,
and each dropped or clamped entry is logged once, however often it is listed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from fakes.tree import Tree
from tests.support.fake_servers import FakeServerFactory
from tests.support.mounts import Mounter, run_partyfuse

HONEST = {"good.txt": b"hello, honest bytes\n", "other.bin": bytes(range(256)) * 40}
T = 1700000000

# (listing node, a piece of the one warning line it must cause); the JSON is
# spliced as text so that 1e400 and NaN reach the parser as a server sends them
HOSTILE_CPP = [
    ('{"href": "inf.bin", "sz": 1e400, "ts": 1}', "'inf.bin': size inf is past"),
    ('{"href": "huge.bin", "sz": 18446744073709551616, "ts": 1}', "'huge.bin': size"),
    ('{"href": "neg.bin", "sz": -5, "ts": 1}', "'neg.bin': negative size"),
    ('{"href": "nan-time", "sz": 1, "ts": NaN}', "time of 'nan-time': not a number"),
    ('{"href": "far-future", "sz": 1, "ts": 1e300}', "time of 'far-future': 1e+300"),
    ('{"href": "a%2Fb", "sz": 1, "ts": 1}', "'a/b': unsafe name"),
    ('{"href": "%2E%2E", "sz": 1, "ts": 1}', "'..': unsafe name"),
    ('{"href": "nl%0Aname", "sz": 1, "ts": 1}', "'nl\\nname': unsafe name"),
    ('{"href": "nul%00", "sz": 1, "ts": 1}', "'nul\\x00': unsafe name"),
    (
        '{"href": "' + "L" * 300 + '", "sz": 1, "ts": 1}',
        "(300 bytes): unsafe name (longer than 255",
    ),
    ('{"href": "' + "M" * 10_000_000 + '", "sz": 1, "ts": 1}', "(10000000 bytes)"),
    ('{"href": "good.txt", "sz": 3, "ts": 1}', "duplicate name 'good.txt'"),
]
#: entries that stay, clamped: name -> shown mtime
CLAMPED = {"nan-time": 0.0, "far-future": 253402300799.0}


def _cpp_listing() -> str:
    honest = [f'{{"href": "{n}", "sz": {len(d)}, "ts": {T}}}' for n, d in HONEST.items()]
    nodes = honest + [node for node, _ in HOSTILE_CPP]
    return '{"dirs": [], "files": [' + ", ".join(nodes) + '], "acct": "*", "perms": ["read"]}'


@pytest.fixture
def cpp_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0)
    root = {"dirs": [{"href": "sub/", "sz": 0, "ts": T}], "files": [], "perms": ["read"]}
    server.expect_request("/", query_string="ls&dots").respond_with_data(
        json.dumps(root), content_type="application/json"
    )
    server.expect_request("/sub/", query_string="ls&dots").respond_with_data(
        _cpp_listing(), content_type="application/json"
    )
    for name, data in HONEST.items():
        server.expect_request(f"/sub/{name}").respond_with_data(
            data, content_type="application/octet-stream"
        )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_one_bad_entry_costs_that_entry_never_its_folder(
    cpp_server: HTTPServer, mounter: Mounter
) -> None:
    m = mounter(cpp_server.url_for("/"), "-cds", "0.2")
    sub = m.path / "sub"
    names = sorted(os.listdir(sub))
    assert names == sorted([*HONEST, *CLAMPED])
    for name, data in HONEST.items():
        assert (sub / name).read_bytes() == data
        st = os.stat(sub / name)
        assert (st.st_size, st.st_mtime) == (len(data), T)
    for name, mtime in CLAMPED.items():
        assert os.stat(sub / name).st_mtime == mtime
    time.sleep(0.5)  # the listing goes stale and is fetched again: no second warning
    assert sorted(os.listdir(sub)) == names
    assert (sub / "good.txt").read_bytes() == HONEST["good.txt"]
    m.unmount()
    log = m.stderr
    for _, piece in HOSTILE_CPP:
        lines = [ln for ln in log.splitlines() if piece in ln]
        assert len(lines) == 1, (piece, lines)
    assert max(len(ln) for ln in log.splitlines()) < 500  # a 10 MB name logs short
    assert "Traceback" not in log and "EIO" not in log


NGINX_ROWS = [
    ("good.txt", str(len(HONEST["good.txt"]))),
    ("other.bin", str(len(HONEST["other.bin"]))),
    ("a%2Fb", "1"),
    ("%2E%2E", "1"),
    ("esc%1B%5B31m", "1"),
    ("big.bin", str(2**64)),
    ("x" * 256, "1"),
]


def _nginx_page() -> str:
    rows = "".join(
        f'<a href="{href}">{href[:20]}</a>          14-Nov-2023 22:13 {size:>19}\r\n'
        for href, size in NGINX_ROWS
    )
    return (
        "<html>\r\n<head><title>Index of /</title></head>\r\n<body>\r\n"
        '<h1>Index of /</h1><hr><pre><a href="../">../</a>\r\n'
        f"{rows}</pre><hr></body>\r\n</html>\r\n"
    )


@pytest.fixture
def nginx_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/").respond_with_data(_nginx_page(), content_type="text/html")
    for name, data in HONEST.items():
        server.expect_request(f"/{name}").respond_with_data(
            data, content_type="application/octet-stream", headers={"Server": "nginx"}
        )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_hostile_nginx_rows_cost_their_entries_only(
    nginx_server: HTTPServer, mounter: Mounter
) -> None:
    m = mounter(nginx_server.url_for("/"), "--html", "nginx")
    assert sorted(os.listdir(m.path)) == sorted(HONEST)
    for name, data in HONEST.items():
        assert (m.path / name).read_bytes() == data
    m.unmount()
    warnings = [ln for ln in m.stderr.splitlines() if " W " in ln and "dropped entry" in ln]
    assert len(warnings) == 5, warnings
    assert not any(Path(m.path).parent.glob("b")), "no name escaped the mount"


def test_a_root_listing_that_redirects_to_another_host_is_a_one_line_error(
    tmp_path: Path,
) -> None:
    elsewhere = HTTPServer(host="127.0.0.1", port=0)
    elsewhere.expect_request("/").respond_with_data(_nginx_page(), content_type="text/html")
    here = HTTPServer(host="127.0.0.1", port=0)
    elsewhere.start()
    here.start()
    try:
        here.expect_request("/").respond_with_data(
            "", status=301, headers={"Location": elsewhere.url_for("/")}
        )
        r = run_partyfuse([here.url_for("/"), str(tmp_path)])
        assert r.returncode != 0
        errors = [ln for ln in r.stderr.splitlines() if ln.startswith("partyfuse: error:")]
        assert len(errors) == 1 and "redirects to another site" in errors[0], r.stderr
        assert "Traceback" not in r.stderr
        assert elsewhere.log == []
    finally:
        here.stop()
        elsewhere.stop()


def test_deep_nesting_lists_and_reads(fake_server: FakeServerFactory, mounter: Mounter) -> None:
    tree = Tree()
    path = ""
    for i in range(100):
        path += f"level{i:03d}/"
        tree.add_dir(path.rstrip("/"), mtime=T)
    tree.add_file(path + "bottom.txt", b"deep down\n", mtime=T)
    m = mounter(fake_server("nginx", tree).url_for("/"))
    assert (m.path / path / "bottom.txt").read_bytes() == b"deep down\n"
    depth = sum(len(dirs) for _top, dirs, _files in os.walk(m.path))
    assert depth == 100
