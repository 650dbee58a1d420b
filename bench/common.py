"""What every benchmark needs: the machine, Markdown tables, the process's memory, child processes, the stack.

Measurements run in fresh child processes so that each one's time and peak RSS are its own: not the
parent's imports, not moto's S3 (which keeps every object in memory), not the emulator's.
"""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
# Decimal megabytes per second, like network and disk rates are usually given.
MB = 1_000_000
PYTHONPATH = os.pathsep.join(str(ROOT / part) for part in ("layers/shared", "local", "."))
AWS_TEST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


# --- the machine ------------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
        if found:
            cpu = found.group(1).strip()
    except OSError:
        pass
    memory = ""
    try:
        total_kib = int(re.findall(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[0])
        memory = f"{total_kib / 1024 / 1024:.1f} GiB"
    except (OSError, IndexError):
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "OS": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "load average at start": " / ".join(f"{value:.2f}" for value in load),
    }


# --- tables -------------------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; numbers right-aligned."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(str(header)), *(len(row[i]) for row in cells)) for i, header in enumerate(headers)]
    numeric = [all(_is_number(row[i]) for row in cells) and bool(cells) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "| " + " | ".join(parts) + " |"

    dashes = [("-" * (w - 1) + ":") if num else "-" * w for w, num in zip(widths, numeric, strict=True)]
    rule = "| " + " | ".join(dashes) + " |"
    return "\n".join([line([str(h) for h in headers]), rule, *(line(row) for row in cells)])


def _cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _is_number(text: str) -> bool:
    return bool(re.fullmatch(r"[-+]?[\d,]*\.?\d+(?:[x%])?|—", text))


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


# --- memory of this process ---------------------------------------------------------------------------------


def status_bytes(field: str) -> int:
    """A size from /proc/self/status (VmRSS, VmHWM), in bytes."""
    found = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    if found is None:
        raise RuntimeError(f"/proc/self/status has no {field} (the benchmarks need Linux)")
    return int(found.group(1)) * 1024


def reset_peak_rss() -> bool:
    """Make VmHWM start again from the current RSS (Linux 4.0+), so a peak belongs to what follows."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# --- child processes ----------------------------------------------------------------------------------------


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    environment = {**os.environ, **AWS_TEST_CREDENTIALS, "PYTHONPATH": PYTHONPATH}
    environment.pop("AWS_ENDPOINT_URL", None)
    environment.update(extra or {})
    return environment


def run_child(
    module: str,
    arguments: Mapping[str, Any],
    *,
    environment: Mapping[str, str] | None = None,
    python_flags: Sequence[str] = (),
    wrapper: Sequence[str] = (),
    timeout: float = 600,
) -> tuple[dict[str, Any], str]:
    """Run ``python -m <module> <result file> <arguments as JSON>`` (under ``wrapper``, e.g. valgrind, if
    given); its JSON result and its stderr."""
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        result_path = Path(scratch) / "result.json"
        completed = subprocess.run(  # noqa: S603  (our own interpreter and module)
            [*wrapper, sys.executable, *python_flags, "-m", module, str(result_path), json.dumps(arguments)],
            cwd=ROOT,
            env=dict(environment) if environment is not None else child_environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if completed.returncode != 0 or not result_path.exists():
            raise RuntimeError(
                f"{module} {arguments.get('op', '')} failed ({completed.returncode}):\n{completed.stderr[-4000:]}"
            )
        result: dict[str, Any] = json.loads(result_path.read_text())
        return result, completed.stderr


def run_quiet_child(module: str, arguments: Mapping[str, Any], *, timeout: float) -> dict[str, Any]:
    """``python -m <module> <result file> <arguments as JSON>`` with its output dropped (the functions' logs of a
    local stack under load); its JSON result, or a RuntimeError with the tail of its stderr."""
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        result_path = Path(scratch) / "result.json"
        errors_path = Path(scratch) / "stderr.txt"
        with errors_path.open("w") as errors:
            completed = subprocess.run(  # noqa: S603  (our own interpreter and module)
                [sys.executable, "-m", module, str(result_path), json.dumps(arguments)],
                cwd=ROOT,
                env=child_environment({"POWERTOOLS_TRACE_DISABLED": "true"}),
                stdout=subprocess.DEVNULL,
                stderr=errors,
                timeout=timeout,
                check=False,
            )
        if completed.returncode != 0 or not result_path.exists():
            tail = errors_path.read_text(errors="replace")[-4000:]
            raise RuntimeError(f"{module} failed ({completed.returncode}):\n{tail}")
        result: dict[str, Any] = json.loads(result_path.read_text())
        return result


def write_between(path: Path, start: str, end: str, text: str) -> None:
    """Replace what stands between the markers ``start`` and ``end`` of a file (a README's results) with ``text``."""
    content = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(content):
        raise SystemExit(f"{path} has no {start} ... {end} section")
    path.write_text(pattern.sub(lambda _: f"{start}\n{text}\n{end}", content), encoding="utf-8")


def write_result(path: str, result: Mapping[str, Any]) -> None:
    Path(path).write_text(json.dumps(result))


# --- the stack: moto's S3 (and the rest) and the SP-API emulator, each in a process of its own -------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Stack:
    endpoint_url: str  # moto server (S3, DynamoDB, Secrets Manager, Step Functions, Lambda)
    bucket: str
    environment: dict[str, str]  # the functions' environment from template.yaml, pointing at this stack
    emulator_url: str
    token_url: str
    upload_host: str
    credentials: dict[str, str]

    def s3(self) -> Any:
        return aws_client("s3", self.endpoint_url)


def aws_client(service: str, endpoint_url: str) -> Any:
    """A boto3 client of the local stack (moto accepts any credentials)."""
    import boto3

    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    return boto3.client(service, endpoint_url=endpoint_url, **credentials)  # type: ignore[call-overload]


@contextmanager
def running_stack() -> Iterator[Stack]:
    """The SP-API emulator in one process, moto's server with template.yaml deployed in another."""
    from spapi_emulator import load_default_seed

    credentials = load_default_seed().credentials.as_secret()
    with _process(
        [sys.executable, "-m", "spapi_emulator", "--port", "0"], r"listening on (http://[\d.]+:\d+)"
    ) as emulator_url:
        target: dict[str, Any] = {
            "endpoint": emulator_url,
            "token_url": emulator_url + "/auth/o2/token",
            "upload_host": "127.0.0.1",
            "credentials": credentials,
        }
        moto_port = free_port()
        with _process(
            [sys.executable, "-m", "bench.aws_server", str(moto_port), json.dumps(target)], r"^READY (\{.*\})$"
        ) as ready:
            deployed = json.loads(ready)
            yield Stack(
                endpoint_url=deployed["endpoint_url"],
                bucket=deployed["bucket"],
                environment=deployed["environment"],
                emulator_url=emulator_url,
                token_url=target["token_url"],
                upload_host="127.0.0.1",
                credentials=credentials,
            )


@contextmanager
def _process(command: Sequence[str], ready_pattern: str, timeout: float = 120) -> Iterator[str]:
    """Start a server process and wait for the line that says it is ready; stop it afterwards."""
    process = subprocess.Popen(  # noqa: S603  (our own interpreter and modules)
        command,
        cwd=ROOT,
        env=child_environment({"PYTHONUNBUFFERED": "1"}),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        for line in process.stdout:
            found = re.search(ready_pattern, line.strip())
            if found:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{command[2:4]} did not start")
        else:
            raise RuntimeError(f"{' '.join(command[2:4])} exited before it was ready ({process.wait()})")
        yield found.group(1)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
