"""Cold start: the import time of every handler against ``import boto3, requests``, and a first invocation.

Every measurement is a fresh process with the environment Lambda gives a function (``LAMBDA_TASK_ROOT``,
``AWS_LAMBDA_FUNCTION_NAME``, a trace header, the template's POWERTOOLS_* variables): Powertools Tracer and
the X-Ray SDK then behave as on Lambda (outside Lambda the X-Ray recorder builds a sampling client, which
Lambda never does, and would distort the numbers).

Two layouts of the layer (``/opt/python``: the package and its dependencies, from this venv): "as deployed" is
what ``sam build`` ships with layers/shared/Makefile, every module with unchecked-hash bytecode; "source only"
is what sam's python builder shipped before, the same files without bytecode (Lambda's file system is
read-only, so every cold start compiled all of it, botocore included, which aws-xray-sdk brings into the
layer). The handlers' own ``app.py`` is source in both, as sam ships a function. The baseline imports
``boto3`` and ``requests`` from the venv, precompiled.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    MiB,
    Stack,
    aws_client,
    child_environment,
    median,
    run_child,
    running_stack,
    table,
)

HANDLERS = (
    "start_workflow",
    "list_actions",
    "hash_attachment",
    "create_destination",
    "upload_attachment",
    "send_message",
    "record_outcome",
    "api",
)
# The LWA client secret's functions run once a day and a few times a year, on no message's path: a cold start
# of theirs delays no buyer, so the bench leaves them out.
# The client secret's functions, and a campaign's own (once a campaign run, not per message).
# Onboarding runs once a seller (and once a day for the authorizations' age), never on a message's path.
NOT_ON_A_MESSAGES_PATH = (
    "rotate_client_secret",
    "client_secret_notifications",
    "prepare_campaign",
    "finish_campaign",
    "onboard_seller",
)
BASELINE = "baseline"
TARGET_RATIO = 1.25
TRACE_HEADER = "Root=1-67a1b2c3-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
GROUPS = {
    "boto3/botocore": ("boto3", "botocore", "s3transfer", "jmespath", "dateutil"),
    "requests/urllib3": ("requests", "urllib3", "charset_normalizer", "idna", "certifi"),
    "Powertools": ("aws_lambda_powertools",),
    "X-Ray SDK + wrapt": ("aws_xray_sdk", "wrapt"),
    "our code": ("buyer_messaging", "app"),
}


# --- the code, laid out like a Lambda function with its layer ------------------------------------------------


AS_DEPLOYED = "as deployed"
SOURCE_ONLY = "source only (before)"


@contextmanager
def code_layouts(against: str | None = None) -> Iterator[dict[str, Path]]:
    """The handlers and the layer laid out like Lambda's ``/var/task`` and ``/opt/python``: as ``sam build``
    ships them, as it shipped them before the layer had bytecode, and, with ``against`` (a git revision), that
    revision's code as deployed now (the same packaging, so only the code differs)."""
    with tempfile.TemporaryDirectory(prefix="bench-code-") as scratch:
        sources = {AS_DEPLOYED: ROOT, SOURCE_ONLY: ROOT}
        if against:
            sources[f"{AS_DEPLOYED} at {against}"] = _checkout(against, Path(scratch) / "checkout")
        layouts = {}
        for variant, source in sources.items():
            target = Path(scratch) / re.sub(r"\W+", "-", variant)
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(source / "functions", target / "functions", ignore=ignore)
            _copy_dependencies(target / "layer")
            if variant == SOURCE_ONLY:
                shutil.copytree(
                    source / "layers/shared/buyer_messaging", target / "layer/buyer_messaging", ignore=ignore
                )
            else:
                _make_layer_package(source, target / "layer")
            layouts[variant] = target
        yield layouts


def _make_layer_package(source: Path, layer: Path) -> None:
    """The package copied and everything in the layer compiled, by the layer's own Makefile (``package``: what
    ``build-SharedLayer`` does after pip, with this interpreter instead of the runtime's). An older revision
    without that Makefile gets today's, which copies the package next to it: that revision's."""
    makefile = source / "layers/shared/Makefile"
    if not makefile.exists():
        shutil.copy2(ROOT / "layers/shared/Makefile", makefile)
    subprocess.run(  # noqa: S603  (make, on our own Makefile)
        [  # noqa: S607
            "make",
            "--silent",
            "-f",
            str(makefile),
            "package",
            f"LAYER_DIR={layer}",
            f"RUNTIME_PYTHON={sys.executable}",
        ],
        check=True,
        capture_output=True,
    )


