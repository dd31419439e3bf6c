"""RemoteFS + HttpTransport against a real copyparty, byte for byte."""

from __future__ import annotations

import errno
import os

import pytest

from partyfuse.core.errors import Forbidden, FsError, NotFound
from partyfuse.core.model import Entry
from tests.support.copyparty import NON_UTF8_NAME, PASSWORD, USER, SourceTree
from tests.support.fs import threaded_fs
from tests.support.transports import transport

CHUNKS = [1, 7, 4096, 65536, 131072, 1 << 20, 3 << 20]


def walk(fs, tree: SourceTree, rel: str, expect) -> list[str]:
    """Every file path under ``rel``, asserting each listing matches ``expect(rel)``."""
    local = "/" + rel
    got = {name: attrs for name, attrs in fs.readdir(local) if name not in (".", "..")}
    assert {n: fs.getattr(f"{local.rstrip('/')}/{n}").is_dir for n in got} == expect(rel)
    files = []
    for name in got:
        child = f"{rel}/{name}" if rel else name
        if tree.listing(rel)[name]:
            files += walk(fs, tree, child, expect)
        else:
            files.append(child)
    return files


def read_all(fs, path: str, chunk: int) -> bytes:
    fh = fs.open("/" + path, os.O_RDONLY)
    try:
        out = bytearray()
        while True:
            piece = fs.read("/" + path, chunk, len(out), fh)
            if not piece:
                return bytes(out)
            out += piece
    finally:
        fs.release("/" + path, fh)


def test_every_file_reads_back_exactly_in_many_chunk_sizes(cpp_dots, source_tree):
    fs = threaded_fs(transport(cpp_dots.url))
    files = walk(fs, source_tree, "", source_tree.listing)
    assert sorted(files) == sorted(source_tree.files)
    for path in files:
        data = source_tree.files[path]
        assert fs.getattr("/" + path).size == len(data)
        # every chunk size, as long as a file takes at most ~3000 reads
        sizes = [c for c in CHUNKS if len(data) <= 3000 * c]
        if not path.startswith("sizes/"):
            sizes = [4096]
        for chunk in sizes:
            assert read_all(fs, path, chunk) == data, (path, chunk)


def test_random_offsets_match_the_source(cpp_anon, source_tree):
    t = transport(cpp_anon.url)
    entries = {e.name: e for e in t.list_dir("sizes")}
    data = source_tree.files["sizes/5m.bin"]
    e = entries["5m.bin"]
    for start, end in [(0, 1), (1, 2), (65535, 65537), (len(data) - 1, len(data)),
                       (1 << 20, 3 << 20), (12345, len(data) + 999)]:  # fmt: skip
        assert t.read_range("sizes/5m.bin", start, end, e) == data[start:end]


def test_dotfiles_are_hidden_without_the_dot_permission(cpp_anon, source_tree):
    names = {e.name for e in transport(cpp_anon.url).list_dir("")}
    assert names == set(source_tree.visible(""))
    assert ".hidden-file" not in names


def test_dotfiles_show_when_permitted(cpp_dots, source_tree):
    names = {e.name for e in transport(cpp_dots.url).list_dir("")}
    assert {".hidden-file", ".hidden-dir"} <= names


@pytest.mark.linux_only  # APFS and NTFS refuse a file name of raw bytes
def test_non_utf8_name_round_trips_as_surrogateescape(cpp_anon, source_tree):
    t = transport(cpp_anon.url)
    (entry,) = [e for e in t.list_dir("") if e.name == NON_UTF8_NAME]
    assert entry.name.encode("utf-8", "surrogateescape") == b"latin1-caf\xe9.txt"
    assert t.read_range(entry.name, 0, entry.size, entry) == source_tree.files[NON_UTF8_NAME]


