"""`make test` and `make run` on a fresh Debian machine with only python3: what they need from the system
(Debian's python3-venv for the virtual environments, chromium for the browser tests) they install with apt-get
where this user may, or they stop with one line naming the command to run; nothing is left out silently.

Each check runs as make runs it (the command line read from ``make --dry-run``) with a PATH of stubs only
(``id``, ``sudo``, ``apt-get`` and the checked program) that record their arguments: nothing is installed.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import ROOT

SCRIPT = "local/ensure_debian_packages.sh"


def _dry_run(*targets: str) -> list[list[str]]:
    """The commands ``make --dry-run --always-make`` prints for ``targets`` (as on a fresh clone), split."""
    environment = {key: value for key, value in os.environ.items() if key not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    result = subprocess.run(
        ["make", "--no-print-directory", "--dry-run", "--always-make", *targets],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    joined = result.stdout.replace("\\\n", " ")
    return [shlex.split(line) for line in joined.splitlines() if line.strip()]


def _ensure_commands(*targets: str) -> list[list[str]]:
    return [words for words in _dry_run(*targets) if words[:2] == ["sh", SCRIPT]]


@dataclass(frozen=True)
class Need:
    """One thing make ensures: its target, the packages, what its lines say, and how its check is faked."""

    target: str
    packages: str
    who: str
    missing: str
    check_program: str  # the program the check runs: a stub that succeeds once the packages are "installed"


CHROMIUM = Need(
    "chromium",
    "chromium fonts-dejavu-core",
    "make test",
    "Chromium is missing for the browser tests (tests/browser)",
    "chromium",
)
PYTHON_VENV = Need(
    "venv",
    "python3-venv",
    "make",
    "python3 cannot create the project's virtual environment (no ensurepip)",
    "python3",
)
NEEDS = [pytest.param(CHROMIUM, id="chromium"), pytest.param(PYTHON_VENV, id="python3-venv")]


class Machine:
    """A PATH of stubs. The checked program works once ``apt-get install`` (or ``sudo … apt-get install``) has
    run, unless ``apt_fails``; before that ``chromium`` is absent and ``python3`` lacks ensurepip. ``id -u``
    prints ``uid``; ``sudo -n true`` succeeds when sudo is "passwordless"."""

    def __init__(
        self,
        bin_dir: Path,
        need: Need,
        *,
        uid: int,
        sudo: str | None = None,
        apt_get: bool = True,
        apt_fails: bool = False,
        present: bool = False,
    ):
        self.bin, self.need = bin_dir, need
        self.log = bin_dir / "calls.log"
        program = bin_dir / need.check_program
        if present:
            self.stub(need.check_program, "exit 0\n")
        elif need.check_program != "chromium":
            self.stub(need.check_program, "exit 1\n")  # there, but without what the check asks of it
        installs = (
            f'case "$*" in *"install "*) printf "#!/bin/sh\\nexit 0\\n" > {program}; /bin/chmod +x {program};; esac\n'
            f"exit {100 if apt_fails else 0}\n"
        )
        self.stub("id", f'[ "$1" = -u ] && echo {uid}\n')
        if sudo is not None:
            password_ok = 0 if sudo == "passwordless" else 1
            self.stub("sudo", f'[ "$*" = "-n true" ] && exit {password_ok}\necho "sudo $*" >> {self.log}\n{installs}')
        if apt_get:
            self.stub("apt-get", f'echo "DEBIAN_FRONTEND=$DEBIAN_FRONTEND apt-get $*" >> {self.log}\n{installs}')

    def stub(self, name: str, body: str) -> None:
        path = self.bin / name
        path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)

    def run(self) -> subprocess.CompletedProcess[str]:
        """The check exactly as make runs it for the need's target."""
        (command,) = _ensure_commands(self.need.target)
        return subprocess.run(
            ["/bin/sh", *command[1:]],
            cwd=ROOT,
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


def _install(need: Need) -> str:
    return f"apt-get install -y --no-install-recommends {need.packages}"


@pytest.mark.parametrize("need", NEEDS)
def test_what_is_there_needs_nothing(bin_dir: Path, need: Need) -> None:
    machine = Machine(bin_dir, need, uid=1000, present=True)

    result = machine.run()

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert machine.calls() == []


@pytest.mark.parametrize("need", NEEDS)
def test_root_installs_with_apt_get(bin_dir: Path, need: Need) -> None:
    machine = Machine(bin_dir, need, uid=0)

    result = machine.run()

    assert result.returncode == 0, result.stderr
    assert machine.calls() == [
        "DEBIAN_FRONTEND=noninteractive apt-get update -qq",
        f"DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends {need.packages}",
    ]
    assert result.stdout == f"{need.who}: installing Debian's {need.packages}\n"
    assert result.stderr == ""


@pytest.mark.parametrize("need", NEEDS)
def test_passwordless_sudo_installs_with_sudo(bin_dir: Path, need: Need) -> None:
    machine = Machine(bin_dir, need, uid=1000, sudo="passwordless")

    result = machine.run()

    assert result.returncode == 0, result.stderr
    assert machine.calls() == [
        "sudo -n DEBIAN_FRONTEND=noninteractive apt-get update -qq",
        f"sudo -n DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends {need.packages}",
    ]


@pytest.mark.parametrize("need", NEEDS)
def test_sudo_asking_for_a_password_stops_with_the_sudo_command(bin_dir: Path, need: Need) -> None:
    machine = Machine(bin_dir, need, uid=1000, sudo="password")

    result = machine.run()

    assert result.returncode == 1
    assert result.stderr == f"{need.who}: {need.missing}; install it with: sudo {_install(need)}\n"
    assert result.stdout == ""
    assert machine.calls() == []


@pytest.mark.parametrize("need", NEEDS)
def test_no_root_and_no_sudo_stops_with_the_root_command(bin_dir: Path, need: Need) -> None:
    machine = Machine(bin_dir, need, uid=1000)

    result = machine.run()

    assert result.returncode == 1
    assert result.stderr == f"{need.who}: {need.missing}; install it as root with: {_install(need)}\n"
    assert machine.calls() == []


@pytest.mark.parametrize("need", NEEDS)
def test_not_debian_stops_with_one_line(bin_dir: Path, need: Need) -> None:
    machine = Machine(bin_dir, need, uid=0, apt_get=False)

    result = machine.run()

    assert result.returncode == 1
    assert result.stderr == (
        f"{need.who}: {need.missing}; install {need.packages} with your system's package manager\n"
    )


@pytest.mark.parametrize("need", NEEDS)
def test_a_failed_apt_get_stops_with_the_command_to_run(bin_dir: Path, need: Need) -> None:
    machine = Machine(bin_dir, need, uid=0, apt_fails=True)

    result = machine.run()

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"{need.who}: apt-get could not install {need.packages}; install it as root with: {_install(need)}"
    )
    assert machine.calls() == ["DEBIAN_FRONTEND=noninteractive apt-get update -qq"]


