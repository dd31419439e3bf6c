"""What only nginx does, and the fake nginx does the same: basic auth over a {SHA} htpasswd.

The listings every server shares are compared in test_listing_fidelity.py.
"""

from __future__ import annotations

import base64

from fakes.tree import awkward_tree
from tests.support.fake_servers import FakeServerFactory
from tests.support.real_servers import RealServerFactory

from ._support import fetch

TREE = awkward_tree()


def test_basic_auth_matches_real(
    real_server: RealServerFactory, fake_server: FakeServerFactory
) -> None:
    """nginx auth_basic with a {SHA} htpasswd: 401 without, the same listing with."""
    auth = ("alice", "pass word:é")
    real = real_server("nginx", TREE, variant="html", auth=auth)
    fake = fake_server("nginx", TREE, auth=auth)
    for server in (real, fake):
        denied = fetch(server.url("/"))
        assert denied.status == 401
        assert denied.headers["www-authenticate"].startswith("Basic realm=")
        wrong = fetch(server.url("/"), headers={"Authorization": _basic("alice", "nope")})
        assert wrong.status == 401
    want = fetch(real.url("/"), headers={"Authorization": _basic(*auth)})
    got = fetch(fake.url("/"), headers={"Authorization": _basic(*auth)})
    assert want.status == got.status == 200
    assert got.body == want.body
    ranged = {"Authorization": _basic(*auth), "Range": "bytes=0-3"}
    want = fetch(real.url("/with%20space.txt"), headers=ranged)
    got = fetch(fake.url("/with%20space.txt"), headers=ranged)
    assert (want.status, want.body) == (got.status, got.body) == (206, TREE_FILE[:4])


TREE_FILE = TREE.lookup("with space.txt").data  # type: ignore[union-attr]


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