def layer_distributions() -> list[str]:
    """The distributions the layer holds: layers/shared/constraints.txt, which the layer's build installs (and
    `make lock` writes). They are copied from this venv, which must have each at that version."""
    from importlib.metadata import version

    pins = {
        re.sub(r"[-_.]+", "-", name.strip()).lower(): pinned.strip()
        for line in (ROOT / "layers/shared/constraints.txt").read_text().splitlines()
        if "==" in (requirement := line.split("#", 1)[0])
        for name, pinned in [requirement.split("==", 1)]
    }
    differ = {name: (pinned, version(name)) for name, pinned in pins.items() if version(name) != pinned}
    if differ:
        raise RuntimeError(f"this venv is not the layer's (pinned, installed): {differ}; run `make clean venv`")
    return sorted(pins)


def _copy_dependencies(layer: Path) -> None:
    """The layer's third-party files from this venv, without bytecode (pip's RECORD lists them)."""
    from importlib.metadata import distribution

    for name in layer_distributions():
        found = distribution(name)
        for file in found.files or []:
            parts = Path(str(file)).parts
            if parts[0] in ("..", "bin") or "__pycache__" in parts or file.suffix == ".pyc":
                continue
            source = Path(str(found.locate_file(file)))
            if source.is_file():
                (layer / file).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, layer / file)