def test_base_url_with_a_path_prefix_mounts_that_folder(cpp_anon, source_tree):
    t = transport(cpp_anon.url + "dir%20with%20space/")
    t.check()
    (entry,) = t.list_dir("")
    assert entry.name == "inner file #1.txt"
    assert (
        t.read_range(entry.name, 0, 100, entry)
        == source_tree.files["dir with space/inner file #1.txt"]
    )
    # typed raw, with a space, the prefix is escaped for us
    assert [e.name for e in transport(cpp_anon.url + "dir with space").list_dir("")] == [entry.name]


def test_missing_paths_are_enoent(cpp_anon):
    fs = threaded_fs(transport(cpp_anon.url))
    with pytest.raises(FsError) as e:
        fs.getattr("/no such file")
    assert e.value.errno == errno.ENOENT
    t = transport(cpp_anon.url)
    with pytest.raises(NotFound):
        t.list_dir("no/such/dir")
    with pytest.raises(NotFound):
        t.read_range("nope.bin", 0, 10, Entry("nope.bin", False, 10, 0.0))


def test_listing_a_file_is_not_found_rather_than_its_content(cpp_anon):
    with pytest.raises(NotFound, match="not a directory"):
        transport(cpp_anon.url).list_dir("sizes/5m.bin")


def test_password_opens_the_volume(cpp_password, source_tree):
    t = transport(cpp_password.url, password=PASSWORD)
    t.check()
    assert {e.name for e in t.list_dir("")} == set(source_tree.listing(""))
    e = next(e for e in t.list_dir("") if e.name == "plain.txt")
    assert t.read_range("plain.txt", 0, e.size, e) == source_tree.files["plain.txt"]


@pytest.mark.parametrize("password", [None, "wrong", f"{USER}:{PASSWORD}"])
def test_wrong_or_missing_password_is_a_clear_error_at_mount(cpp_password, password):
    # copyparty answers an anonymous listing of a protected root with an empty
    # 200, not a 403; check() must still refuse.
    t = transport(cpp_password.url, password=password)
    with pytest.raises(Forbidden) as e:
        t.check()
    msg = str(e.value)
    assert "\n" not in msg and ("password" in msg)
    if password:
        assert password not in msg


def test_wrong_password_reads_are_eacces(cpp_password):
    fs = threaded_fs(transport(cpp_password.url + "sizes/", password="wrong"))
    with pytest.raises(FsError) as e:
        fs.getattr("/one.bin")
    assert e.value.errno in (errno.EACCES, errno.ENOENT)


def test_usernames_take_user_colon_password(cpp_usernames, source_tree):
    t = transport(cpp_usernames.url, password=f"{USER}:{PASSWORD}")
    t.check()
    assert {e.name for e in t.list_dir("")} == set(source_tree.listing(""))
    with pytest.raises(Forbidden):
        transport(cpp_usernames.url, password=PASSWORD).check()
    with pytest.raises(Forbidden):
        transport(cpp_usernames.url, password=f"{USER}:nope").check()


def test_filekeys_from_the_listing_are_used_for_downloads(scratch_server):
    # with fk, copyparty refuses ?raw without the key to users holding only "g"
    server, tree = scratch_server(extra_args=[])
    server.stop()
    tree.write("keyed.txt", b"secret by key\n")
    server.volume_args = ["-v", f"{tree.root}::r:c,fk=8"]
    server.start()
    t = transport(server.url)
    (e,) = t.list_dir("")
    assert e.key and len(e.key) == 8
    assert t.read_range("keyed.txt", 0, e.size, e) == b"secret by key\n"


