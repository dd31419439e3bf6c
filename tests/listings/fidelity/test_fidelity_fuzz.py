"""Random awkward directories: the fakes' listings equal the real servers' byte for byte.

One real server per variant for the module; each example rewrites the served
directory on disk (nginx and apache2 read it on every request) and compares
the real listing with the renderer's.  Example counts follow the hypothesis
profile (PARTYFUSE_HYPOTHESIS=ci/soak for more).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from fakes import render_apache, render_nginx
from fakes.tree import Tree, tree_strategy
from tests.support.real_servers import GMTOFF_MINUTES, RealServer, RealServerFactory

from ._support import fetch

Render = Callable[[Tree], tuple[bytes, dict[str, str]]]

VARIANTS: dict[tuple[str, str], Render] = {
    ("nginx", "html"): lambda t: render_nginx.render(t, ""),
    ("nginx", "html-rounded"): lambda t: render_nginx.render(t, "", exact_size=False),
    ("nginx", "html-utf8"): lambda t: render_nginx.render(t, "", charset="utf-8"),
    ("nginx", "json"): lambda t: render_nginx.render(t, "", fmt="json"),
    ("nginx", "xml"): lambda t: render_nginx.render(t, "", fmt="xml"),
    ("apache", "table"): lambda t: render_apache.render(t, "", gmtoff_minutes=GMTOFF_MINUTES),
    ("apache", "pre"): lambda t: render_apache.render(
        t, "", style="pre", gmtoff_minutes=GMTOFF_MINUTES
    ),
    ("apache", "ul"): lambda t: render_apache.render(t, "", style="ul"),
}


@pytest.fixture(scope="module", params=sorted(VARIANTS), ids="-".join)
def served(
    request: pytest.FixtureRequest, real_server_module: RealServerFactory
) -> tuple[RealServer, Render]:
    kind, variant = request.param
    return real_server_module(kind, Tree(), variant=variant), VARIANTS[kind, variant]


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
    served: tuple[RealServer, Render], tree: Tree
) -> None:
    server, render = served
    server.replace_tree(tree)
    want = fetch(server.url("/"))
    body, headers = render(tree)
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
