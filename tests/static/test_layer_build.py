"""How `sam build` builds the shared layer: layers/shared/Makefile (no network, no SAM CLI, no python3.13 needed).

The template says which runtime and architecture the functions and the layer are for; the Makefile says what
pip downloads and which interpreter compiles. These tests keep the two in step, and run the Makefile's copy
and compile step on the package (with this interpreter) to check what it ships.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [
    pytest.mark.static,
    pytest.mark.skipif(shutil.which("make") is None, reason="needs make"),
]

ROOT = Path(__file__).resolve().parents[2]
LAYER_ID = "SharedLayer"
PACKAGE = "buyer_messaging"
# sam's names for an architecture -> the machine in manylinux platform tags
MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}
# The glibc of Lambda's Python runtimes (python3.12 and later: Amazon Linux 2023), and the oldest manylinux
# tag of each machine (PEP 599: manylinux2014 = glibc 2.17, the first with aarch64).
RUNTIME_GLIBC_MINOR = 34
OLDEST_GLIBC_MINOR = {"aarch64": 17, "x86_64": 5}
# The flags byte of a .pyc (PEP 552): 0b01 = hash-based, 0b10 = check the source. Unchecked hash: 0b01.
UNCHECKED_HASH = 0b01


@pytest.fixture(scope="module")
def layer(template: dict[str, Any]) -> dict[str, Any]:
    resource: dict[str, Any] = template["Resources"][LAYER_ID]
    return resource


@pytest.fixture(scope="module")
def makefile(layer: dict[str, Any]) -> Path:
    return ROOT / layer["Properties"]["ContentUri"] / "Makefile"


@pytest.fixture(scope="module")
def runtime(template: dict[str, Any], layer: dict[str, Any]) -> str:
    """The functions' runtime, which must be the layer's only one."""
    runtime: str = template["Globals"]["Function"]["Runtime"]
    assert layer["Properties"]["CompatibleRuntimes"] == [runtime]
    return runtime


@pytest.fixture(scope="module")
def architecture(template: dict[str, Any], layer: dict[str, Any]) -> str:
    """The functions' architecture, which must be the layer's only one and the one it is built for."""
    (architecture,) = template["Globals"]["Function"]["Architectures"]
    assert layer["Properties"]["CompatibleArchitectures"] == [architecture]
    assert layer["Metadata"]["BuildArchitecture"] == architecture
    return str(architecture)


def make(makefile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """make with the Makefile's own defaults: no variable or flag from the environment (nor from `make test`)."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "ARTIFACTS_DIR", "LAYER_DIR", "RUNTIME_PYTHON"}
    }
    return subprocess.run(
        ["make", "--no-print-directory", "--makefile", str(makefile), *args],
        cwd=makefile.parent,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def build_lines(makefile: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """What `sam build` runs for the layer (`make -n`: printed, not run), one command a line."""
    artifacts = tmp_path_factory.mktemp("artifacts")
    dry_run = make(makefile, "--dry-run", f"build-{LAYER_ID}", f"ARTIFACTS_DIR={artifacts}")
    assert dry_run.returncode == 0, dry_run.stderr
    assert not any(artifacts.iterdir()), "make --dry-run wrote something"
    return [line for line in dry_run.stdout.replace("\\\n", " ").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def build_commands(build_lines: list[str]) -> list[list[str]]:
    """The `<python> -m <module>` commands of the build, as words."""
    return [shlex.split(line) for line in build_lines if re.match(r"\S+ -m \w", line)]


def command(commands: list[list[str]], *module: str) -> list[str]:
    """The one command that runs `<python> -m <module…>`."""
    found = [words for words in commands if words[1 : 2 + len(module)] == ["-m", *module]]
    assert len(found) == 1, f"{' '.join(module)}: {found}"
    return found[0]


def options(words: list[str], name: str) -> list[str]:
    return [words[index + 1] for index, word in enumerate(words[:-1]) if word == name]


# ------------------------------------------------------------------ the template and the Makefile agree
def test_layer_is_built_by_its_makefile(layer: dict[str, Any], makefile: Path) -> None:
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert makefile.is_file()


def test_makefile_target_is_the_layer_logical_id(template: dict[str, Any], makefile: Path) -> None:
    """sam build runs the target build-<logical id> of the Makefile in the resource's ContentUri."""
    built_here = {
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource.get("Metadata", {}).get("BuildMethod") == "makefile"
        and (ROOT / resource["Properties"].get("ContentUri", resource["Properties"].get("CodeUri", ""))).resolve()
        == makefile.parent.resolve()
    }
    targets = set(re.findall(r"^build-(\w+):", makefile.read_text(encoding="utf-8"), flags=re.MULTILINE))
    assert built_here == {LAYER_ID}
    assert targets == built_here


def test_pip_installs_for_the_runtime_not_the_build_host(build_commands: list[list[str]], runtime: str) -> None:
    pip = command(build_commands, "pip", "install")
    version = runtime.removeprefix("python")
    assert re.fullmatch(r"3\.\d+", version), runtime
    assert pip[0] == runtime, "pip must run on the runtime's interpreter (it evaluates markers with it)"
    assert options(pip, "--python-version") == [version]
    assert options(pip, "--implementation") == ["cp"]
    assert options(pip, "--abi") == [f"cp{version.replace('.', '')}"]
    assert "--only-binary=:all:" in pip
    assert "--no-compile" in pip
    assert options(pip, "--requirement") == [str(ROOT / "layers/shared/requirements.txt")]
    # every distribution at the version locked for the runtime (tests/static/test_dependencies.py)
    assert options(pip, "--constraint") == [str(ROOT / "layers/shared/constraints.txt")]


def test_pip_platforms_are_every_manylinux_tag_of_the_architecture(
    build_commands: list[list[str]], architecture: str
) -> None:
    """Every glibc-based tag that Lambda's glibc runs, for the template's architecture and no other, newest
    first: pip does not expand a manylinux_2_X tag to older ones itself."""
    machine = MACHINES[architecture]
    platforms = options(command(build_commands, "pip", "install"), "--platform")
    newest_first = [
        f"manylinux_2_{minor}_{machine}" for minor in range(RUNTIME_GLIBC_MINOR, OLDEST_GLIBC_MINOR[machine] - 1, -1)
    ]
    assert platforms[: len(newest_first)] == newest_first
    legacy = platforms[len(newest_first) :]
    assert f"manylinux2014_{machine}" in legacy
    assert all(re.fullmatch(rf"manylinux(1|2010|2014)_{machine}", tag) for tag in legacy), legacy


def test_bytecode_is_compiled_by_the_runtime_as_unchecked_hash(build_commands: list[list[str]], runtime: str) -> None:
    compile_ = command(build_commands, "compileall")
    assert compile_[0] == runtime, "the .pyc magic number is the compiling interpreter's"
    assert options(compile_, "--invalidation-mode") == ["unchecked-hash"]
    assert options(compile_, "-d") == ["/opt/python"]
    assert compile_[-1].endswith("/python")


def test_build_checks_the_interpreter_then_installs_then_compiles(build_lines: list[str]) -> None:
    steps = ("sys.implementation.cache_tag", " -m pip install ", f"find {PACKAGE} ", " -m compileall ")
    order = [next(i for i, line in enumerate(build_lines) if step in line) for step in steps]
    assert order == sorted(order), build_lines


def test_build_refuses_another_python(makefile: Path, runtime: str, tmp_path: Path) -> None:
    version = runtime.removeprefix("python")
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        pytest.skip(f"this interpreter is {runtime}'s: the build would run pip")
    for python in (sys.executable, str(tmp_path / "no-such-python")):
        result = make(makefile, f"build-{LAYER_ID}", f"ARTIFACTS_DIR={tmp_path}", f"RUNTIME_PYTHON={python}")
        assert result.returncode != 0
        assert f"Install Python {version}" in result.stderr
        assert "sam build --use-container" in result.stderr
        assert not (tmp_path / "python").exists()


# ------------------------------------------------------------------ what the copy and compile step ships
@pytest.fixture(scope="module")
def packaged(makefile: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """layers/shared copied with stray files added, then `make package` into a layer folder (this interpreter)."""
    source = tmp_path_factory.mktemp("source") / "shared"
    shutil.copytree(makefile.parent, source, ignore=shutil.ignore_patterns("__pycache__"))
    strays = [
        "__pycache__/models.cpython-313.pyc",
        "tests/test_models.py",
        "test_scratch.py",
        ".scratch.py",
        "notes.txt",
        "models.py.orig",
    ]
    for stray in strays:
        (source / PACKAGE / stray).parent.mkdir(parents=True, exist_ok=True)
        (source / PACKAGE / stray).write_text("raise SystemExit('a stray file was shipped')\n", encoding="utf-8")
    layer = tmp_path_factory.mktemp("layer") / "python"
    result = make(source / "Makefile", "package", f"LAYER_DIR={layer}", f"RUNTIME_PYTHON={sys.executable}")
    assert result.returncode == 0, result.stderr
    return layer


def test_package_ships_the_modules_only(packaged: Path) -> None:
    shipped = {
        path.relative_to(packaged).as_posix()
        for path in packaged.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    expected = {
        path.relative_to(ROOT / "layers/shared").as_posix()
        for path in (ROOT / "layers/shared" / PACKAGE).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert shipped == expected


def test_every_module_has_unchecked_hash_bytecode(packaged: Path) -> None:
    modules = sorted(packaged.rglob("*.py"))
    assert modules
    for module in modules:
        pyc = Path(importlib.util.cache_from_source(str(module)))
        header = pyc.read_bytes()[:16]
        assert header[:4] == importlib.util.MAGIC_NUMBER, pyc
        assert int.from_bytes(header[4:8], "little") == UNCHECKED_HASH, pyc
    assert sorted(packaged.rglob("*.pyc")) == sorted(
        Path(importlib.util.cache_from_source(str(module))) for module in modules
    )


_IMPORT_EVERY_MODULE = """
import importlib, importlib.machinery, json, pkgutil, sys
compiled = []
to_code = importlib.machinery.SourceFileLoader.source_to_code
def spy(self, data, path, *args, **kwargs):
    compiled.append(path)
    return to_code(self, data, path, *args, **kwargs)
importlib.machinery.SourceFileLoader.source_to_code = spy
import buyer_messaging
names = [module.name for module in pkgutil.walk_packages(buyer_messaging.__path__, "buyer_messaging.")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"names": names, "files": [sys.modules[n].__file__ for n in names], "compiled": compiled}))
"""


def test_bytecode_is_used_without_reading_the_source(packaged: Path, tmp_path: Path) -> None:
    """As on Lambda: the sources' time stamps are not the build's (sam's zip writes 1980-01-01) and nothing can
    be written. Even a source that no longer matches its .pyc is not read: nothing is compiled at import."""
    layer = tmp_path / "python"
    shutil.copytree(packaged, layer)
    for source in layer.rglob("*.py"):
        os.utime(source, (315532800, 315532800))  # 1980-01-01
    (layer / PACKAGE / "naming.py").write_text("raise SystemExit('the source was compiled')\n", encoding="utf-8")
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    environment.update({"PYTHONPATH": str(layer), "PYTHONDONTWRITEBYTECODE": "1", "AWS_DEFAULT_REGION": "us-east-1"})
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERY_MODULE],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert f"{PACKAGE}.naming" in report["names"]
    assert all(Path(file).is_relative_to(layer) for file in report["files"])
    assert report["compiled"] == []


def test_no_source_holds_a_lone_surrogate() -> None:
    """A string constant holding a lone surrogate (a docstring's "\\ud800" written without its second backslash)
    compiles under this Python but not under the runtime's: Python 3.13 encodes docstrings as UTF-8 when it
    compiles them, so the layer's `python3.13 -m compileall` (and `sam build`) stopped with "UnicodeEncodeError:
    surrogates not allowed" while every test here passed."""
    import ast

    found = []
    for path in sorted([*(ROOT / "layers/shared").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                try:
                    node.value.encode("utf-8")
                except UnicodeEncodeError:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, f"string constants with a lone surrogate (write \\\\ud800 in the source): {found}"


def test_the_package_imports_only_the_standard_library_and_the_layers_distributions() -> None:
    """A module of the layer that imports a distribution the layer does not ship (pydantic, a test tool) fails on
    Lambda only: every import of the package, in functions too, is of the package, the standard library, or a
    distribution of layers/shared/constraints.txt."""
    import ast
    from importlib.metadata import packages_distributions

    def normal(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    shipped = {
        normal(line.split("==", 1)[0])
        for line in (ROOT / "layers/shared/constraints.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }
    distributions = packages_distributions()
    foreign = []
    for path in sorted((ROOT / "layers" / "shared" / PACKAGE).glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # Imports for the type checker only (`if TYPE_CHECKING:`, boto3's stubs) never run.
        typing_only = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for statement in node.body
            for inner in ast.walk(statement)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".", 1)[0]
                if top in {PACKAGE, "__future__"} or top in sys.stdlib_module_names:
                    continue
                if not {normal(dist) for dist in distributions.get(top, [])} & shipped:
                    foreign.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert foreign == []
