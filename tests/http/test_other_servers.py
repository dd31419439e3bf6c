"""HttpTransport against real non-copyparty servers: auto-detected listings,
plain downloads (no ?raw), Basic auth on nginx."""

from __future__ import annotations

import pytest

from fakes.tree import Tree, patterned
from partyfuse.core.errors import Forbidden
from tests.support.real_servers import start_real_server

from .helpers import transport


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
