#!/bin/sh
# `make` runs this before it creates .venv. Debian's python3 ships without ensurepip (package python3-venv), and
# `python3 -m venv` then fails with several lines and a half-made .venv. Install python3-venv with apt-get when
# this user is root or has passwordless sudo; otherwise stop with one line naming the command to run.
# Usage: ensure_python_venv.sh PYTHON. Only shell builtins and the commands it installs with (tests/static/test_make_test.py
# runs it on stubs).
PYTHON="${1:-python3}"
INSTALL="apt-get install -y --no-install-recommends python3-venv"

"$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1 && exit 0

stop() {
    echo "make: $1" >&2
    exit 1
}

WHAT="$PYTHON cannot create the project's virtual environment (no ensurepip)"
if ! command -v apt-get >/dev/null 2>&1; then
    stop "$WHAT; install your system's venv package for $PYTHON (or run make PYTHON=/path/to/python3.11+)"
fi
if [ "$(id -u)" = 0 ]; then
    as_root="" how="install it as root with: $INSTALL"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n" how="install it with: sudo $INSTALL"
elif command -v sudo >/dev/null 2>&1; then
    stop "$WHAT; install it with: sudo $INSTALL"
else
    stop "$WHAT; install it as root with: $INSTALL"
fi

apt() {
    if [ -z "$as_root" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get "$@"
    else
        $as_root DEBIAN_FRONTEND=noninteractive apt-get "$@"
    fi
}

echo "make: installing Debian's python3-venv for the project's virtual environment"
apt update -qq && apt install -y -qq --no-install-recommends python3-venv &&
    "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1 ||
    stop "apt-get could not give $PYTHON its venv module; $how"
