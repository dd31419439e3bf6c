"""The sdist and wheel build, install, and report the one declared version.

Built from a copy of the source (so parallel tox environments do not race on
``build/`` in the work tree) and installed into a fresh venv.  The venv gets
no copies of the dependencies: a ``.pth`` line makes the running interpreter's
site-packages visible *after* the venv's own, so the installed wheel is what
gets imported and the test stays offline and fast.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 240


def declared_version() -> str:
    text = (ROOT / "partyfuse" / "__init__.py").read_text()
    found = re.findall(r'^__version__\s*=\s*"([^"]+)"\s*$', text, re.M)
    assert len(found) == 1, "partyfuse/__init__.py must declare __version__ once"
    return found[0]


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert res.returncode == 0, f"{argv} -> {res.returncode}\n{res.stdout}\n{res.stderr}"
    return res


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist + wheel built by `python -m build` (wheel from the sdist, as pip would)."""
    base = tmp_path_factory.mktemp("pkg")
    src = base / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "LICENSE.txt", "MANIFEST.in"):
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "partyfuse", src / "partyfuse", ignore=shutil.ignore_patterns("__pycache__")
    )
    out = base / "dist"
    run([sys.executable, "-m", "build", "--outdir", str(out), str(src)], cwd=base)
    return out


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the built wheel; dependencies come from outside."""
    env = tmp_path_factory.mktemp("venv") / "v"
    run([sys.executable, "-m", "venv", "--without-pip", str(env)], cwd=env.parent)
    py = venv_exe(env, "python")
    (wheel,) = dist.glob("*.whl")
    run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "-q",
         "--no-deps", "--no-index", "--disable-pip-version-check", str(wheel)],
        cwd=env.parent,
    )  # fmt: skip
    site = run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
               cwd=env.parent).stdout.strip()  # fmt: skip
    outer = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "_partyfuse_test_deps.pth").write_text("\n".join(sorted(outer)) + "\n")
    return env


def venv_exe(env: Path, name: str) -> Path:
    if sys.platform == "win32":
        return env / "Scripts" / f"{name}.exe"
    return env / "bin" / name


def test_sdist_and_wheel_carry_the_version(dist: Path) -> None:
    version = declared_version()
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    assert sdist.name == f"partyfuse-{version}.tar.gz"
    assert wheel.name == f"partyfuse-{version}-py3-none-any.whl"

    names = zipfile.ZipFile(wheel).namelist()
    assert "partyfuse/__init__.py" in names
    assert "partyfuse/core/model.py" in names
    assert "partyfuse/cli.py" in names
    # test helpers and fakes are not part of the installed package
    assert not [n for n in names if n.startswith(("tests/", "fakes/"))]
    meta = zipfile.ZipFile(wheel).read(f"partyfuse-{version}.dist-info/METADATA").decode()
    assert f"\nVersion: {version}\n" in meta
    entry = zipfile.ZipFile(wheel).read(f"partyfuse-{version}.dist-info/entry_points.txt")
    assert "partyfuse = partyfuse.cli:main" in entry.decode()

    with tarfile.open(sdist) as tar:
        members = tar.getnames()
    assert f"partyfuse-{version}/pyproject.toml" in members
    assert f"partyfuse-{version}/partyfuse/__init__.py" in members


def test_installed_wheel_is_what_runs(venv: Path, tmp_path: Path) -> None:
    # cwd is an empty directory: `python -m` would otherwise import the work tree
    res = run(
        [str(venv_exe(venv, "python")), "-c",
         "import importlib.metadata as m, partyfuse; "
         "print(partyfuse.__file__); print(m.version('partyfuse'))"],
        cwd=tmp_path,
    )  # fmt: skip
    where, meta_version = res.stdout.split()
    assert Path(where).resolve().is_relative_to(venv.resolve())
    assert meta_version == declared_version()


def test_console_script_version(venv: Path, tmp_path: Path) -> None:
    res = run([str(venv_exe(venv, "partyfuse")), "--version"], cwd=tmp_path)
    assert declared_version() in (res.stdout + res.stderr).split()


def test_module_version(venv: Path, tmp_path: Path) -> None:
    res = run([str(venv_exe(venv, "python")), "-m", "partyfuse", "--version"], cwd=tmp_path)
    assert declared_version() in (res.stdout + res.stderr).split()


def test_version_declared_once() -> None:
    hits = [
        p
        for p in (ROOT / "partyfuse").rglob("*.py")
        if re.search(r"^__version__\s*=", p.read_text(), re.M)
    ]
    assert hits == [ROOT / "partyfuse" / "__init__.py"]
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert 'version = { attr = "partyfuse.__version__" }' in pyproject
