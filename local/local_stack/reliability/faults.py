"""The fault table: what can go wrong while a good request is on its way, and how each must end.

Each fault kind runs a good invoice request (one staged PDF) on a fresh stack while something goes wrong:
SP-API throttling or outages, a timeout, LWA down or refusing the refresh token, the upload endpoint
rejecting the bytes, a destination expiring, the staged object vanishing mid-flight, a duplicate S3 event,
a crash after the send. Transient faults must end "delivered once"; permanent ones in their named error
with nothing sent. No kind may lose a staged object it did not remove itself.

A fault is said once, here: :meth:`FaultCase.apply` makes it happen on any running stack, the matrix's
(:mod:`.runner`) or the one of ``tests/integration/test_workflow.py``, which checks more of some of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from local_stack.reliability.inputs import ORDER, PDF, US, attachment, doc

if TYPE_CHECKING:
    from local_stack.stack import LocalStack
    from spapi_emulator import Emulator

DELIVERED_ONCE = "delivered once"
FAULT_KEY = "attachments/invoice.pdf"
OTHER_KEY = "attachments/other.pdf"  # staged next to the invoice: no fault may take it with it
FAULT_OUTBOX_KEY = f"outbox/{US}/{ORDER}/invoice/Invoice.pdf"
FAULT_REQUEST = doc("invoice", attachments=[attachment(FAULT_KEY, "Invoice.pdf")])


class RunningStack(Protocol):
    """A deployed local stack and its emulator: what a fault is made to happen on."""

    @property
    def local(self) -> LocalStack: ...

    @property
    def emulator(self) -> Emulator: ...

    @property
    def bucket(self) -> str: ...


@dataclass(frozen=True)
class FaultCase:
    """One fault kind and the outcome it must have.

    - ``faults``: ``(operation, inject_fault keyword arguments)`` put into the emulator before the start.
    - ``arrange``: called with the stack before the start, e.g. to wrap the in-process Lambda invocations.
    - ``environment``: variables set for this case only (the functions read them; caches reset around).
    - ``refresh_token``: what the credentials secret holds instead of the seed's refresh token.
    - ``entry``: ``console`` starts the request directly; ``outbox-twice`` drops the invoice under outbox/
      and hands the trigger the same S3 event again (:func:`redeliver_s3_event`).
    - ``removes``: staged keys the fault itself deletes (not counted as lost).
    - ``destinations`` / ``send_calls``: how many upload destinations / sendInvoice calls there must be
      (None: not checked).
    """

    id: str
    injected: str
    expected: str
    faults: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    arrange: Callable[[RunningStack], object] | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    refresh_token: str | None = None
    entry: Literal["console", "outbox-twice"] = "console"
    removes: tuple[str, ...] = ()
    destinations: int | None = None
    send_calls: int | None = None
    executions: int = 1

    @property
    def transient(self) -> bool:
        return self.expected == DELIVERED_ONCE

    def apply(self, stack: RunningStack) -> object:
        """Make the fault happen on ``stack`` before a request starts; what ``arrange`` returned."""
        for operation, arguments in self.faults:
            stack.emulator.inject_fault(operation, **arguments)
        return self.arrange(stack) if self.arrange is not None else None


# ---------------------------------------------------------------------------------------------- arrangements


def _wrap_invoke(
    stack: RunningStack, before: Callable[[str], None] | None = None, after: Callable[..., Any] | None = None
) -> None:
    """Wrap the stack's in-process Lambda invocations (each stack is thrown away after its run)."""
    invoke = stack.local.lambdas.invoke

    def wrapped(function: Any, event: Any) -> tuple[str, bool, str]:
        if before is not None:
            before(function.name)
        result: tuple[str, bool, str] = invoke(function, event)
        if after is not None:
            return after(function.name, result)  # type: ignore[no-any-return]
        return result

    stack.local.lambdas.invoke = wrapped  # type: ignore[method-assign]


def expire_before_first_upload(stack: RunningStack) -> None:
    """Amazon's presigned URLs live 15 minutes: the emulated clock passes that before the first upload."""

    def before(name: str) -> None:
        if name.endswith("UploadAttachmentFunction") and not stack.emulator.calls("upload"):
            stack.emulator.advance_clock(901)  # the first presigned URL is past its X-Amz-Expires (900 s) now

    _wrap_invoke(stack, before=before)


def _before_first_hash(stack: RunningStack, change: Callable[[Any], None]) -> None:
    done: list[bool] = []

    def before(name: str) -> None:
        if name.endswith("HashAttachmentFunction") and not done:
            done.append(True)
            change(stack.local.client("s3"))

    _wrap_invoke(stack, before=before)


def _delete_staged_version(stack: RunningStack) -> None:
    """After ValidateRequest: the staged invoice's version is deleted (for good, no delete marker)."""

    def delete(s3: Any) -> None:
        version = s3.head_object(Bucket=stack.bucket, Key=FAULT_KEY)["VersionId"]
        s3.delete_object(Bucket=stack.bucket, Key=FAULT_KEY, VersionId=version)

    _before_first_hash(stack, delete)


