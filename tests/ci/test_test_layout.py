"""How the suite is put together: shared code in tests/support/, fixtures as plugins.

No test module (or conftest) imports another test module or a conftest, and none
imports a fixture by name: tests/conftest.py registers the fixture modules of
tests/support/ once in ``pytest_plugins``.  A name import of a fixture shadows
the test argument of the same name (what ``noqa: F811`` hid) and makes one test
package depend on another's layout.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"


def plugin_modules() -> list[str]:
    """The modules tests/conftest.py registers as plugins."""
    tree = ast.parse((TESTS / "conftest.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytest_plugins" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    return []


def _is_fixture(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Attribute) and target.attr == "fixture"


def fixtures_of(module: str) -> set[str]:
    """Names of the functions ``module`` (a file under tests/) decorates as fixtures."""
    path = ROOT.joinpath(*module.split(".")).with_suffix(".py")
    return {
        node.name
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef) and any(map(_is_fixture, node.decorator_list))
    }


def wrong_imports(module: str, source: str, fixtures: dict[str, set[str]]) -> list[str]:
    """What module ``module`` (of this source) imports that it should not: test
    modules, conftests, fixtures by name (``fixtures``: plugin module -> its fixtures)."""
    package = module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom):
            continue
        target = node.module or ""
        if node.level:  # relative: resolve against the module's package
            base = package.rsplit(".", node.level - 1)[0]
            target = f"{base}.{target}" if target else base
        last = target.rsplit(".", 1)[-1]
        if target.startswith("tests.") and (last.startswith("test_") or last == "conftest"):
            found.append(f"imports {target}")
        for alias in node.names:
            if alias.name == "*" and target in fixtures:
                found.append(f"imports * from {target}")
            elif alias.name in fixtures.get(target, ()):
                found.append(f"imports the fixture {alias.name} from {target}")
    return found


def fixtures_by_plugin() -> dict[str, set[str]]:
    return {module: fixtures_of(module) for module in plugin_modules()}


def test_the_fixture_modules_are_plugins_with_fixtures() -> None:
    modules = plugin_modules()
    assert "tests.support.real_servers" in modules  # the linux_only marking keys on it
    assert all(fixtures_of(m) for m in modules), modules


def test_no_test_module_imports_another_or_a_fixture() -> None:
    fixtures = fixtures_by_plugin()
    found = {}
    for path in sorted(TESTS.rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        why = wrong_imports(module, path.read_text(), fixtures)
        if why:
            found[str(path.relative_to(ROOT))] = why
    assert found == {}


@pytest.mark.parametrize(
    ("source", "wrong"),
    [
        ("from tests.mount.test_other_servers import x\n", 1),
        ("from tests.mount.conftest import Mounter\n", 1),
        ("from .test_nginx_fidelity import TREE\n", 1),
        ("from tests.support.real_servers import RealServerFactory, real_server\n", 1),
        ("from tests.support.copyparty import *\n", 1),
        ("from tests.support.real_servers import RealServerFactory\n", 0),
        ("from ._support import fetch\nfrom tests.support.mounts import Mounter\n", 0),
    ],
)
def test_the_scan_tells_wrong_imports_from_right_ones(source: str, wrong: int) -> None:
    module = "tests.listings.fidelity.test_example"
    assert len(wrong_imports(module, source, fixtures_by_plugin())) == wrong
