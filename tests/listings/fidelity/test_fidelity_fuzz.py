"""Random awkward directories: the fakes' listings equal the real servers' byte for byte.

One real server per variant for the module; each example rewrites the served
directory on disk (nginx and apache2 read it on every request) and compares
the real listing with the renderer's.  Example counts follow the hypothesis
profile (PARTYFUSE_HYPOTHESIS=ci/soak for more).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from fakes.tree import Tree, tree_strategy
from tests.support.real_servers import RealServer, RealServerFactory

from ._support import FAKE_OPTIONS, fetch, render_like

# the eight variants the cap below is sized for (nginx's localtime one is not fuzzed)
VARIANTS = sorted(k for k in FAKE_OPTIONS if k != ("nginx", "html-localtime"))


@pytest.fixture(scope="module", params=VARIANTS, ids="-".join)
def served(
    request: pytest.FixtureRequest, real_server_module: RealServerFactory
) -> tuple[RealServer, tuple[str, str]]:
    kind, variant = request.param
    return real_server_module(kind, Tree(), variant=variant), (kind, variant)


# every example rewrites a directory and asks a real server: cap the ci profile
# (8 variants x 300 would be ~2 minutes); soak runs get the full count
# settings() inherits the loaded profile (settings.default is typed Optional)
EXAMPLES = settings().max_examples
if os.environ.get("PARTYFUSE_HYPOTHESIS") != "soak":
    EXAMPLES = min(EXAMPLES, 100)


@settings(
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tree=tree_strategy())
def test_random_directories_render_like_the_real_server(
    served: tuple[RealServer, tuple[str, str]], tree: Tree
) -> None:
    server, (kind, variant) = served
    server.replace_tree(tree)
    want = fetch(server.url("/"))
    body, headers = render_like(kind, variant, tree)
    assert want.status == 200
    assert body == want.body, _diff(want.body, body)
    assert headers["Content-Type"] == want.headers["content-type"]


def _diff(want: bytes, got: bytes) -> Any:
    import difflib

    return "\n".join(
        difflib.unified_diff(
            want.decode("utf-8", "replace").splitlines(),
            got.decode("utf-8", "replace").splitlines(),
            "real",
            "fake",
            lineterm="",
            n=0,
        )
    )
