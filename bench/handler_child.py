"""``python -m bench.handler_child RESULT ARGS``: a cold start of one handler in a fresh process.

``{"handler": "hash_attachment", "code": DIR}`` imports ``DIR/functions/hash_attachment/app.py`` the way the
Lambda runtime does (``DIR/layer`` plays ``/opt/python``); ``"handler": "baseline"`` imports
``boto3`` and ``requests`` instead. With ``"event"`` the handler is then invoked twice with it: the
first invocation of a container, then a warm one. Times are wall-clock seconds measured inside the process
(the interpreter's own start is the same for all and not counted); CPU seconds are user + system.
"""

from __future__ import annotations

import importlib.util
import json
import resource
import sys
import time
import uuid
from typing import Any

BASELINE = "baseline"


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _Context:
    """What the handlers and Powertools read from the Lambda context."""

    def __init__(self, name: str, memory_mb: int) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


def main(result_path: str, arguments: dict[str, Any]) -> None:
    handler_name = arguments["handler"]
    cpu_started = _cpu_seconds()
    started = time.perf_counter()
    if handler_name == BASELINE:
        import boto3  # noqa: F401  (the baseline: what any Python Lambda that calls AWS and HTTP imports)
        import requests  # noqa: F401

        handler = None
    else:
        sys.path.insert(0, f"{arguments['code']}/layer")
        path = f"{arguments['code']}/functions/{handler_name}/app.py"
        spec = importlib.util.spec_from_file_location("app", path)
        if spec is None or spec.loader is None:
            raise FileNotFoundError(path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["app"] = module
        spec.loader.exec_module(module)
        handler = module.lambda_handler
    imported = time.perf_counter()
    result: dict[str, Any] = {
        "import_seconds": imported - started,
        # CPU time of the import alone: unlike wall time, hardly affected by other processes on the machine.
        "import_cpu_seconds": _cpu_seconds() - cpu_started,
        "modules": len(sys.modules),
        "loaded": sorted(
            name
            for name in ("boto3", "botocore", "requests", "aws_xray_sdk", "aws_lambda_powertools", "pydantic")
            if name in sys.modules
        ),
        # Which packages came from the layer (as on Lambda, where /opt/python comes first), not the venv.
        "from_layer": sorted(
            name
            for name, module in list(sys.modules.items())
            if "." not in name
            and handler is not None
            and str(getattr(module, "__file__", "") or "").startswith(f"{arguments['code']}/layer/")
        ),
    }
    event = arguments.get("event")
    if handler is not None and event is not None:
        context = _Context(handler_name, int(arguments.get("memory_mb", 256)))
        timings = []
        outputs = []
        for _ in range(2):
            before = time.perf_counter()
            outputs.append(handler(json.loads(json.dumps(event)), context))
            timings.append(time.perf_counter() - before)
            if not result.get("first_cpu_seconds"):
                # From the process start: the interpreter's start-up is part of a Lambda cold start too.
                result["first_cpu_seconds"] = _cpu_seconds()
        result.update(first_seconds=timings[0], warm_seconds=timings[1], output=outputs[0])
    from bench.common import status_bytes, write_result

    result["peak_rss"] = status_bytes("VmHWM")
    write_result(result_path, result)


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))
