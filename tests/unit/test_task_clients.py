"""The ASL's Task states share one boto3 client per service and region while the local stack runs (moto 5.2.5
creates one per task; see local_stack.task_clients)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import moto
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

from local_stack import task_clients


def test_tasks_share_a_client_per_service_and_region_until_restored() -> None:
    restore = task_clients.install()
    try:
        with ThreadPoolExecutor(8) as pool:  # the steps of executions started together
            clients = list(pool.map(lambda _: lambda_eval_utils.boto_client_for("us-east-1", "lambda"), range(8)))
        assert len({id(client) for client in clients}) == 1
        assert lambda_eval_utils.boto_client_for("eu-west-1", "lambda") is not clients[0]
        assert lambda_eval_utils.boto_client_for("us-east-1", "s3") is not clients[0]
        assert clients[0].meta.region_name == "us-east-1"
    finally:
        restore()
    assert lambda_eval_utils.boto_client_for is task_clients.MOTO_BOTO_CLIENT_FOR
    assert lambda_eval_utils.boto_client_for("us-east-1", "lambda") is not clients[0]


def test_moto_creates_its_task_clients_as_task_clients_was_written_against() -> None:
    assert task_clients.source_digest(task_clients.MOTO_BOTO_CLIENT_FOR) == task_clients.BOTO_CLIENT_FOR_SHA256, (
        f"moto changed boto_client_for since {task_clients.CHECKED_MOTO}: read local_stack/task_clients.py again"
    )
    root = Path(moto.__file__).parent
    importing = sorted(
        ".".join(path.relative_to(root.parent).with_suffix("").parts)
        for path in (root / "stepfunctions").rglob("*.py")
        if re.search(r"^from \S+ import boto_client_for$", path.read_text(encoding="utf-8"), re.MULTILINE)
    )
    assert importing == sorted(task_clients.USERS), "moto's users of boto_client_for moved: update USERS"