def test_an_install_that_does_not_mend_the_check_stops_too(bin_dir: Path) -> None:
    """A python3 that is not Debian's: python3-venv installs, and it still has no ensurepip."""
    machine = Machine(bin_dir, PYTHON_VENV, uid=0)
    machine.stub("apt-get", "exit 0\n")

    result = machine.run()

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"make: apt-get could not install python3-venv; install it as root with: {_install(PYTHON_VENV)}"
    )


def test_make_test_ensures_chromium_before_pytest() -> None:
    """The browser is checked before the suite, whatever else make runs first."""
    lines = _dry_run("test")
    ensure = [index for index, words in enumerate(lines) if words[:2] == ["sh", SCRIPT] and "chromium" in words]
    pytest_runs = [index for index, words in enumerate(lines) if words[1:3] == ["-m", "pytest"]]
    assert len(ensure) == 1, lines
    assert len(pytest_runs) == 1, lines
    assert ensure[0] < pytest_runs[0]


def test_make_ensures_python_venv_right_before_it_creates_each_venv() -> None:
    """Both venvs (the tests' and checkov's): the check comes right before each ``-m venv``."""
    lines = _dry_run("venv", ".venv-checkov/.installed")
    ensure = [index for index, words in enumerate(lines) if words[:2] == ["sh", SCRIPT]]
    creates = [index for index, words in enumerate(lines) if words[1:3] == ["-m", "venv"]]
    assert len(creates) == 2, lines
    assert [index + 1 for index in ensure] == creates, lines


def test_ci_runs_only_make_test() -> None:
    """.ci/run installs nothing itself: what CI needs, `make test` installs for everyone."""
    commands = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert commands[-1] == "make test"
    assert not any("apt-get" in line or "chromium" in line for line in commands)
