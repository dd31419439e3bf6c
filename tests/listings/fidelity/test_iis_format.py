"""The IIS renderer reproduces the layout IIS's own source and captured pages show.

IIS cannot run here (see fakes/render_iis.py for the sources); these tests pin
the derived format: widths from dirlist.cxx's PadDirField, the header and
href style of IIS 7+ captures, and showFlags.
"""

from __future__ import annotations

import pytest

from fakes import render_iis
from fakes.tree import Tree

# 2023-09-20 10:11 UTC and 2023-06-15 22:54 UTC
T_DIR, T_FILE = 1695204660, 1686869640


def small_tree() -> Tree:
    tree = Tree()
    tree.add_dir("lro/north", mtime=T_DIR)
    tree.add_file("lro/dgdr.lbl", b"x" * 2809, mtime=T_FILE)
    tree.add_file("lro/Big File.img", b"y" * 12345, mtime=T_FILE)
    return tree


def test_default_flags_layout_matches_captured_iis_pages() -> None:
    body, headers = render_iis.render(small_tree(), "lro", host="pds.example")
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert body == (
        b"<html><head><title>pds.example - /lro/</title></head><body>"
        b"<H1>pds.example - /lro/</H1><hr>\r\n\r\n<pre>"
        b'<A HREF="/">[To Parent Directory]</A><br><br>'
        b' 6/15/2023 10:54 PM        12345 <A HREF="/lro/Big%20File.img">Big File.img</A><br>'
        b' 6/15/2023 10:54 PM         2809 <A HREF="/lro/dgdr.lbl">dgdr.lbl</A><br>'
        b' 9/20/2023 10:11 AM        &lt;dir&gt; <A HREF="/lro/north/">north</A><br>'
        b"</pre><hr></body></html>"
    )


def test_root_has_no_parent_link_and_long_dates_pad_to_29() -> None:
    tree = Tree()
    tree.add_file("a.txt", b"abc", mtime=T_DIR)
    body, _ = render_iis.render(tree, "", flags=render_iis.DEFAULT_FLAGS | render_iis.SHOW_LONGDATE)
    assert b"[To Parent Directory]" not in body
    # "Wednesday, September 20, 2023" is exactly 29 characters: no padding
    assert b'<pre>Wednesday, September 20, 2023 10:11 AM            3 <A HREF="/a.txt">' in body


def test_local_time_and_twelve_hour_clock() -> None:
    tree = Tree()
    tree.add_file("noon.txt", b"", mtime=1577880000)  # 2020-01-01 12:00 UTC
    tree.add_file("night.txt", b"", mtime=1577836800)  # 2020-01-01 00:00 UTC
    body, _ = render_iis.render(tree, "", gmtoff_minutes=-60)
    assert b'12/31/2019 11:00 PM            0 <A HREF="/night.txt">' in body
    assert b' 1/1/2020 11:00 AM            0 <A HREF="/noon.txt">' in body


def test_flags_drop_columns_and_extensions() -> None:
    body, _ = render_iis.render(small_tree(), "lro", flags=render_iis.SHOW_SIZE)
    assert b'<br><br>       12345 <A HREF="/lro/Big%20File.img">Big File</A><br>' in body
    assert b"PM" not in body


def test_hrefs_are_absolute_and_utf8_percent_encoded() -> None:
    tree = Tree()
    tree.add_file("东南/手冊 & más.txt", b"z")
    body, _ = render_iis.render(tree, "东南")
    assert b'<A HREF="/%E4%B8%9C%E5%8D%97/">[To Parent Directory]</A>' not in body  # parent is "/"
    assert b'<A HREF="/">[To Parent Directory]</A>' in body
    assert (
        '<A HREF="/%E4%B8%9C%E5%8D%97/%E6%89%8B%E5%86%8A%20%26%20m%C3%A1s.txt">'
        "手冊 &amp; más.txt</A>"
    ).encode() in body
    assert "<title>localhost - /东南/</title>".encode() in body


@pytest.mark.parametrize("name", ["a<b", "q?", "c:d", "tab\tx", "trail.", "bad\udcff"])
def test_names_windows_cannot_hold_are_refused(name: str) -> None:
    assert not render_iis.can_serve(name)
    tree = Tree()
    tree.add_file(name, b"")
    with pytest.raises(ValueError, match="IIS cannot serve"):
        render_iis.render(tree, "")


def test_etag_is_filetime_hex() -> None:
    tree = small_tree()
    node = tree.lookup("lro/dgdr.lbl")
    assert node is not None
    assert render_iis.file_etag(node) == f'"{(T_FILE + 11644473600) * 10**7:x}:0"'


def test_zh_cn_locale_matches_the_captured_column_layout() -> None:
    """A zh-CN IIS (share.qclt.com capture): "yyyy/M/d" padded to 10, "H:mm" to 8."""
    tree = Tree()
    tree.add_dir("手册/新", mtime=1292946960)  # 2010-12-21 15:56 UTC
    body, _ = render_iis.render(tree, "手册", locale="zh-CN")
    assert b"<br><br>2010/12/21    15:56        &lt;dir&gt; <A HREF=" in body
    assert b'<A HREF="/%E6%89%8B%E5%86%8C/%E6%96%B0/">' in body


def test_de_de_locale() -> None:
    tree = Tree()
    tree.add_file("a.txt", b"12", mtime=1577836800)
    body, _ = render_iis.render(tree, "", locale="de-DE", flags=render_iis.DEFAULT_FLAGS | 32)
    # 24-character date right-aligned in 29, time in 8, size in 12, one space after each
    assert b"<pre>     Mittwoch, 1. Januar 2020    00:00            2 <A" in body
    with pytest.raises(ValueError, match="locale"):
        render_iis.render(tree, "", locale="xx-XX")