def _checkout(revision: str, target: Path) -> Path:
    """The tree of ``revision`` (``git archive``), without touching the working tree."""
    target.mkdir(parents=True)
    archive = subprocess.run(  # noqa: S603  (git, with a revision the user gave)
        ["git", "archive", "--format=tar", revision, "layers/shared/buyer_messaging", "functions"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target


def lambda_environment(handler: str, code: Path, functions: Mapping[str, str] | None = None) -> dict[str, str]:
    environment = child_environment(
        {
            "PYTHONPATH": str(ROOT),  # only for `bench` itself; the code under test is on sys.path by the child
            # Lambda's /opt and /var/task are read-only: nothing gets compiled to disk between cold starts.
            "PYTHONDONTWRITEBYTECODE": "1",
            "LAMBDA_TASK_ROOT": str(code / "functions" / handler),
            "AWS_LAMBDA_FUNCTION_NAME": handler,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_REGION": "us-east-1",
            "_X_AMZN_TRACE_ID": TRACE_HEADER,
            "POWERTOOLS_SERVICE_NAME": "buyer-messaging",
            "POWERTOOLS_METRICS_NAMESPACE": "BuyerMessaging",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **(functions or {}),
        }
    )
    for name in ("POWERTOOLS_TRACE_DISABLED", "POWERTOOLS_DEV", "AWS_SAM_LOCAL"):
        environment.pop(name, None)
    return environment


# --- import times -----------------------------------------------------------------------------------------------


def measure_imports(layouts: Mapping[str, Path], repeats: int) -> dict[tuple[str, str], list[dict[str, Any]]]:
    runs: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for _ in range(repeats):
        # Round robin, so that a busy moment of the machine does not fall on one handler only.
        for variant, code in layouts.items():
            for handler in (BASELINE, *HANDLERS):
                arguments = {"handler": handler, "code": str(code)}
                run, _ = run_child("bench.handler_child", arguments, environment=lambda_environment(handler, code))
                runs[(variant, handler)].append(run)
    if shutil.which("valgrind"):
        # Instructions executed: the same count in every run of the same code, whatever else the machine is
        # doing (wall and even CPU time swing by a third on a shared 2-vCPU guest). One run each suffices. Not
        # for the source-only layout: compiling botocore under valgrind takes minutes per handler.
        for variant, code in layouts.items():
            if variant == SOURCE_ONLY:
                continue
            for handler in (BASELINE, *HANDLERS):
                runs[(variant, handler)][0]["instructions"] = _instructions(handler, code)
    return runs


def _instructions(handler: str, code: Path) -> int:
    """Instructions the fresh process executes, interpreter start included (callgrind's count)."""
    _, stderr = run_child(
        "bench.handler_child",
        {"handler": handler, "code": str(code)},
        environment=lambda_environment(handler, code),
        wrapper=("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"),
    )
    found = re.search(r"Collected : (\d+)", stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no count for {handler}:\n{stderr[-2000:]}")
    return int(found.group(1))


def _instructions_m(runs: Sequence[dict[str, Any]]) -> float | None:
    """Millions of instructions (None where valgrind is missing)."""
    counts = [run["instructions"] for run in runs if "instructions" in run]
    return counts[0] / 1e6 if counts else None


def import_breakdown(code: Path, repeats: int = 3) -> dict[str, dict[str, float]]:
    """Self time per group of modules (ms) from ``python -X importtime``: the median of a few runs each."""
    breakdown: dict[str, dict[str, float]] = {}
    for handler in (BASELINE, *HANDLERS):
        samples: dict[str, list[float]] = defaultdict(list)
        for _ in range(repeats):
            _, stderr = run_child(
                "bench.handler_child",
                {"handler": handler, "code": str(code)},
                environment=lambda_environment(handler, code),
                python_flags=("-X", "importtime"),
            )
            groups: dict[str, float] = dict.fromkeys([*GROUPS, "stdlib and other"], 0.0)
            for line in stderr.splitlines():
                found = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s+(\S+)", line)
                if not found:
                    continue
                top = found.group(2).split(".")[0]
                if top == "bench":
                    continue  # the measuring harness, the same for every row
                group = next((name for name, tops in GROUPS.items() if top in tops), "stdlib and other")
                groups[group] += int(found.group(1)) / 1000
            for group, ms in groups.items():
                samples[group].append(ms)
        breakdown[handler] = {group: median(values) for group, values in samples.items()}
    return breakdown


def import_table(runs: dict[tuple[str, str], list[dict[str, Any]]], variants: Sequence[str]) -> str:
    headers = ["handler module"]
    counted = _instructions_m(runs[(variants[0], BASELINE)]) is not None
    for variant in variants:
        headers += [f"import ms ({variant})", "x baseline", "CPU ms (min)", "x baseline"]
        headers += ["M instructions", "x baseline"] if counted else []
    headers += ["modules", "heavy packages loaded"]
    rows = []
    for handler in (BASELINE, *HANDLERS):
        row: list[object] = [_label(handler)]
        for variant in variants:
            ms = _median_ms(runs[(variant, handler)], "import_seconds")
            cpu = _min_ms(runs[(variant, handler)], "import_cpu_seconds")
            row += [ms, f"{ms / _median_ms(runs[(variant, BASELINE)], 'import_seconds'):.2f}x"]
            row += [cpu, f"{cpu / _min_ms(runs[(variant, BASELINE)], 'import_cpu_seconds'):.2f}x"]
            instructions = _instructions_m(runs[(variant, handler)])
            base_instructions = _instructions_m(runs[(variant, BASELINE)])
            if counted:
                ratio = f"{instructions / base_instructions:.2f}x" if instructions and base_instructions else None
                row += [instructions, ratio]
        last = runs[(variants[0], handler)][-1]
        row += [last["modules"], ", ".join(last["loaded"])]
        rows.append(row)
    return table(headers, rows)


def _min_ms(runs: Sequence[dict[str, Any]], field: str) -> float:
    """The least CPU a run needed: other processes only ever add to it, so the minimum is the code's cost."""
    return float(min(run[field] for run in runs)) * 1000


def _median_ms(runs: Sequence[dict[str, Any]], field: str) -> float:
    return median([run[field] for run in runs]) * 1000


def breakdown_table(breakdown: dict[str, dict[str, float]]) -> str:
    groups = [*GROUPS, "stdlib and other"]
    rows = []
    for handler, found in breakdown.items():
        rows.append([_label(handler), *(found.get(group, 0.0) for group in groups), sum(found.values())])
    return table(["self time, ms (-X importtime, median of 3)", *groups, "sum"], rows)


def _label(handler: str) -> str:
    return "`import boto3, requests` (baseline)" if handler == BASELINE else f"`functions/{handler}/app.py`"


# --- first invocations through the local stack ----------------------------------------------------------------


def measure_invocations(stack: Stack, code: Path, repeats: int) -> dict[str, list[dict[str, Any]]]:
    import json

    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    s3 = stack.s3()
    data = b"%PDF-1.7\n" + os.urandom(MiB - 9)
    # A key as POST /attachments hands them out: the API refuses any other (docs/api.md).
    key = "attachments/0b6c8f3e-2d4a-4e5b-8c7d-9e0f1a2b3c4d/bench-cold-start.pdf"
    s3.put_object(Bucket=stack.bucket, Key=key, Body=data)
    speedup = float(stack.environment.get("PACER_CLOCK_SPEEDUP", "1"))
    for repeat in range(repeats):

        def invoke(handler: str, event: dict[str, Any]) -> dict[str, Any]:
            environment = lambda_environment(handler, code, stack.environment)
            arguments = {"handler": handler, "code": str(code), "event": event}
            run, _ = run_child("bench.handler_child", arguments, environment=environment)
            runs[handler].append(run)
            output: dict[str, Any] = run["output"]
            return output

        def invoke_in_turn(handler: str, event: dict[str, Any], resume: Any) -> dict[str, Any]:
            """A step whose turn in Amazon's quota is later answers ``pacing`` without calling Amazon (the calls
            of the repeats before share the seller's quota): wait as the state machine's Wait state does and
            run it again, as ``resume(event, output)`` says. The run measured is the one that did the work (a
            fresh process too: every invocation here is cold)."""
            output = invoke(handler, event)
            while (pacing := output.get("pacing") or (output.get("destination") or {}).get("pacing")) is not None:
                time.sleep(pacing["waitSeconds"] / speedup)
                runs[handler].pop()
                event = resume(event, output)
                output = invoke(handler, event)
            return output

        request = {
            "amazonOrderId": "123-1234567-1234567",
            "marketplaceId": "ATVPDKIKX0DER",
            "messageType": "invoice",
            "attachments": [{"key": key, "fileName": "Invoice.pdf"}],
        }
        execution_id = f"arn:aws:states:us-east-1:123456789012:execution:bench:cold-{repeat}-{time.time_ns()}"
        validated = invoke_in_turn(
            "list_actions",
            {"executionId": execution_id, "request": request},
            lambda event, output: {**event, "state": output},
        )
        task = {  # a Map item, as the state machine's ItemSelector builds it
            "executionId": execution_id,
            "index": 0,
            "amazonOrderId": validated["amazonOrderId"],
            "marketplaceId": validated["marketplaceId"],
            "messageType": validated["messageType"],
            "attachment": validated["attachments"][0],
        }
        task["hash"] = {"contentMd5": invoke("hash_attachment", task)["contentMd5"]}
        destination = invoke_in_turn(
            "create_destination", task, lambda event, output: {**event, "destination": {"pacing": output["pacing"]}}
        )
        task["destination"] = {"uploadDestinationId": destination["uploadDestinationId"]}
        uploaded = invoke("upload_attachment", task)
        invoke_in_turn(
            "send_message",
            {"executionId": execution_id, "request": {**validated, "uploaded": [uploaded]}},
            lambda event, output: {**event, "request": output},
        )
        invoke("record_outcome", {"executionId": execution_id, "outcome": "sent"})
        # The HTTP API's main route: the request checked, then an execution started (a repeat of the same
        # Idempotency-Key, the warm invocation, answers with the first request).
        invoke("api", _api_post_message(key, idempotency_key=f"bench-cold-start-{repeat}-{time.time_ns()}"))
        _wait_for_executions(stack)
        # An S3 event for a request document; putting it starts the workflow in the server (moto delivers the
        # notification), so wait for that run to end before the measured start, which then finds it started.
        document_key = f"requests/bench-cold-start-{repeat}.json"
        put = s3.put_object(Bucket=stack.bucket, Key=document_key, Body=json.dumps(request).encode())
        _wait_for_executions(stack)
        invoke("start_workflow", _s3_event(stack.bucket, document_key, put))
    return runs


def _api_post_message(attachment_key: str, idempotency_key: str) -> dict[str, Any]:
    """``POST /orders/{id}/messages`` from the sample event, for the bench's staged attachment."""
    import json

    event: dict[str, Any] = json.loads((ROOT / "events/api/post-message.json").read_text())
    body = json.loads(event["body"])
    body["attachments"][0]["key"] = attachment_key
    event["body"] = json.dumps(body)
    event["headers"]["idempotency-key"] = idempotency_key
    return event


def _s3_event(bucket: str, key: str, put: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": key, "eTag": put["ETag"].strip('"'), "versionId": put.get("VersionId")},
                },
            }
        ]
    }


