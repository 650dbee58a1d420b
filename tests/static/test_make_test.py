"""`make test` on a fresh Debian machine with only python3: it installs Debian's chromium for the browser tests
(tests/browser/ensure_chromium.sh) or stops with one line naming the command to run; never leaves them out.

The script runs with a PATH of stubs only (``id``, ``sudo``, ``apt-get``, ``chromium``) that record their
arguments: nothing is installed.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT

SCRIPT = ROOT / "tests" / "browser" / "ensure_chromium.sh"
INSTALL = "apt-get install -y --no-install-recommends chromium fonts-dejavu-core"
MISSING = "make test: Chromium is missing for the browser tests (tests/browser); "


class Machine:
    """A PATH of stubs: ``id -u`` prints ``uid``; ``sudo -n true`` succeeds when ``sudo`` is "passwordless";
    ``apt-get`` succeeds (and puts a ``chromium`` on PATH once it installs it) unless ``apt_fails``."""

    def __init__(self, bin_dir: Path, *, uid: int, sudo: str | None, apt_get: bool = True, apt_fails: bool = False):
        self.bin = bin_dir
        self.log = bin_dir / "calls.log"
        installed = f'case "$*" in *fonts-dejavu-core) printf "#!/bin/sh\\n" > {self.bin}/chromium; ' + (
            f"/bin/chmod +x {self.bin}/chromium;; esac\nexit {100 if apt_fails else 0}\n"
        )
        self._stub("id", f'[ "$1" = -u ] && echo {uid}\n')
        if sudo is not None:
            password_ok = 0 if sudo == "passwordless" else 1
            self._stub(
                "sudo",
                f'[ "$*" = "-n true" ] && exit {password_ok}\necho "sudo $*" >> {self.log}\n' + installed,
            )
        if apt_get:
            self._stub("apt-get", f'echo "DEBIAN_FRONTEND=$DEBIAN_FRONTEND apt-get $*" >> {self.log}\n' + installed)

    def _stub(self, name: str, body: str) -> None:
        path = self.bin / name
        path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)

    def run(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["/bin/sh", str(SCRIPT)],
            env={"PATH": str(self.bin), "HOME": os.environ.get("HOME", "/root")},
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )

    def calls(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines() if self.log.exists() else []


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    path = tmp_path / "bin"
    path.mkdir()
    return path


def test_chromium_on_path_needs_nothing(bin_dir: Path) -> None:
    machine = Machine(bin_dir, uid=1000, sudo=None)
    machine._stub("chromium", "")

    result = machine.run()

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert machine.calls() == []


def test_root_installs_chromium_and_fonts_with_apt_get(bin_dir: Path) -> None:
    machine = Machine(bin_dir, uid=0, sudo=None)

    result = machine.run()

    assert result.returncode == 0, result.stderr
    assert machine.calls() == [
        "DEBIAN_FRONTEND=noninteractive apt-get update -qq",
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core",
    ]
    assert result.stdout == "make test: installing Debian's chromium and fonts-dejavu-core for the browser tests\n"
    assert result.stderr == ""


def test_passwordless_sudo_installs_with_sudo(bin_dir: Path) -> None:
    machine = Machine(bin_dir, uid=1000, sudo="passwordless")

    result = machine.run()

    assert result.returncode == 0, result.stderr
    assert machine.calls() == [
        "sudo -n DEBIAN_FRONTEND=noninteractive apt-get update -qq",
        "sudo -n DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium "
        "fonts-dejavu-core",
    ]


def test_sudo_asking_for_a_password_stops_with_the_sudo_command(bin_dir: Path) -> None:
    machine = Machine(bin_dir, uid=1000, sudo="password")

    result = machine.run()

    assert result.returncode == 1
    assert result.stderr == f"{MISSING}install it with: sudo {INSTALL}\n"
    assert result.stdout == ""
    assert machine.calls() == []


def test_no_root_and_no_sudo_stops_with_the_root_command(bin_dir: Path) -> None:
    machine = Machine(bin_dir, uid=1000, sudo=None)

    result = machine.run()

    assert result.returncode == 1
    assert result.stderr == f"{MISSING}install it as root with: {INSTALL}\n"
    assert machine.calls() == []


def test_not_debian_stops_with_one_line(bin_dir: Path) -> None:
    machine = Machine(bin_dir, uid=0, sudo=None, apt_get=False)

    result = machine.run()

    assert result.returncode == 1
    assert result.stderr == f"{MISSING}install your system's chromium package so that `chromium` is on PATH\n"


def test_a_failed_apt_get_stops_with_the_command_to_run(bin_dir: Path) -> None:
    machine = Machine(bin_dir, uid=0, sudo=None, apt_fails=True)

    result = machine.run()

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"make test: apt-get could not install Chromium for the browser tests (tests/browser); "
        f"install it as root with: {INSTALL}"
    )
    assert machine.calls() == ["DEBIAN_FRONTEND=noninteractive apt-get update -qq"]


def test_make_test_ensures_chromium_before_pytest() -> None:
    """`make -n test` (printed, not run): the script comes before the suite, whatever else make runs first."""
    environment = {key: value for key, value in os.environ.items() if key not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "--dry-run", "test"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert dry_run.returncode == 0, dry_run.stderr
    lines = [shlex.split(line) for line in dry_run.stdout.splitlines() if line.strip()]
    ensure = [index for index, words in enumerate(lines) if words[-1:] == ["tests/browser/ensure_chromium.sh"]]
    pytest_runs = [index for index, words in enumerate(lines) if words[1:3] == ["-m", "pytest"]]
    assert len(ensure) == 1, dry_run.stdout
    assert len(pytest_runs) == 1, dry_run.stdout
    assert ensure[0] < pytest_runs[0]
    assert lines[ensure[0]] == ["sh", "tests/browser/ensure_chromium.sh"]


def test_ci_runs_only_make_test() -> None:
    """.ci/run installs nothing itself any more: what CI needs, `make test` installs for everyone."""
    commands = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert commands[-1] == "make test"
    assert not any("apt-get" in line or "chromium" in line for line in commands)


# --- Python's venv: Debian's python3 comes without ensurepip (package python3-venv) -----------------------------

VENV_SCRIPT = ROOT / "local" / "ensure_python_venv.sh"
VENV_INSTALL = "apt-get install -y --no-install-recommends python3-venv"
NO_VENV = "make: python3 cannot create the project's virtual environment (no ensurepip); "


class VenvMachine:
    """A PATH of stubs: ``python3 -c 'import ensurepip, venv'`` succeeds once ``venv_installed`` exists (made by
    ``apt-get install … python3-venv`` unless ``apt_gives_venv`` is False); ``id -u`` prints ``uid``."""

    def __init__(self, bin_dir: Path, *, uid: int, sudo: str | None = None, apt_get: bool = True, has_venv: bool):
        self.bin = bin_dir
        self.log = bin_dir / "calls.log"
        self.marker = bin_dir / "venv_installed"
        if has_venv:
            self.marker.touch()
        self._stub("python3", f"[ -e {self.marker} ]\n")
        self._stub("id", f'[ "$1" = -u ] && echo {uid}\n')
        installs = f'case "$*" in *python3-venv) : > {self.marker};; esac\n'
        if sudo is not None:
            password_ok = 0 if sudo == "passwordless" else 1
            self._stub("sudo", f'[ "$*" = "-n true" ] && exit {password_ok}\necho "sudo $*" >> {self.log}\n{installs}')
        if apt_get:
            self._stub("apt-get", f'echo "DEBIAN_FRONTEND=$DEBIAN_FRONTEND apt-get $*" >> {self.log}\n{installs}')

    def _stub(self, name: str, body: str) -> None:
        path = self.bin / name
        path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)

    def run(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["/bin/sh", str(VENV_SCRIPT), "python3"],
            env={"PATH": str(self.bin), "HOME": os.environ.get("HOME", "/root")},
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )

    def calls(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines() if self.log.exists() else []


def test_a_python_with_venv_needs_nothing(bin_dir: Path) -> None:
    machine = VenvMachine(bin_dir, uid=1000, has_venv=True)

    result = machine.run()

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert machine.calls() == []


def test_root_installs_python3_venv_with_apt_get(bin_dir: Path) -> None:
    machine = VenvMachine(bin_dir, uid=0, has_venv=False)

    result = machine.run()

    assert result.returncode == 0, result.stderr
    assert machine.calls() == [
        "DEBIAN_FRONTEND=noninteractive apt-get update -qq",
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv",
    ]
    assert result.stdout == "make: installing Debian's python3-venv for the project's virtual environment\n"


def test_without_root_or_sudo_the_one_line_names_the_command(bin_dir: Path) -> None:
    machine = VenvMachine(bin_dir, uid=1000, has_venv=False)

    result = machine.run()

    assert result.returncode == 1
    assert result.stderr == f"{NO_VENV}install it as root with: {VENV_INSTALL}\n"
    assert machine.calls() == []


def test_sudo_with_a_password_names_the_sudo_command(bin_dir: Path) -> None:
    machine = VenvMachine(bin_dir, uid=1000, sudo="password", has_venv=False)

    result = machine.run()

    assert result.returncode == 1
    assert result.stderr == f"{NO_VENV}install it with: sudo {VENV_INSTALL}\n"


def test_a_python_that_python3_venv_does_not_mend_stops_with_one_line(bin_dir: Path) -> None:
    machine = VenvMachine(bin_dir, uid=0, has_venv=False)
    machine._stub("python3", "exit 1\n")  # not Debian's python3: its package cannot give it ensurepip

    result = machine.run()

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "make: apt-get could not give python3 its venv module; install it as root with: " + VENV_INSTALL
    )


def test_not_debian_stops_with_one_line_naming_what_to_install(bin_dir: Path) -> None:
    machine = VenvMachine(bin_dir, uid=0, apt_get=False, has_venv=False)

    result = machine.run()

    assert result.returncode == 1
    assert result.stderr == (
        f"{NO_VENV}install your system's venv package for python3 (or run make PYTHON=/path/to/python3.11+)\n"
    )


def test_make_ensures_python_venv_before_it_creates_a_venv() -> None:
    """`make -n --always-make`, as on a fresh clone where both venvs must be made: the check comes
    before every `-m venv`, for the test venv and for checkov's."""
    environment = {key: value for key, value in os.environ.items() if key not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "--dry-run", "--always-make", "venv", ".venv-checkov/.installed"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert dry_run.returncode == 0, dry_run.stderr
    lines = [shlex.split(line) for line in dry_run.stdout.splitlines() if line.strip()]
    ensure = [index for index, words in enumerate(lines) if words[:2] == ["sh", "local/ensure_python_venv.sh"]]
    creates = [index for index, words in enumerate(lines) if words[1:3] == ["-m", "venv"]]
    assert len(creates) == 2, dry_run.stdout
    assert len(ensure) == 2, dry_run.stdout
    assert all(check + 1 == create for check, create in zip(ensure, creates, strict=True)), dry_run.stdout
