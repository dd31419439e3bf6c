"""Whose program the ``partyfuse`` command runs: this project's, or copyparty's.

copyparty installs a console script named ``partyfuse`` too (its own upstream
client).  pip lets the last distribution it installs write the file, and in one
``pip install`` call it may well install copyparty last, so nothing at install
time can promise the name to us.  This module finds the script the name
resolves to and tells, from the import line the installer wrote into it,
whether it starts this package; ``pfuse`` and ``python -m partyfuse`` (names
copyparty does not claim) print one line when it does not, and
``python -m partyfuse.command_owner`` answers with its exit status for
scripts/setup.sh and scripts/demo.sh, which then reinstall this package last.
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path

#: The command README documents; copyparty claims it as well.
COMMAND = "partyfuse"
#: The name only this project installs (same program).
ALIAS = "pfuse"
#: What the installer writes into a console script that starts this package.
OUR_IMPORT = b"from partyfuse.cli import"


def command_path() -> Path | None:
    """The file ``partyfuse`` runs: on PATH, else beside this interpreter (unactivated venv)."""
    found = shutil.which(COMMAND)
    if found:
        return Path(found)
    scripts = sysconfig.get_path("scripts")
    for name in (COMMAND, COMMAND + ".exe"):
        candidate = Path(scripts, name)
        if candidate.is_file():
            return candidate
    return None


def is_ours(script: Path) -> bool | None:
    """True/False from the script's contents; None when it cannot be read.

    A POSIX console script is a small Python file; a Windows one is a launcher
    .exe with that same Python file appended in an uncompressed zip, so the
    import line is in the bytes either way."""
    try:
        data = script.read_bytes()
    except OSError:
        return None
    return OUR_IMPORT in data


def other_owners() -> list[str]:
    """Installed distributions other than this one that declare a ``partyfuse`` script."""
    # imported here: every start would pay for it, and only a shadowed name needs it
    import importlib.metadata

    owners = set()
    # selected by group and name, so only the owners' METADATA is parsed (their
    # names), not every installed distribution's: half the time, and this runs
    # before the mount whenever the name is shadowed
    for ep in importlib.metadata.entry_points(group="console_scripts", name=COMMAND):
        dist = getattr(ep, "dist", None)
        name = (dist.name if dist is not None else None) or "?"
        if name.lower() != "partyfuse":
            owners.add(name)
    return sorted(owners)


def shadow_note(script: Path | None = None) -> str | None:
    """One line saying ``partyfuse`` runs another program, or None when it runs this one
    (or is not installed, or cannot be read: nothing to say then)."""
    script = script if script is not None else command_path()
    if script is None or is_ours(script) is not False:
        return None
    owners = other_owners()
    whose = f"{' or '.join(owners)}'s client" if owners else "another program"
    return (
        f'partyfuse: note: the "{COMMAND}" command ({script}) is {whose}, not this one; '
        f'run "{ALIAS}" or "python -m partyfuse", or reinstall partyfuse after '
        f"{owners[0] if owners else 'it'} (pip install --no-deps --force-reinstall ...)"
    )


def note_if_shadowed() -> None:
    """Print :func:`shadow_note` on stderr; never fails the command it precedes."""
    try:
        note = shadow_note()
    except Exception:  # a broken metadata dir must not stop a mount  # noqa: BLE001
        return
    if note:
        print(note, file=sys.stderr, flush=True)


def main() -> int:
    """Exit 0 when ``partyfuse`` beside this interpreter (or on PATH) is this project's."""
    scripts = Path(sysconfig.get_path("scripts"))
    script = next(
        (p for p in (scripts / COMMAND, scripts / (COMMAND + ".exe")) if p.is_file()), None
    )
    script = script or command_path()
    if script is None:
        print(f"partyfuse: no {COMMAND} command installed for {sys.executable}", file=sys.stderr)
        return 1
    note = shadow_note(script)
    if note:
        print(note, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
