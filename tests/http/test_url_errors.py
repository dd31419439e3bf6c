"""Mount-time errors about the URL itself: one line that names the URL and says what is wrong."""

from __future__ import annotations

import io

import pytest

from fakes.tree import Tree
from partyfuse.core.errors import NotFound, ProtocolError
from partyfuse.lscmd import run_ls_url
from tests.support.copyparty import launch
from tests.support.transports import transport

FOLDER_NOT_FILE = "the URL must name a folder, not a file"


def files_tree() -> Tree:
    t = Tree()
    t.add_file("f.txt", b"hello\n")
    t.add_file("p.html", b"<html><body>just a page</body></html>\n")
    t.add_file("blob.bin", b"\0\1\2")
    t.add_dir("d")
    t.add_file("d/x.txt", b"x\n")
    return t


def one_line(e: BaseException) -> str:
    text = str(e)
    assert "\n" not in text and "Traceback" not in text
    return text


SERVERS = [("nginx", "html"), ("nginx", "json"), ("apache", "table"),
           ("lighttpd", "dirlisting"), ("python", "http.server")]  # fmt: skip


@pytest.mark.parametrize(("kind", "variant"), SERVERS, ids=[f"{k}-{v}" for k, v in SERVERS])
@pytest.mark.parametrize("name", ["f.txt", "p.html", "blob.bin", "f.txt/"])
def test_a_file_url_says_it_must_be_a_folder(real_server, kind, variant, name):
    server = real_server(kind, files_tree(), variant=variant)
    url = server.url("/" + name)
    with pytest.raises(NotFound) as e:
        transport(url).check()
    msg = one_line(e.value)
    assert FOLDER_NOT_FILE in msg and server.url("/f.txt" if "f.txt" in name else "/" + name) in msg
    # a folder below the same server still mounts
    t = transport(server.url("/d/"))
    t.check()
    assert [x.name for x in t.list_dir("")] == ["x.txt"]


@pytest.mark.parametrize(("kind", "variant"), [("nginx", "html"), ("python", "http.server")])
def test_a_missing_folder_is_not_called_a_file(real_server, kind, variant):
    server = real_server(kind, files_tree(), variant=variant)
    with pytest.raises(NotFound) as e:
        transport(server.url("/nope/")).check()
    assert FOLDER_NOT_FILE not in one_line(e.value)


@pytest.fixture(scope="module")
def cpp_files(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("cpp-files") / "root"
    files_tree().write_to(root)
    server = launch(tmp_path_factory.mktemp("cpp-run"), root)
    yield server
    server.stop()


@pytest.mark.parametrize("name", ["f.txt", "p.html", "blob.bin"])
def test_a_copyparty_file_url_says_it_must_be_a_folder(cpp_files, name):
    # copyparty answers "f.txt/?ls" with the file itself, not a 404
    url = cpp_files.url + name
    with pytest.raises(NotFound) as e:
        transport(url).check()
    msg = one_line(e.value)
    assert FOLDER_NOT_FILE in msg and url in msg
    t = transport(cpp_files.url + "d/")
    t.check()
    assert [x.name for x in t.list_dir("")] == ["x.txt"]


def test_ls_of_a_file_url_says_it_must_be_a_folder(cpp_files):
    out, err = io.StringIO(), io.StringIO()
    assert run_ls_url(cpp_files.url + "f.txt", out=out, err=err) == 1
    assert out.getvalue() == ""
    assert err.getvalue().count("\n") == 1 and FOLDER_NOT_FILE in err.getvalue()


def test_a_page_that_is_no_listing_names_its_url(httpserver):
    httpserver.expect_request("/").respond_with_data("hello there", content_type="text/plain")
    url = httpserver.url_for("/")
    with pytest.raises(ProtocolError) as e:
        transport(url).check()
    msg = one_line(e.value)
    assert msg.startswith(f"{url}: not a directory listing (")
    assert FOLDER_NOT_FILE not in msg


def test_an_index_page_instead_of_a_listing_names_its_url(real_server):
    tree = files_tree()
    tree.add_dir("site")
    tree.add_file("site/index.html", b"<html><body>welcome</body></html>\n")
    server = real_server("nginx", tree, variant="html")
    url = server.url("/site/")
    with pytest.raises(ProtocolError) as e:
        transport(url).check()
    assert one_line(e.value).startswith(f"{url}: not a directory listing")
