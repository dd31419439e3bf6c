"""``partyfuse --ls -r`` against the real servers, over the awkward-name tree.

Every server is a real process (nginx in all six autoindex variants, apache2
in its three styles, lighttpd, python http.server), serving fakes.tree's
awkward_tree() with TZ=UTC+5:30.  --ls must print every file with its exact
size, however rounded the listing was.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from fakes.tree import Tree, awkward_tree
from partyfuse.lscmd import printable, run_ls_url
from tests.support.copyparty import ServerFactory
from tests.support.names import raw_name
from tests.support.ports import free_port
from tests.support.real_servers import GMTOFF_MINUTES, KINDS, RealServerFactory

# (kind, variant) -> how the listing shows times: "gmt", "local" (minute
# precision, server local time read as UTC), "gmt-sec" or "none" (then a
# file's time is its Last-Modified, from the HEAD that gives its size).
TIMES = {
    ("nginx", "html"): "gmt",
    ("nginx", "html-rounded"): "gmt",
    ("nginx", "html-localtime"): "local",
    ("nginx", "html-utf8"): "gmt",
    ("nginx", "json"): "gmt-sec",
    ("nginx", "xml"): "gmt-sec",
    ("apache", "table"): "local",
    ("apache", "pre"): "local",
    ("apache", "ul"): "none",
    ("lighttpd", "dirlisting"): "local-sec",
    ("python", "http.server"): "none",
}
SERVERS = [(k, v) for k, vs in KINDS.items() for v in vs]

# Files a listing shows but the server will not serve, so --ls reports them on
# stderr (the mount's stat would fail with EIO the same way), by HTTP status:
# lighttpd refuses a path with a control character or invalid UTF-8 (400, its
# default server.http-parseopts).  (python http.server only finds an
# undecodable name under the "%ED%B3%BF"-style quoting its listing uses; the
# transport quotes that way for the python dialect, so it is read like the rest.)
# Names as on-disk bytes: see tests/support/names.py.
UNREACHABLE = {
    "lighttpd": {b"tab\tname.txt": "400", b"bad\xff\xfe.bin": "400"},
}


def expected(tree: Tree, times: str) -> dict[str, dict[str, object]]:
    shift = GMTOFF_MINUTES * 60 if times.startswith("local") else 0
    out: dict[str, dict[str, object]] = {}
    for path, node in tree.walk():
        if times in ("gmt", "local"):
            mtime = float(node.mtime - node.mtime % 60 + shift)
        elif times in ("gmt-sec", "local-sec"):
            mtime = float(node.mtime + shift)
        else:
            mtime = 0.0 if node.is_dir else float(node.mtime)
        out[path] = {
            "path": path,
            "type": "dir" if node.is_dir else "file",
            "size": node.size,
            "mtime": mtime,
        }
    return out


@pytest.fixture(scope="module")
def tree() -> Tree:
    return awkward_tree()


@pytest.mark.parametrize(("kind", "variant"), SERVERS, ids=[f"{k}-{v}" for k, v in SERVERS])
def test_ls_recursive_shows_every_file_with_its_exact_size(
    real_server_module: RealServerFactory,
    tree: Tree,
    kind: str,
    variant: str,
) -> None:
    server = real_server_module(kind, tree, variant=variant)
    out, err = io.StringIO(), io.StringIO()
    rc = run_ls_url(server.url("/"), recursive=True, out=out, err=err)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    got = {r["path"]: r for r in rows}
    assert len(got) == len(rows)
    want = expected(tree, TIMES[(kind, variant)])
    refused = {raw_name(n): code for n, code in UNREACHABLE.get(kind, {}).items()}
    for name in refused:
        del want[name]
    assert got == want
    errors = sorted(err.getvalue().splitlines())
    expected_errors = sorted((printable(n), code) for n, code in refused.items())
    assert len(errors) == len(expected_errors)
    for (name, code), line in zip(expected_errors, errors, strict=True):
        assert f"/: {name}: " in line and code in line
    assert rc == (1 if refused else 0)


def test_ls_of_a_dead_server_is_one_clean_line() -> None:
    port = free_port()  # nothing listens there
    out, err = io.StringIO(), io.StringIO()
    rc = run_ls_url(f"http://127.0.0.1:{port}/", out=out, err=err, connect_timeout=2.0)
    assert rc == 1
    assert out.getvalue() == ""
    assert err.getvalue().count("\n") == 1 and "Traceback" not in err.getvalue()


def test_ls_of_a_bad_url_is_one_clean_line() -> None:
    err = io.StringIO()
    assert run_ls_url("ftp://nowhere/", out=io.StringIO(), err=err) == 1
    assert err.getvalue().startswith("partyfuse --ls: ") and err.getvalue().count("\n") == 1


def test_ls_recursive_on_copyparty_gives_exact_sizes_and_seconds(
    copyparty_factory: ServerFactory,
    tree: Tree,
    tmp_path: Path,
) -> None:
    server = copyparty_factory(tree.write_to(tmp_path / "root"))
    out, err = io.StringIO(), io.StringIO()
    rc = run_ls_url(server.url, recursive=True, out=out, err=err)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert (rc, err.getvalue()) == (0, "")
    assert {r["path"]: r for r in rows} == expected(tree, "gmt-sec")