def _wait_for_executions(stack: Stack, timeout: float = 120) -> None:
    sfn = aws_client("stepfunctions", stack.endpoint_url)
    deadline = time.monotonic() + timeout
    for machine in sfn.list_state_machines()["stateMachines"]:
        while any(
            item["status"] == "RUNNING"
            for item in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
        ):
            if time.monotonic() > deadline:
                raise TimeoutError("an execution started by the bench did not finish")
            time.sleep(0.1)


def invocation_table(runs: dict[str, list[dict[str, Any]]]) -> str:
    rows = []
    for handler in HANDLERS:
        found = runs[handler]

        def mid(field: str, found: list[dict[str, Any]] = found) -> float:
            return median([run[field] for run in found])

        cold = mid("import_seconds") + mid("first_seconds")
        rows.append(
            [
                _label(handler),
                mid("import_seconds") * 1000,
                mid("first_seconds") * 1000,
                mid("warm_seconds") * 1000,
                (cold - mid("warm_seconds")) * 1000,
                mid("first_cpu_seconds") * 1000,
                mid("peak_rss") / MiB,
            ]
        )
    return table(
        [
            "handler (1 MiB invoice)",
            "import ms",
            "1st invocation ms",
            "warm invocation ms",
            "cold-start penalty ms",
            "CPU ms to 1st answer",
            "peak RSS MiB",
        ],
        rows,
    )


