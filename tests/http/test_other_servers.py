"""HttpTransport against real non-copyparty servers: auto-detected listings,
plain downloads (no ?raw), Basic auth on nginx."""

from __future__ import annotations

import errno

import pytest

from fakes.tree import Tree, patterned
from partyfuse.core.errors import Forbidden, FsError
from tests.support.fs import threaded_fs
from tests.support.real_servers import start_real_server
from tests.support.transports import transport


def small_tree() -> Tree:
    t = Tree()
    t.add_file("with space #1.txt", b"hello\n")
    t.add_file("big.bin", patterned(300_000, seed=3))
    t.add_dir("sub dir")
    t.add_file("sub dir/ünï 🎉.txt", b"inner\n")
    return t


@pytest.fixture(scope="module")
def nginx_auth():
    server = start_real_server("nginx", small_tree(), variant="html", auth=("bob", "pa:ss"))
    yield server
    server.stop()


@pytest.mark.parametrize(("kind", "variant"), [("nginx", "json"), ("nginx", "html"),
                                                ("python", "http.server")])  # fmt: skip
def test_auto_detected_listing_and_plain_downloads(real_server, kind, variant):
    tree = small_tree()
    server = real_server(kind, tree, variant=variant)
    t = transport(server.url("/"))
    t.check()
    got = {e.name: e for e in t.list_dir("")}
    assert set(got) == {"with space #1.txt", "big.bin", "sub dir"}
    assert t.dialect not in (None, "cpp", "cpp-html")
    data = tree.lookup("big.bin").data
    e = got["big.bin"]
    size = e.size if e.size is not None else t.probe_size("big.bin", e)
    assert size == len(data)
    e = type(e)(e.name, e.is_dir, size, e.mtime, e.key, e.etag)
    assert t.read_range("big.bin", 1000, 200_000, e) == data[1000:200_000]
    (inner,) = t.list_dir("sub dir")
    assert inner.name == "ünï 🎉.txt"


def test_nginx_basic_auth_works_with_user_colon_password(nginx_auth):
    t = transport(nginx_auth.url("/"), password="bob:pa:ss")
    t.check()
    assert "big.bin" in {e.name for e in t.list_dir("")}


@pytest.mark.parametrize("password", [None, "bob:wrong", "pa:ss"])
def test_nginx_basic_auth_refuses_wrong_passwords_at_mount(nginx_auth, password):
    with pytest.raises(Forbidden) as e:
        transport(nginx_auth.url("/"), password=password).check()
    assert "\n" not in str(e.value)


def test_python_http_server_ignoring_range_reads_large_files_exactly(real_server):
    import os

    tree = Tree()
    data = patterned(3_000_000, seed=9)
    tree.add_file("big.bin", data)
    server = real_server("python", tree)
    fs = threaded_fs(transport(server.url("/")))
    fh = fs.open("/big.bin", os.O_RDONLY)
    for off, size in [(0, 4096), (2_500_000, 131072), (1_000_000, 1), (2_999_999, 10)]:
        assert fs.read("/big.bin", size, off, fh) == data[off : off + size]
    fs.release("/big.bin", fh)


@pytest.mark.parametrize("variant", ["html", "json"])
def test_nginx_file_replaced_under_a_cached_listing_is_never_mixed(real_server, variant):
    import os

    tree = Tree()
    old = patterned(3_000_000, seed=1)
    new = patterned(3_000_000, seed=2)
    tree.add_file("f.bin", old)
    server = real_server("nginx", tree, variant=variant)
    fs = threaded_fs(transport(server.url("/")), readahead=False, dir_ttl=60.0, file_blocks=4)
    fh = fs.open("/f.bin", os.O_RDONLY)
    assert fs.read("/f.bin", 4096, 0, fh) == old[:4096]  # the old start is now cached
    path = server.root / "f.bin"
    tmp = server.root / ".tmp"
    tmp.write_bytes(new)
    os.utime(tmp, (2_000_000_000, 2_000_000_000))
    os.replace(tmp, path)
    # spans the cached old start and bytes only the new file can give: the
    # handle returned old bytes already, so old bytes or an error, never new ones
    try:
        got = fs.read("/f.bin", 2_000_000, 0, fh)
    except FsError as e:
        assert e.errno == errno.EIO
    else:
        assert got == old[:2_000_000], "bytes of two versions"
    fs.release("/f.bin", fh)
    fh = fs.open("/f.bin", os.O_RDONLY)
    assert fs.read("/f.bin", 65536, 2_500_000, fh) == new[2_500_000:2_565_536]
    fs.release("/f.bin", fh)


def non_utf8_tree() -> Tree:
    """Names whose bytes are not UTF-8, as a Linux server may hold them."""
    bad = b"bad\xff\xfe".decode("utf-8", "surrogateescape")
    t = Tree()
    t.add_file(f"{bad}.bin", b"raw bytes name\n")
    t.add_dir(f"dir{bad}")
    t.add_file(f"dir{bad}/in {bad}.txt", b"inner\n")
    return t


# lighttpd refuses undecodable request paths (400) by default, so it is not here.
NON_UTF8_SERVERS = [("python", "http.server"), ("nginx", "html"), ("nginx", "json"),
                    ("apache", "table")]  # fmt: skip


@pytest.mark.parametrize(("kind", "variant"), NON_UTF8_SERVERS)
def test_non_utf8_names_are_fetched_by_the_url_their_listing_used(real_server, kind, variant):
    # python http.server links b"\xff" as "%ED%B3%BF" (quote(errors="surrogatepass"))
    # and unquotes the same way, so "%FF" is a 404 there; the others want "%FF".
    bad = b"bad\xff\xfe".decode("utf-8", "surrogateescape")
    tree = non_utf8_tree()
    server = real_server(kind, tree, variant=variant)
    t = transport(server.url("/"))
    got = {e.name: e for e in t.list_dir("")}
    assert set(got) == {f"{bad}.bin", f"dir{bad}"}
    e = got[f"{bad}.bin"]
    size = e.size if e.size is not None else t.probe_size(e.name, e)
    e = type(e)(e.name, e.is_dir, size, e.mtime, e.key, e.etag)
    assert t.read_range(e.name, 0, 100, e) == b"raw bytes name\n"
    (inner,) = t.list_dir(f"dir{bad}")
    assert inner.name == f"in {bad}.txt"
    path = f"dir{bad}/{inner.name}"
    size = inner.size if inner.size is not None else t.probe_size(path, inner)
    inner = type(inner)(inner.name, False, size, inner.mtime, inner.key, inner.etag)
    assert t.read_range(path, 0, 100, inner) == b"inner\n"