def _replace_staged_object(stack: RunningStack) -> None:
    """After ValidateRequest: the staged invoice is overwritten with other bytes (a new version)."""
    _before_first_hash(stack, lambda s3: s3.put_object(Bucket=stack.bucket, Key=FAULT_KEY, Body=PDF + b"\n% v2\n"))


def crash_after_send(stack: RunningStack) -> list[str]:
    """The send step sends, then its Lambda sandbox dies before answering, once. The functions it crashed
    (filled as the run goes: empty afterwards means the crash never happened)."""
    crashes: list[str] = []

    def after(name: str, result: tuple[str, bool, str]) -> tuple[str, bool, str]:
        if name.endswith("SendMessageFunction") and not crashes:
            crashes.append(name)
            failure = {"errorType": "Lambda.ServiceException", "errorMessage": "the sandbox died after the send"}
            return json.dumps(failure), True, ""
        return result

    _wrap_invoke(stack, after=after)
    return crashes


def redeliver_s3_event(stack: RunningStack) -> dict[str, Any]:
    """S3 delivers an event at least once: hand the trigger the S3 event it got (exactly one) again; the
    Invoke answer."""
    deployment = stack.local.deployment
    assert deployment is not None, "the stack is not deployed"
    trigger = deployment.functions["StartWorkflowFunction"]
    (first_event,) = [item.event for item in stack.local.lambdas.invocations if item.function_name == trigger]
    answer: dict[str, Any] = stack.local.client("lambda").invoke(FunctionName=trigger, Payload=json.dumps(first_event))
    return answer


# ---------------------------------------------------------------------------------------------- the table

FAULT_CASES: tuple[FaultCase, ...] = (
    FaultCase(
        "throttled-actions",
        "getMessagingActionsForOrder 429 x4",
        DELIVERED_ONCE,
        faults=(("getMessagingActionsForOrder", {"status": 429, "count": 4}),),
        destinations=1,
    ),
    FaultCase(
        "throttled-send",
        "sendInvoice 429 x4",
        DELIVERED_ONCE,
        faults=(("sendInvoice", {"status": 429, "count": 4}),),
        destinations=1,
    ),
    FaultCase(
        "destination-5xx",
        "createUploadDestinationForResource 500, then 503",
        DELIVERED_ONCE,
        faults=(
            ("createUploadDestinationForResource", {"status": 500}),
            ("createUploadDestinationForResource", {"status": 503}),
        ),
        destinations=1,
    ),
    FaultCase("upload-503", "upload PUT 503", DELIVERED_ONCE, faults=(("upload", {"status": 503}),)),
    FaultCase(
        "upload-request-timeout",
        "upload PUT 400 RequestTimeout (S3: the body stalled)",
        DELIVERED_ONCE,
        faults=(("upload", {"status": 400, "error_code": "RequestTimeout"}),),
    ),
    FaultCase(
        # No answer to the send: Amazon may have the message, so it is not sent again (SendOutcomeUnknown).
        "send-timeout",
        "sendInvoice answers after 3 s; SPAPI_READ_TIMEOUT=1",
        "SendOutcomeUnknown",
        faults=(("sendInvoice", {"delay_seconds": 3.0}),),
        environment={"SPAPI_READ_TIMEOUT": "1"},
    ),
    FaultCase("lwa-down", "lwaToken 503 x2", DELIVERED_ONCE, faults=(("lwaToken", {"status": 503, "count": 2}),)),
    FaultCase(
        "lwa-invalid-grant",
        "credentials secret with a wrong refresh token",
        "LwaInvalidGrant",
        refresh_token="Atzr|not-the-refresh-token-amazon-issued",  # noqa: S106  (deliberately wrong, not a secret)
        destinations=0,
        send_calls=0,
    ),
    FaultCase(
        "upload-bad-digest",
        "upload PUT 400 BadDigest",
        "UploadRejected",
        faults=(("upload", {"status": 400, "error_code": "BadDigest"}),),
        send_calls=0,
    ),
    FaultCase(
        "destination-expired",
        "emulated clock +901 s before the first upload",
        DELIVERED_ONCE,
        arrange=expire_before_first_upload,
        destinations=2,
    ),
    FaultCase(
        "object-deleted",
        "staged invoice's version deleted after ValidateRequest",
        "AttachmentNotFound",
        arrange=_delete_staged_version,
        removes=(FAULT_KEY,),
        destinations=0,
        send_calls=0,
    ),
    FaultCase(
        "object-replaced",
        "staged invoice overwritten after ValidateRequest",
        "AttachmentChanged",
        arrange=_replace_staged_object,
        destinations=0,
        send_calls=0,
    ),
    FaultCase(
        "duplicate-s3-event",
        "outbox S3 event handed to the trigger twice",
        DELIVERED_ONCE,
        entry="outbox-twice",
        destinations=1,
    ),
    FaultCase(
        "crash-after-send",
        "SendMessage Lambda fails after sendInvoice returned",
        DELIVERED_ONCE,
        arrange=crash_after_send,
        send_calls=1,
    ),
)


def fault_case_by_id(case_id: str) -> FaultCase:
    for case in FAULT_CASES:
        if case.id == case_id:
            return case
    raise KeyError(case_id)
