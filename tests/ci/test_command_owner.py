"""Telling whose program a `partyfuse` script runs, from the script itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from partyfuse import command_owner

OURS = "import re\nimport sys\nfrom partyfuse.cli import main\nsys.exit(main())\n"
COPYPARTYS = "import re\nimport sys\nfrom copyparty.web.a.partyfuse import main\nsys.exit(main())\n"


def test_our_script_gets_no_note(tmp_path: Path) -> None:
    script = tmp_path / "partyfuse"
    script.write_text(OURS)
    assert command_owner.is_ours(script) is True
    assert command_owner.shadow_note(script) is None


def test_another_script_gets_one_line_naming_it_and_the_alias(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "partyfuse"
    script.write_text(COPYPARTYS)
    monkeypatch.setattr(command_owner, "other_owners", lambda: ["copyparty"])
    note = command_owner.shadow_note(script)
    assert note is not None and "\n" not in note
    assert str(script) in note and "copyparty's client" in note and '"pfuse"' in note


def test_an_unknown_owner_is_still_named_as_another_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "partyfuse"
    script.write_bytes(b"\x7fELF not a python script")
    monkeypatch.setattr(command_owner, "other_owners", lambda: [])
    note = command_owner.shadow_note(script)
    assert note is not None and "another program" in note


def test_an_unreadable_script_is_not_guessed_about(tmp_path: Path) -> None:
    assert command_owner.is_ours(tmp_path / "missing") is None
    assert command_owner.shadow_note(tmp_path / "missing") is None


def test_copyparty_here_declares_the_same_command() -> None:
    """The collision is real in the test environment: copyparty's metadata claims the name."""
    owners = command_owner.other_owners()
    assert "copyparty" in owners
    assert "partyfuse" not in [o.lower() for o in owners]  # ours declares it too


def test_starting_the_command_does_not_import_package_metadata() -> None:
    """Reading every installed distribution's metadata is only needed to name
    another owner; importing it at every start cost 20-40 ms of a 200-300 ms
    mount here (``importlib.metadata`` pulls in zipfile, csv and more)."""
    import subprocess
    import sys

    probe = (
        "import sys; before = 'importlib.metadata' in sys.modules; "
        "import partyfuse.cli, partyfuse.cli_mount; "
        "print(before or 'importlib.metadata' not in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
