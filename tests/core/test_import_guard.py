"""The core stays IO-free: no module under partyfuse/core imports a forbidden module."""

from __future__ import annotations

import ast
from pathlib import Path

import partyfuse.core

FORBIDDEN = {
    "socket", "http", "urllib", "urllib3", "requests", "ssl", "fuse", "mfusepy",
    "threading", "_thread", "time", "asyncio", "concurrent", "subprocess", "select",
    "selectors", "importlib", "multiprocessing",
}  # fmt: skip

CORE = Path(partyfuse.core.__file__).parent


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"__import__", "exec", "eval"}
        ):
            found.append((node.lineno, node.func.id))
    return found


def forbidden_imports(source: str, filename: str) -> list[str]:
    bad = []
    for lineno, name in _imported(ast.parse(source, filename)):
        root = name.split(".")[0]
        if root in FORBIDDEN or name in {"__import__", "exec", "eval"}:
            bad.append(f"{filename}:{lineno}: {name}")
    return bad


def test_core_modules_import_nothing_that_does_io() -> None:
    modules = sorted(CORE.rglob("*.py"))
    assert len(modules) >= 8, modules  # the guard must actually see the core
    bad = [line for path in modules for line in forbidden_imports(path.read_text(), str(path))]
    assert bad == []


def test_guard_catches_every_spelling_of_a_forbidden_import() -> None:
    src = "import os\nimport time\nfrom http.client import X\nimport urllib.parse as u\n"
    src += "from threading import Lock\n__import__('socket')\nfrom . import model\n"
    bad = forbidden_imports(src, "m.py")
    assert [b.split(": ")[1] for b in bad] == [
        "time", "http.client", "urllib.parse", "threading", "__import__",
    ]  # fmt: skip