# Lambda gives a function CPU in proportion to its memory: one full vCPU at 1,769 MB (AWS Lambda docs,
# "Configuring Lambda function memory").
FULL_VCPU_MB = 1769
MEMORY_SIZES_MB = (256, 512, 1024, 1769)


def memory_table(runs: dict[str, list[dict[str, Any]]]) -> str:
    """The CPU a cold container spends until its first answer, spread over the share of a vCPU each memory
    size buys: a lower bound of the cold start at that size (network waits come on top)."""
    rows = []
    for handler in HANDLERS:
        cpu_ms = median([run["first_cpu_seconds"] for run in runs[handler]]) * 1000
        rss = median([run["peak_rss"] for run in runs[handler]]) / MiB
        estimates = [cpu_ms * FULL_VCPU_MB / size for size in MEMORY_SIZES_MB]
        rows.append([_label(handler), rss, cpu_ms, *estimates])
    return table(
        [
            "handler",
            "peak RSS MiB",
            "CPU ms to 1st answer",
            *(f"≥ ms at {size} MB" for size in MEMORY_SIZES_MB),
        ],
        rows,
    )


def targets(runs: dict[tuple[str, str], list[dict[str, Any]]], variants: Sequence[str]) -> list[list[object]]:
    rows: list[list[object]] = []

    def instructions(found: Sequence[dict[str, Any]], field: str) -> float:
        return _instructions_m(found) or 0.0

    measures: list[tuple[str, Callable[[Sequence[dict[str, Any]], str], float], str]] = [
        ("median wall time", _median_ms, "import_seconds"),
        ("least CPU time", _min_ms, "import_cpu_seconds"),
    ]
    if _instructions_m(runs[(variants[0], BASELINE)]) is not None:
        measures.append(("instructions, the whole process", instructions, "instructions"))
    for variant in variants:
        for what, measure, field in measures:
            if field == "instructions" and _instructions_m(runs[(variant, BASELINE)]) is None:
                continue
            base = measure(runs[(variant, BASELINE)], field)
            worst = max(HANDLERS, key=lambda handler: measure(runs[(variant, handler)], field))
            ratio = measure(runs[(variant, worst)], field) / base
            verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
            rows.append(
                [
                    f"every handler's import ≤ {TARGET_RATIO}x `import boto3, requests` ({variant}, {what})",
                    f"worst {ratio:.2f}x ({worst})",
                    # The other layouts are there to compare with: what is judged is what sam build ships.
                    verdict if variant == AS_DEPLOYED else f"for comparison ({verdict})",
                ]
            )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start")
    parser.add_argument("--repeats", type=int, default=9, help="fresh processes per handler and layout (median)")
    parser.add_argument("--invocations", type=int, default=3, help="cold invocation chains through the stack")
    parser.add_argument("--against", metavar="REV", help="also import the handlers of this git revision")
    args = parser.parse_args(argv)
    with code_layouts(args.against) as layouts:
        variants = list(layouts)
        runs = measure_imports(layouts, args.repeats)
        breakdown = import_breakdown(layouts[AS_DEPLOYED])
        invocations = {}
        if args.invocations:
            with running_stack() as stack:
                invocations = measure_invocations(stack, layouts[AS_DEPLOYED], args.invocations)
    print(import_table(runs, variants), "", breakdown_table(breakdown), sep="\n")
    if invocations:
        print("", invocation_table(invocations), "", memory_table(invocations), sep="\n")
    print("", table(["target", "measured", ""], targets(runs, variants)), sep="\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
