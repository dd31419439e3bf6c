"""What only apache2 does, and the fake Apache does the same: IndexIgnore, dotfiles, splices.

The listings every server shares are compared in test_listing_fidelity.py.
"""

from __future__ import annotations

import pytest

from fakes.tree import Tree, awkward_tree
from tests.support.fake_servers import FakeServerFactory
from tests.support.names import raw_name
from tests.support.real_servers import APACHE_VARIANTS, RealServerFactory

from ._support import dir_url, fetch, render_like


def test_index_ignore_hides_what_debian_hides(
    real_server: RealServerFactory, fake_server: FakeServerFactory
) -> None:
    """IndexIgnore .??* *~ *# RCS CVS *,v *,t: both servers drop the same names."""
    tree = awkward_tree()
    for name in (".hidden", ".x", "backup~", "note#", "RCS", "v1,v", "keep.txt"):
        tree.add_file(name, b"x")
    real = real_server("apache", tree, variant="ul")
    fake = fake_server("apache", tree, style="ul")
    want, got = fetch(real.url("/")), fetch(fake.url("/"))
    assert got.body == want.body
    for hidden in (b".hidden", b"backup~", b"note#", b"RCS", b"v1,v"):
        assert b"> " + hidden + b"</a>" not in want.body
    assert b"> .x</a>" in want.body and b"> keep.txt</a>" in want.body


# ".??*" counts bytes, not characters: ".\u0080" and ".é" are three bytes
# long and hidden, ".a" is two and shown.  mod_mime (2.4) takes leading dots
# as part of the base name, so ".c" has no type: c.gif by path rule, no alt.
DOTFILES = (".a", ".c", ".z", ".Z", ".gz", ".\u0080", ".é")


@pytest.mark.parametrize("variant", APACHE_VARIANTS)
def test_dotfiles_are_hidden_and_typed_like_apache(
    real_server: RealServerFactory, variant: str
) -> None:
    tree = Tree()
    for name in (*DOTFILES, raw_name(b".\xff")):
        tree.add_file(name, b"x")
    tree.add_dir(".d")
    real = real_server("apache", tree, variant=variant)
    want = fetch(real.url("/"))
    body, _ = render_like("apache", variant, tree)
    assert body == want.body
    assert b">.c</a>" in want.body or b"> .c</a>" in want.body
    assert b"%c2%80" not in want.body


@pytest.mark.parametrize("variant", APACHE_VARIANTS)
def test_header_and_readme_files_are_spliced_into_the_listing(
    real_server: RealServerFactory, variant: str
) -> None:
    """Debian's HeaderName HEADER.html / ReadmeName README.html: raw bytes, no <h1>."""
    tree = Tree()
    tree.add_file("HEADER.html", b"")  # empty, yet it still replaces the <h1>
    tree.add_dir("README.html")  # a directory is listed, never spliced
    tree.add_file("sub/HEADER.html", b'\x00<a href="x.txt">x</a>\n')
    tree.add_file("sub/README.html", b"<r>&\xff")
    tree.add_file("sub/x.txt", b"x")
    real = real_server("apache", tree, variant=variant)
    for path in ("", "sub", "README.html"):
        want = fetch(real.url(dir_url(path)))
        body, _ = render_like("apache", variant, tree, path)
        assert body == want.body, path
    assert b"<h1>" not in fetch(real.url("/")).body
    assert b"<r>&\xff</body></html>\n" in fetch(real.url("/sub/")).body
