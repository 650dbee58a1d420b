#!/bin/sh
# What `make` needs from the system, installed the way a fresh Debian machine allows: when CHECK fails, install
# PACKAGES with apt-get if this user is root or has passwordless sudo; otherwise stop with one line naming the
# command to run. Never a silent skip: a check that still fails after the install stops too.
#   ensure_debian_packages.sh WHO MISSING CHECK PACKAGE...
# WHO: the make command ("make test"); MISSING: what is missing and for what; CHECK: a shell command that
# succeeds once the packages are there. Uses only shell builtins and the commands it installs with
# (tests/static/test_make_test.py runs it on stubs).
WHO="$1" MISSING="$2" CHECK="$3"
shift 3
PACKAGES="$*"
INSTALL="apt-get install -y --no-install-recommends $PACKAGES"

eval "$CHECK" >/dev/null 2>&1 && exit 0

stop() {
    echo "$WHO: $1" >&2
    exit 1
}

if ! command -v apt-get >/dev/null 2>&1; then
    stop "$MISSING; install $PACKAGES with your system's package manager"
fi
if [ "$(id -u)" = 0 ]; then
    as_root="" how="install it as root with: $INSTALL"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n" how="install it with: sudo $INSTALL"
elif command -v sudo >/dev/null 2>&1; then
    stop "$MISSING; install it with: sudo $INSTALL"
else
    stop "$MISSING; install it as root with: $INSTALL"
fi

# DEBIAN_FRONTEND as an argument of sudo: its env_reset would drop an exported one.
apt() {
    if [ -z "$as_root" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get "$@"
    else
        $as_root DEBIAN_FRONTEND=noninteractive apt-get "$@"
    fi
}

echo "$WHO: installing Debian's $PACKAGES"
# shellcheck disable=SC2086  # PACKAGES is a list of words
apt update -qq && apt install -y -qq --no-install-recommends $PACKAGES && eval "$CHECK" >/dev/null 2>&1 ||
    stop "apt-get could not install $PACKAGES; $how"
