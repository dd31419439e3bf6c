"""The binding seam: which library loads, and what the user sees when none does."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from partyfuse import fusebind


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fusebind, "_cached", None)


@pytest.mark.parametrize("name", ["mfusepy", "fusepy"])
def test_env_var_picks_the_binding(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(fusebind.ENV_BINDING, name)
    b = fusebind.load()
    assert b.name == name
    assert b.module.__name__ == ("mfusepy" if name == "mfusepy" else "fuse")
    assert b.libfuse_major in (2, 3)
    assert issubclass(b.FuseOSError, OSError)


def test_mfusepy_uses_libfuse3_on_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    # run in a fresh interpreter: the binding picks its library at import time
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from partyfuse import fusebind; print(fusebind.load('mfusepy').libfuse_major)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "3"


def test_unknown_binding_name_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fusebind.ENV_BINDING, "llfuse")
    with pytest.raises(fusebind.FuseUnavailable) as ei:
        fusebind.load()
    assert "\n" not in str(ei.value) and "mfusepy" in str(ei.value)


def test_missing_python_package_names_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_module(name: str) -> fusebind.Binding:
        raise ImportError(name)

    monkeypatch.setattr(fusebind, "_import", no_module)
    monkeypatch.delenv(fusebind.ENV_BINDING, raising=False)
    with pytest.raises(fusebind.FuseUnavailable) as ei:
        fusebind.load()
    assert "pip install mfusepy" in str(ei.value)
    assert "\n" not in str(ei.value)


def test_missing_libfuse_names_the_os_package(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_lib(name: str) -> fusebind.Binding:
        raise OSError("Unable to find libfuse")

    monkeypatch.setattr(fusebind, "_import", no_lib)
    monkeypatch.setattr(fusebind.sys, "platform", "linux")
    with pytest.raises(fusebind.FuseUnavailable) as ei:
        fusebind.load()
    assert "apt install fuse3" in str(ei.value)
    assert "\n" not in str(ei.value)


@pytest.mark.parametrize(
    ("plat", "word"),
    [("linux", "fuse3"), ("darwin", "FUSE-T"), ("darwin", "macFUSE"), ("win32", "WinFsp")],
)
def test_install_hint_per_os(plat: str, word: str) -> None:
    assert word in fusebind.install_hint(plat)


def test_path_codec_round_trips_undecodable_bytes() -> None:
    fusebind.load()
    raw = b"caf\xe9/\xff.bin"
    assert raw.decode(fusebind.PATH_CODEC).encode(fusebind.PATH_CODEC) == raw


@pytest.fixture
def macos(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A faked macOS with FUSE-T installed and no macFUSE: returns the dylib path."""
    lib = tmp_path / "libfuse-t.dylib"
    lib.write_bytes(b"")
    monkeypatch.setattr(fusebind.sys, "platform", "darwin")
    monkeypatch.setattr(fusebind, "FUSE_T_LIBRARY", str(lib))
    monkeypatch.setattr(fusebind, "find_library", lambda name: None)
    for var in ("FUSE_LIBRARY_PATH", "FUSE_LIBRARY_NAME"):
        monkeypatch.setenv(var, "")  # recorded, so what the code sets is undone after
        monkeypatch.delenv(var)
    return lib


def test_fuse_t_is_used_on_macos_when_no_other_library_is_found(macos: Path) -> None:
    fusebind._use_fuse_t_if_needed()
    assert os.environ["FUSE_LIBRARY_PATH"] == str(macos)


def test_fuse_t_is_set_before_the_binding_imports(
    macos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str | None] = []

    def fake_import(name: str) -> types.ModuleType:
        seen.append(os.environ.get("FUSE_LIBRARY_PATH"))
        mod = types.ModuleType(name)
        mod.FUSE = mod.Operations = object  # type: ignore[attr-defined]
        mod.FuseOSError = OSError  # type: ignore[attr-defined]
        return mod

    monkeypatch.setattr(fusebind, "_import_module", fake_import)
    monkeypatch.setenv(fusebind.ENV_BINDING, "fusepy")
    assert fusebind.load().name == "fusepy"
    assert seen == [str(macos)]


def test_fuse_t_is_left_alone_when_the_user_chose_a_library(
    macos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FUSE_LIBRARY_PATH", "/opt/my/libfuse.dylib")
    fusebind._use_fuse_t_if_needed()
    assert os.environ["FUSE_LIBRARY_PATH"] == "/opt/my/libfuse.dylib"


def test_macfuse_wins_over_fuse_t(macos: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = {"osxfuse": "/usr/local/lib/libosxfuse.2.dylib"}
    monkeypatch.setattr(fusebind, "find_library", found.get)
    fusebind._use_fuse_t_if_needed()
    assert "FUSE_LIBRARY_PATH" not in os.environ


def test_no_fuse_t_no_change(macos: Path) -> None:
    macos.unlink()
    fusebind._use_fuse_t_if_needed()
    assert "FUSE_LIBRARY_PATH" not in os.environ


def test_fuse_t_is_a_macos_thing(macos: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fusebind.sys, "platform", "linux")
    fusebind._use_fuse_t_if_needed()
    assert "FUSE_LIBRARY_PATH" not in os.environ


def test_a_plain_install_brings_mfusepy_on_linux_and_keeps_fusepy() -> None:
    # issue 9: the fast binding must not be an extra a user has to know about
    # (read as text: tomllib is 3.11+, the project supports 3.10)
    text = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    block = text.split("\ndependencies = [", 1)[1].split("\n]", 1)[0]
    deps = [line.strip().strip(",").strip('"') for line in block.splitlines()]
    deps = [d for d in deps if d and not d.startswith("#")]
    assert "mfusepy>=1.0; sys_platform == 'linux'" in deps
    assert "fusepy>=3.0.1" in deps


def test_starting_a_mount_runs_ldconfig_at_most_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ctypes.util.find_library`` runs ``ldconfig -p`` in a subprocess (5-13 ms
    each here); a mount ran it four times before the kernel saw it.  Ours now
    load by soname; only mfusepy's own lookup of FUSE_LIBRARY_NAME is left."""
    import ctypes.util

    from partyfuse.libfuse_log import route_libfuse_log
    from partyfuse.memtune import tune_malloc

    binding = fusebind.load()

    def refuse(name: str) -> str | None:
        raise AssertionError(f"find_library({name!r}) while mounting")

    monkeypatch.setattr(ctypes.util, "find_library", refuse)
    monkeypatch.setattr(fusebind, "find_library", refuse)
    assert tune_malloc("linux") is (sys.platform.startswith("linux"))
    route_libfuse_log(binding)  # True with libfuse3, False elsewhere; never find_library
    if sys.platform.startswith("linux"):
        for var in ("FUSE_LIBRARY_PATH", "FUSE_LIBRARY_NAME"):
            monkeypatch.setenv(var, "")
            monkeypatch.delenv(var)
        fusebind._prefer_libfuse3()
        assert os.environ.get("FUSE_LIBRARY_NAME") == (
            "fuse3" if fusebind._loadable(fusebind.LIBFUSE3_SONAME) else None
        )


def test_libfuse3_is_still_preferred_where_only_ldconfig_knows_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fusebind.sys, "platform", "linux")
    monkeypatch.setattr(fusebind, "_loadable", lambda name: False)
    monkeypatch.setattr(fusebind, "find_library", {"fuse3": "libfuse3.so.3"}.get)
    for var in ("FUSE_LIBRARY_PATH", "FUSE_LIBRARY_NAME"):
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)
    fusebind._prefer_libfuse3()
    assert os.environ["FUSE_LIBRARY_NAME"] == "fuse3"