@pytest.mark.parametrize("dir_ttl", [0.0, 60.0])
def test_replaced_file_reads_the_new_version_never_a_mix(scratch_server, dir_ttl):
    # dir_ttl=60: the listing is still cached, so only If-Range can notice
    server, tree = scratch_server()
    old = os.urandom(3 << 20)
    new = os.urandom(3 << 20)
    tree.write("f.bin", old)
    os.utime(tree.root / "f.bin", (1_600_000_000, 1_600_000_000))
    fs = threaded_fs(transport(server.url), readahead=False, dir_ttl=dir_ttl, file_blocks=4)
    fh = fs.open("/f.bin", os.O_RDONLY)
    assert fs.read("/f.bin", 4096, 0, fh) == old[:4096]  # the old start is now cached
    tree.write("f.bin", new)
    os.utime(tree.root / "f.bin", (1_700_000_000, 1_700_000_000))
    # spans the cached old start and bytes only the new file can give: the
    # handle returned old bytes already, so old bytes or an error, never new ones
    for offset, size in [(0, 2_000_000), (2_500_000, 65536)]:
        try:
            got = fs.read("/f.bin", size, offset, fh)
        except FsError as e:
            assert e.errno == errno.EIO
        else:
            assert got == old[offset : offset + size], "bytes of two versions"
    fs.release("/f.bin", fh)
    # a fresh open meets the new file
    fh = fs.open("/f.bin", os.O_RDONLY)
    assert fs.read("/f.bin", 65536, 2_500_000, fh) == new[2_500_000:2_565_536]
    fs.release("/f.bin", fh)
    assert read_all(fs, "f.bin", 1 << 20) == new


def test_transport_refuses_bytes_of_a_changed_version(scratch_server):
    from partyfuse.core.errors import Changed

    server, tree = scratch_server()
    tree.write("g.bin", b"A" * 5000)
    t = transport(server.url)
    (e,) = t.list_dir("")
    tree.write("g.bin", b"B" * 5000)
    os.utime(tree.root / "g.bin", (e.mtime + 10, e.mtime + 10))
    with pytest.raises(Changed):
        t.read_range("g.bin", 0, 100, e)
    (e2,) = t.list_dir("")
    assert t.read_range("g.bin", 0, 100, e2) == b"B" * 100


def test_server_killed_mid_read_is_eio_then_reads_work_after_restart(scratch_server):
    server, tree = scratch_server()
    data = os.urandom(3 << 20)
    tree.write("big.bin", data)
    t = transport(server.url)
    fs = threaded_fs(t, file_blocks=1)
    fh = fs.open("/big.bin", os.O_RDONLY)
    assert fs.read("/big.bin", 65536, 0, fh) == data[:65536]
    server.kill()
    with pytest.raises(FsError) as e:
        fs.read("/big.bin", 65536, 2 << 20, fh)
    assert e.value.errno == errno.EIO
    server.start(same_port=True)
    assert fs.read("/big.bin", 65536, 2 << 20, fh) == data[2 << 20 :][:65536]
    fs.release("/big.bin", fh)
    assert read_all(fs, "big.bin", 1 << 20) == data


def test_protected_sub_volume_is_403_and_a_clear_error(tmp_path):
    from tests.support.copyparty import CopypartyServer

    pub, priv = tmp_path / "pub", tmp_path / "priv"
    pub.mkdir()
    priv.mkdir()
    (priv / "s.txt").write_bytes(b"secret\n")
    server = CopypartyServer(
        tmp_path / "run",
        ["-a", f"{USER}:{PASSWORD}", "-v", f"{pub}::r", "-v", f"{priv}:priv:r,{USER}"],
    )
    server.start()
    try:
        with pytest.raises(Forbidden, match="password"):
            transport(server.url + "priv/").check()
        with pytest.raises(Forbidden, match="password"):
            transport(server.url + "priv/", password="nope").check()
        t = transport(server.url + "priv/", password=PASSWORD)
        t.check()
        (e,) = t.list_dir("")
        assert t.read_range("s.txt", 0, 100, e) == b"secret\n"
    finally:
        server.stop()


def test_unicode_password(tmp_path):
    from tests.support.copyparty import CopypartyServer

    pw = "pä密🎉"
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "a.txt").write_bytes(b"ok\n")
    server = CopypartyServer(tmp_path / "run", ["-a", f"u:{pw}", "-v", f"{tmp_path / 't'}::r,u"])
    server.start()
    try:
        t = transport(server.url, password=pw)
        t.check()
        (e,) = t.list_dir("")
        assert t.read_range("a.txt", 0, 3, e) == b"ok\n"
        with pytest.raises(Forbidden):
            transport(server.url, password="pä密").check()
    finally:
        server.stop()
