"""moto's Distributed Map and ``startExecution.sync:2``, made to run the campaign state machine as AWS does.

What moto 5.2.5 executes, and what the local stack puts right (each pinned by tests/integration/test_moto_campaign.py):

- **``startExecution`` never reaches moto.** moto took Step Functions' service integrations from LocalStack but left
  the step that turns a task's ``Parameters`` into the API's request, and its answer back, empty
  (``StateTaskService._normalise_parameters`` / ``_normalise_response``): the task calls boto3 with
  ``StateMachineArn`` (boto3 wants ``stateMachineArn``) and fails in ``States.Runtime`` (cause ``'StateMachineArn'``)
  every time. :func:`install` fills both in for the Step Functions integration only (the Lambda one, which the send
  machine uses, works as it is) with moto's own ``_to_boto_request`` / ``_from_boto_response``: the request in the
  API's casing, the answer in Step Functions' (``ExecutionArn``, ``Output``, ``Status``, ``Error``, ``Cause``), its
  dates as epoch milliseconds, as AWS puts the ``.sync:2`` output in the state.
- **ResultWriter writes only ``manifest.json``**, with every ``ResultFiles`` list empty (a TODO in moto). AWS writes
  the children's results beside it (``SUCCEEDED_0.json``, ``FAILED_0.json``, ... listed in the manifest). The
  replacement writes ``SUCCEEDED_0.json`` (a JSON array, one entry per item, ``Output`` the item's output as JSON
  text, as AWS writes it) and lists it. moto runs a Distributed Map's items in-process, not as child executions:
  the entries' ``ExecutionArn`` / ``Name`` are made up, ``Input`` is absent, and an item that fails ends the Map
  (``ToleratedFailurePercentage`` "has no effect" in moto), so there is never a ``FAILED_n.json``.
- **``ToleratedFailurePercentage: 100`` is refused** by moto's grammar, which reads only a decimal number there
  (``100.0``); :func:`definition_for_moto` writes the same number so (it has no effect in moto anyway).
- **moto's S3 events name no ``versionId``**; S3's do, from a versioned bucket (the staging bucket is one). A
  campaign is one manifest version and reads exactly that version, so the replacement adds the object's
  ``versionId`` as S3 does.

The originals are checked by the SHA-256 of their source when installed (and by tests/unit/test_library_internals.py):
a moto that fills them in itself, or moves them, fails loudly instead of being patched blindly.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import threading
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

import botocore.session
from botocore import xform_name
from botocore.model import OperationModel
from moto.s3 import notifications
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3 import (
    ResourceEvalS3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
    StateTaskService,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)

CHECKED_MOTO = "5.2.5"
ORIGINALS: dict[str, tuple[Callable[..., Any], str]] = {
    "StateTaskService._normalise_parameters": (
        StateTaskService._normalise_parameters,
        "dece59e76fd5e746d2c67f140a63bc1b25dad5dde3258c1794fa46894e6d07f9",
    ),
    "StateTaskService._normalise_response": (
        StateTaskService._normalise_response,
        "00e0b0a50b1dd4baea457d318dcc88928f27a633d3383c6224ae47c17eedbc87",
    ),
    "StateTaskServiceSfn._normalise_parameters": (
        StateTaskServiceSfn._normalise_parameters,
        "d75d3da19aad01fb6166a22a30955b50a9c0f5c5da6707e492f9757c455bcb6c",
    ),
    "notifications._get_s3_event": (
        notifications._get_s3_event,
        "e3f2ed740c7b2971d1a9eaadd72062ac371ba6b116b49efcb29634e05803a17c",
    ),
    "ResourceEvalS3._handle_put_object": (
        ResourceEvalS3._handle_put_object,
        "0613338ea09e12abf15374bd5ceae9d67ec9320b6e88a63b9f5d51c9dbbc65bd",
    ),
}
_TOLERATED_PERCENTAGE = re.compile(r'("ToleratedFailurePercentage":\s*)(\d+)(\s*[,}\n])')


def source_digest(function: Callable[..., Any]) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()


def definition_for_moto(definition: str) -> str:
    """The same definition with ``ToleratedFailurePercentage`` written as moto's grammar reads it (``100.0``)."""
    return _TOLERATED_PERCENTAGE.sub(r"\1\2.0\3", definition)


@cache
def _operation(snake_name: str) -> OperationModel:
    model = botocore.session.get_session().get_service_model("stepfunctions")
    names = {xform_name(name): name for name in model.operation_names}
    return model.operation_model(names[snake_name])


_sfn_parameters = StateTaskServiceSfn._normalise_parameters


