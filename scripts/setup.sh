#!/usr/bin/env bash
# Installs what partyfuse, its tests and its demo need on a fresh Debian/Ubuntu
# machine: FUSE (libfuse2 for fusepy, libfuse3 for mfusepy), the real servers the
# fidelity and mount tests start (nginx, apache2, lighttpd), and the Python
# packages (this project in editable mode with its test extras; the `partyfuse`
# command left as this project's, not copyparty's).
# Sourced by .ci/run (scripts/demo.sh installs on its own); safe to run again (it only
# installs what is missing).
set -euo pipefail
_pf_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

_pf_apt_pkgs=(fuse3 libfuse2 libfuse3-3 nginx apache2 lighttpd openssl curl ca-certificates)
_pf_missing=()
for p in "${_pf_apt_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || _pf_missing+=("$p")
done
if [ "${#_pf_missing[@]}" -gt 0 ]; then
    _pf_sudo=""
    [ "$(id -u)" -eq 0 ] || _pf_sudo="sudo"
    echo "setup: installing ${_pf_missing[*]}"
    $_pf_sudo apt-get update -qq
    # the server packages must not start their system services on port 80
    DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $_pf_sudo apt-get install -y -qq --no-install-recommends "${_pf_missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
# PARTYFUSE_VENV=DIR installs into (and activates) a virtual environment there
# instead of the current interpreter: .ci/run uses it so a run from a clone never
# re-points another checkout's editable install.
if [ -n "${PARTYFUSE_VENV:-}" ]; then
    if [ ! -x "$PARTYFUSE_VENV/bin/python" ]; then
        echo "setup: creating virtual environment $PARTYFUSE_VENV"
        "$PYTHON" -m venv "$PARTYFUSE_VENV"
    fi
    # shellcheck disable=SC1091
    source "$PARTYFUSE_VENV/bin/activate"
    PYTHON=python3
fi
# always (re)install in editable mode: an editable install left by another
# checkout would otherwise shadow this one in subprocesses the tests start
echo "setup: installing Python packages"
_pf_log="$(mktemp)"
if ! "$PYTHON" -m pip install -q --disable-pip-version-check -e "$_pf_root[test,lint,mfusepy]" >"$_pf_log" 2>&1; then
    grep -v '^WARNING: Location' "$_pf_log" >&2
    rm -f "$_pf_log"
    echo "setup: pip install failed" >&2
    exit 1
fi
# copyparty installs a `partyfuse` command too (its own client), and pip may
# write it after ours even in this one call: install ours once more, last, so the
# command README documents runs this project (`pfuse` always does).
if ! "$PYTHON" -m partyfuse.command_owner 2>/dev/null; then
    echo "setup: reinstalling partyfuse after copyparty, which also installs a partyfuse command"
    if ! "$PYTHON" -m pip install -q --disable-pip-version-check --no-deps --force-reinstall \
        -e "$_pf_root" >"$_pf_log" 2>&1; then
        grep -v '^WARNING: Location' "$_pf_log" >&2
    fi
    # still not ours: command_owner prints the one line that says so (and what to run)
    "$PYTHON" -m partyfuse.command_owner || true
fi
rm -f "$_pf_log"
export PYTHON
