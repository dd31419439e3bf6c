"""The sdist and wheel build, install, and report the one declared version.

Built from a copy of the source (so parallel tox environments do not race on
``build/`` in the work tree) and installed into a fresh venv.  The venv gets
no copies of the dependencies: a ``.pth`` line makes the running interpreter's
site-packages visible *after* the venv's own, so the installed wheel is what
gets imported and the test stays offline and fast.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
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


def run(
    argv: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False, env=env
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


def fresh_venv(env: Path) -> Path:
    """A venv without pip (pip runs from outside with --python)."""
    run([sys.executable, "-m", "venv", "--without-pip", str(env)], cwd=env.parent)
    return env


def see_outer_packages(env: Path) -> None:
    """Let ``env`` import this interpreter's packages after its own (a .pth line), so what
    was installed into it is what runs and its dependencies need no download.  Only after
    installing: pip would otherwise find those packages "already satisfied"."""
    py = venv_exe(env, "python")
    site = run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
               cwd=env.parent).stdout.strip()  # fmt: skip
    outer = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "_partyfuse_test_deps.pth").write_text("\n".join(sorted(outer)) + "\n")


def pip_install(env: Path, *wheels: Path) -> None:
    """One pip call, offline, no dependencies: the wheels given and nothing else."""
    run(
        [sys.executable, "-m", "pip", "--python", str(venv_exe(env, "python")), "install", "-q",
         "--no-deps", "--no-index", "--disable-pip-version-check", *map(str, wheels)],
        cwd=env.parent,
    )  # fmt: skip


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the built wheel; dependencies come from outside."""
    env = fresh_venv(tmp_path_factory.mktemp("venv") / "v")
    (wheel,) = dist.glob("*.whl")
    pip_install(env, wheel)
    see_outer_packages(env)
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
    assert "pfuse = partyfuse.cli:main_noting_shadow" in entry.decode()

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


# -- the "partyfuse" command: copyparty installs one too ----------------------------------


def repack_installed(name: str, out: Path) -> Path:
    """A wheel of the installed distribution ``name`` (files, metadata, entry points), so a
    fresh venv can get the real copyparty with its own ``partyfuse`` script offline."""
    dist = importlib.metadata.distribution(name)
    version = dist.version
    info = f"{name}-{version}.dist-info"
    wheel = out / f"{name}-{version}-py3-none-any.whl"
    out.mkdir(parents=True, exist_ok=True)
    record: list[str] = []
    with zipfile.ZipFile(wheel, "w") as zf:
        for f in dist.files or []:
            arc = f.as_posix()
            if arc.startswith("..") or "__pycache__" in arc or arc.endswith(".pyc"):
                continue  # the scripts are made again from entry_points.txt
            if arc in (f"{info}/RECORD", f"{info}/INSTALLER", f"{info}/direct_url.json"):
                continue
            data = Path(str(f.locate())).read_bytes()
            zf.writestr(arc, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{arc},sha256={digest.decode()},{len(data)}")
        record.append(f"{info}/RECORD,,")
        zf.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel


@pytest.fixture(scope="module")
def wheels(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    (ours,) = dist.glob("*.whl")
    return {"ours": ours, "copyparty": repack_installed("copyparty", tmp_path_factory.mktemp("w"))}


def activated(env: Path) -> dict[str, str]:
    """The environment variables of a shell that activated ``env`` (its scripts first on PATH)."""
    scripts = str(venv_exe(env, "python").parent)
    return dict(os.environ, PATH=scripts + os.pathsep + os.environ.get("PATH", ""))


def version_of(env: Path, command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run([str(venv_exe(env, command)), "--version"], cwd=cwd, env=activated(env))


def module_version(env: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    argv = [str(venv_exe(env, "python")), "-m", "partyfuse", "--version"]
    return run(argv, cwd=cwd, env=activated(env))


#: How the two can land in one environment: each inner tuple is one pip call.
INSTALL_ORDERS = {
    "ours only": (("ours",),),
    "copyparty, then ours": (("copyparty",), ("ours",)),
    "ours, then copyparty": (("ours",), ("copyparty",)),
    "one call, ours named first": (("ours", "copyparty"),),
    "one call, copyparty named first": (("copyparty", "ours"),),
}


@pytest.mark.parametrize("order", INSTALL_ORDERS)
def test_the_partyfuse_command_is_ours_or_we_say_so(
    order: str, wheels: dict[str, Path], tmp_path: Path
) -> None:
    """Whatever pip did, `pfuse` runs this project, and it and `python -m partyfuse` name
    the `partyfuse` command in one line exactly when that command runs another program."""
    env = fresh_venv(tmp_path / "v")  # nothing else: `--version` needs no dependency
    for call in INSTALL_ORDERS[order]:
        pip_install(env, *(wheels[w] for w in call))
    cwd = tmp_path / "empty"
    cwd.mkdir()
    ours = f"partyfuse {declared_version()}"

    # copyparty's client fails here (no FUSE binding in this venv): only ours must succeed
    command = subprocess.run(
        [str(venv_exe(env, "partyfuse")), "--version"],
        cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False, env=activated(env),
    )  # fmt: skip
    command_is_ours = command.returncode == 0 and command.stdout.strip() == ours
    if order in ("ours only", "copyparty, then ours"):
        assert command_is_ours, command.stdout + command.stderr
    if order == "ours, then copyparty":
        assert not command_is_ours  # pip let copyparty overwrite it: the case we must name

    for res in (version_of(env, "pfuse", cwd), module_version(env, cwd)):
        assert res.stdout.strip() == ours
        notes = res.stderr.splitlines()
        if command_is_ours:
            assert notes == []
        else:
            assert len(notes) == 1, res.stderr
            assert str(venv_exe(env, "partyfuse")) in notes[0]
            assert "copyparty's client" in notes[0] and '"pfuse"' in notes[0]


def test_the_partyfuse_command_of_this_environment_is_ours(tmp_path: Path) -> None:
    """The environment running this suite was set up by a documented path (setup.sh for
    .ci/run and the demo, tox's wheel install), all of which must leave `partyfuse` ours."""
    res = run([sys.executable, "-m", "partyfuse.command_owner"], cwd=tmp_path)
    assert res.stderr == ""
    script = Path(sysconfig.get_path("scripts"), "partyfuse" + (".exe" if os.name == "nt" else ""))
    assert script.is_file(), f"{script}: this environment has no partyfuse command"
    out = run([str(script), "--version"], cwd=tmp_path)
    assert out.stdout.strip() == f"partyfuse {declared_version()}"