def _normalise_parameters(
    self: StateTaskServiceSfn,
    parameters: dict[str, Any],
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    _sfn_parameters(self, parameters, boto_service_name, service_action_name)  # Input as JSON text, as before
    action = self._get_boto_service_action(service_action_name=service_action_name)
    shape = _operation(action).input_shape
    if shape is not None:
        self._to_boto_request(parameters, shape)


def _normalise_response(
    self: StateTaskServiceSfn,
    response: Any,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    action = self._get_boto_service_action(service_action_name=service_action_name)
    shape = _operation(action).output_shape
    if shape is not None:
        self._from_boto_response(response, shape)
    if isinstance(response, dict):
        for key, value in response.items():
            if isinstance(value, datetime):  # a datetime would not even serialise into the state
                response[key] = int(value.timestamp() * 1000)


_s3_event = notifications._get_s3_event


def _s3_event_with_version(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
    event: dict[str, Any] = _s3_event(event_name, bucket, key, notification_id)
    version = getattr(key, "version_id", None)
    if version and version != "null":
        event["Records"][0]["s3"]["object"]["versionId"] = version
    return event


def _put_results(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
    """moto's ``_handle_put_object`` that also writes the items' results, as AWS's ResultWriter does."""
    parameters = env.stack.pop()
    results = env.stack.pop()
    s3 = ResourceEvalS3._get_s3_client(resource_runtime_part=resource_runtime_part, state_credentials=state_credentials)
    map_run_arn = env.map_run_record_pool_manager.get_all().pop().map_run_arn
    map_run_id = map_run_arn.split(":")[-1]
    prefix = parameters["Prefix"]
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    execution = map_run_arn.replace(":mapRun:", ":execution:", 1)
    entries = [
        {
            "ExecutionArn": f"{execution}:{index}",
            "Name": str(index),
            "Output": json.dumps(result, separators=(",", ":")),
            "OutputDetails": {"Included": True},
            "Status": "SUCCEEDED",
        }
        for index, result in enumerate(results or [])
    ]
    result_files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    if entries:
        body = json.dumps(entries).encode()
        key = f"{prefix}{map_run_id}/SUCCEEDED_0.json"
        s3.put_object(Bucket=parameters["Bucket"], Key=key, Body=body)
        result_files["SUCCEEDED"].append({"Key": key, "Size": len(body)})
    manifest = {"DestinationBucket": parameters["Bucket"], "MapRunArn": map_run_arn, "ResultFiles": result_files}
    key = f"{prefix}{map_run_id}/manifest.json"
    s3.put_object(Bucket=parameters["Bucket"], Key=key, Body=json.dumps(manifest, indent=2).encode())
    env.stack.append({"MapRunArn": map_run_arn, "ResultWriterDetails": {"Bucket": parameters["Bucket"], "Key": key}})


class _Shared:
    """The one replacement, counted: several local stacks in one process share it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._restore: Callable[[], None] | None = None

    def acquire(self) -> None:
        with self._lock:
            if self._users == 0:
                self._restore = _replace()
            self._users += 1

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._restore is not None:
                self._restore()
                self._restore = None


_shared = _Shared()


def install() -> Callable[[], None]:
    """The campaign machine's integrations as on AWS, until the returned function is called (once)."""
    _shared.acquire()
    done = threading.Event()

    def release() -> None:
        if not done.is_set():
            done.set()
            _shared.release()

    return release


def _replace() -> Callable[[], None]:
    for name, (function, expected) in ORIGINALS.items():
        if source_digest(function) != expected:
            raise RuntimeError(
                f"moto's {name} is not the one local_stack.distributed_map was written against (moto {CHECKED_MOTO}):"
                " read the new one; drop the replacement if moto does it itself now."
            )
    saved_put = ResourceEvalS3.__dict__["_handle_put_object"]
    StateTaskServiceSfn._normalise_parameters = _normalise_parameters  # type: ignore[method-assign]
    StateTaskServiceSfn._normalise_response = _normalise_response  # type: ignore[method-assign,assignment]
    ResourceEvalS3._handle_put_object = staticmethod(_put_results)  # type: ignore[method-assign]
    notifications._get_s3_event = _s3_event_with_version

    def restore() -> None:
        StateTaskServiceSfn._normalise_parameters = _sfn_parameters  # type: ignore[method-assign]
        del StateTaskServiceSfn._normalise_response
        ResourceEvalS3._handle_put_object = saved_put  # type: ignore[method-assign]
        notifications._get_s3_event = _s3_event

    return restore
