#!/usr/bin/env bash
# partyfuse demo: the first command of the README's quick start.
#
# On a fresh Debian/Ubuntu machine it installs what is missing -- the FUSE
# libraries (apt) and partyfuse with its Python dependencies (pip, into the
# current Python if it allows that, else into ./.venv) -- then runs
# `python -m partyfuse.demo`: a local copyparty serves a demo folder, partyfuse
# mounts it, the tree and a file read through the mount are shown, and Ctrl-C
# unmounts and stops everything.
#
# Arguments go to the demo (--demo-once: show, then clean up and exit; --mnt DIR).
# Environment: PYTHON (interpreter to use, default python3), DEMO_NONINTERACTIVE=1.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

say() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }
as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
		say "need root for: $*"; exit 1
	fi
}

# -- system packages: FUSE 3 (mfusepy) and FUSE 2 (fusepy), python venv/pip --
apt_missing=()
if [ "$(uname -s)" = Linux ]; then
	command -v fusermount3 >/dev/null || apt_missing+=(fuse3)
	if ! /sbin/ldconfig -p 2>/dev/null | grep -q 'libfuse\.so\.2'; then
		# Ubuntu 24.04 renamed it (64-bit time_t transition)
		if apt-cache show libfuse2t64 >/dev/null 2>&1; then apt_missing+=(libfuse2t64); else apt_missing+=(libfuse2); fi
	fi
	PY="${PYTHON:-python3}"
	command -v "$PY" >/dev/null || apt_missing+=(python3)
	if command -v "$PY" >/dev/null && ! "$PY" -c 'import venv, ensurepip' 2>/dev/null; then
		apt_missing+=(python3-venv python3-pip)
	fi
	if [ "${#apt_missing[@]}" -gt 0 ]; then
		if ! command -v apt-get >/dev/null; then
			say "please install: ${apt_missing[*]} (no apt-get here)"; exit 1
		fi
		say "installing ${apt_missing[*]}"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}"
	fi
	if [ ! -e /dev/fuse ]; then
		as_root modprobe fuse 2>/dev/null || true
		[ -e /dev/fuse ] || { say "/dev/fuse is missing (containers: run with --device /dev/fuse --cap-add SYS_ADMIN)"; exit 1; }
	fi
else
	PY="${PYTHON:-python3}"
fi

# -- python packages ---------------------------------------------------------
have_deps() { "$1" -c 'import partyfuse.demo, copyparty, mfusepy, fuse' >/dev/null 2>&1; }
if [ -x .venv/bin/python ] && have_deps .venv/bin/python; then
	PY=.venv/bin/python
elif ! have_deps "$PY"; then
	say "installing partyfuse (editable) with mfusepy, fusepy and copyparty"
	if ! "$PY" -m pip install -q -e ".[mfusepy]" copyparty 2>/dev/null; then
		# PEP 668 ("externally managed") or no pip: use a private venv
		[ -x .venv/bin/python ] || "$PY" -m venv .venv
		PY=.venv/bin/python
		"$PY" -m pip install -q --upgrade pip
		"$PY" -m pip install -q -e ".[mfusepy]" copyparty
	fi
fi

# copyparty installs a `partyfuse` command too, and pip may write it after ours:
# reinstall ours last so `partyfuse URL DIR` (README) runs this project; if that
# cannot be done, command_owner says so in one line (`pfuse` is ours either way)
if ! "$PY" -m partyfuse.command_owner 2>/dev/null; then
	say "reinstalling partyfuse after copyparty, which also installs a partyfuse command"
	"$PY" -m pip install -q --no-deps --force-reinstall -e . || true
	"$PY" -m partyfuse.command_owner || true
fi

say "starting the demo ($PY -m partyfuse.demo $*)"
exec "$PY" -m partyfuse.demo "$@"
