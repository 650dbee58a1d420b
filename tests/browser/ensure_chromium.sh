#!/bin/sh
# `make test` runs this before the suite. The browser tests (tests/browser) drive Debian's chromium package
# through Playwright for Python: Playwright's own browser download does not work here, so the system package is
# the browser (pip installs Playwright itself; never run `playwright install`).
# Chromium missing: install it with apt-get when this user is root or has passwordless sudo; otherwise stop
# `make test` with one line naming the command to run. The browser tests are never left out silently.
# Only shell builtins and the commands it installs with: tests/static/test_make_test.py runs it on stubs.
PACKAGES="chromium fonts-dejavu-core"
INSTALL="apt-get install -y --no-install-recommends $PACKAGES"
WHERE="for the browser tests (tests/browser)"

command -v chromium >/dev/null 2>&1 && exit 0

stop() {
    echo "make test: $1" >&2
    exit 1
}

if ! command -v apt-get >/dev/null 2>&1; then
    stop "Chromium is missing $WHERE; install your system's chromium package so that \`chromium\` is on PATH"
fi
if [ "$(id -u)" = 0 ]; then
    as_root="" how="install it as root with: $INSTALL"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n" how="install it with: sudo $INSTALL"
elif command -v sudo >/dev/null 2>&1; then
    stop "Chromium is missing $WHERE; install it with: sudo $INSTALL"
else
    stop "Chromium is missing $WHERE; install it as root with: $INSTALL"
fi

# DEBIAN_FRONTEND as an argument of sudo: its env_reset would drop an exported one.
apt() {
    if [ -z "$as_root" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get "$@"
    else
        $as_root DEBIAN_FRONTEND=noninteractive apt-get "$@"
    fi
}

echo "make test: installing Debian's chromium and fonts-dejavu-core for the browser tests"
apt update -qq && apt install -y -qq --no-install-recommends $PACKAGES && command -v chromium >/dev/null 2>&1 ||
    stop "apt-get could not install Chromium $WHERE; $how"
