"""One boto3 client per service and region for the ASL's tasks, as long as the local stack runs.

moto 5.2.5's ASL interpreter creates a new boto3 client for every Task state it runs (``boto_client_for``: the
Lambda invocation of each step, the S3 and Step Functions integrations). Creating a client reads botocore's service
models and builds its event handlers: in a burst of 300 executions that was a tenth of the stack's CPU, time every
other seller's step waited for the interpreter. Step Functions keeps no such cost per task. The clients moto
creates differ only in region and service (the same fixed keys and config), and a boto3 client is safe to share
between threads, so here each (region, service) gets one, created when first needed.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from moto.stepfunctions.parser.asl.utils import boto_client

CHECKED_MOTO = "5.2.5"
# The source of moto's boto_client_for whose clients are shared: its keys and Config are fixed, so two calls with
# the same region and service create the same client.
BOTO_CLIENT_FOR_SHA256 = "1f44dc2ac8aa2179df62365a6e5ea377f1770ea828a0f107440a2554f1b4edb8"
MOTO_BOTO_CLIENT_FOR = boto_client.boto_client_for
# Every module of moto's ASL interpreter that imports boto_client_for by name (moto 5.2.5).
_PACKAGE = "moto.stepfunctions.parser.asl.component.state.exec."
USERS = tuple(
    _PACKAGE + name
    for name in (
        "state_map.result_writer.resource_eval.resource_eval_s3",
        "state_map.item_reader.eval.resource_eval_s3",
        "state_task.lambda_eval_utils",
        "state_task.service.state_task_service_unsupported",
        "state_task.service.state_task_service_glue",
        "state_task.service.state_task_service_events",
        "state_task.service.state_task_service_ecs",
        "state_task.service.state_task_service_sqs",
        "state_task.service.state_task_service_sfn",
        "state_task.service.state_task_service_dynamodb",
        "state_task.service.state_task_service_batch",
        "state_task.service.state_task_service_sns",
        "state_task.service.state_task_service_aws_sdk",
    )
)


def source_digest(function: Callable[..., Any]) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()


def install() -> Callable[[], None]:
    """Share the ASL's task clients until the returned function is called."""
    if source_digest(MOTO_BOTO_CLIENT_FOR) != BOTO_CLIENT_FOR_SHA256:
        raise RuntimeError(
            "moto's boto_client_for is not the one local_stack.task_clients was written against "
            f"(moto {CHECKED_MOTO}): read the new code and follow it."
        )
    clients: dict[tuple[str, str], Any] = {}
    creating = threading.Lock()

    def shared_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        key = (region, service)
        client = clients.get(key)
        if client is None:
            with creating:
                client = clients.get(key)
                if client is None:
                    client = clients[key] = MOTO_BOTO_CLIENT_FOR(region, service, state_credentials)
        return client

    users: list[ModuleType] = [importlib.import_module(name) for name in USERS]
    moved = [module.__name__ for module in users if vars(module).get("boto_client_for") is not MOTO_BOTO_CLIENT_FOR]
    if moved:
        raise RuntimeError(f"moto's {moved} no longer import boto_client_for: read local_stack/task_clients.py again")
    for module in users:
        module.boto_client_for = shared_client_for  # type: ignore[attr-defined]

    def restore() -> None:
        for module in users:
            module.boto_client_for = MOTO_BOTO_CLIENT_FOR  # type: ignore[attr-defined]
        clients.clear()

    return restore
