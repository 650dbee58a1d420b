"""Exactly once: Powertools Idempotency around the one call that messages a buyer.

The key is the Step Functions execution (one execution sends one message). A Lambda retry, a Step Functions
retry after a timeout, or a redrive of the execution finds the record Powertools saved the moment the
SP-API answered 201, and returns that result instead of messaging the buyer again. A second invocation
while the first is still sending gets :class:`SendInProgress` (retried by the state machine).

What no client can close: a send whose answer never arrives (a read timeout) may or may not have reached
Amazon, and the Messaging API takes no idempotency key. Such a send ends in :class:`SendOutcomeUnknown`, and
that outcome is recorded like a result: a retry, a Lambda retry or a redrive of the execution gets
SendOutcomeUnknown again from the record instead of sending a second time. Only a person, who can look at the
order's messages, decides to send it again (a new execution, a new key).

The records' ids start with :data:`KEY_PREFIX` (Powertools' ``key_prefix``), so the send step's IAM statement is
held to them with ``dynamodb:LeadingKeys`` and cannot reach the status records, destinations or pacer items
beside them. Without it Powertools names a record ``<Lambda function name>.<module>.<function>#<hash>``, which
no policy can name in advance (the function's name is generated with the stack).

Records saved under that older id are not read any more. A retry or a redrive of an execution whose send began
under it still sends nothing: that send marked the request's status record (``sendStartedAt``, or ``sent`` /
``unknown``), and :func:`buyer_messaging.workflow.send_message.send_message` refuses a second send on that mark
before anything leaves (SendOutcomeUnknown).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from buyer_messaging.errors import (
    ConfigurationError,
    InvalidRequest,
    SendInProgress,
    SendOutcomeUnknown,
    WorkflowTableUnavailable,
)
from buyer_messaging.observability import logger

# The idempotency records' family in the workflow table (template.yaml: IdempotencyRecords' LeadingKeys).
KEY_PREFIX = "idempotency#"
# Step Functions redrives an execution up to 14 days after it ended, and the send is among its last steps: a
# record kept 15 days from the send outlives every redrive, so a redrive gets the recorded result back.
RECORD_SECONDS = 15 * 24 * 3600
# The recorded result of an action whose outcome is unknown: the error's message, raised again on every call.
OUTCOME_UNKNOWN = "outcomeUnknown"
_pending = threading.local()


def fingerprint(*parts: object) -> str:
    """A digest of what is sent, so one key can never stand for two different messages."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@lru_cache(maxsize=4)
def _guard(table: str) -> tuple[Any, Callable[..., dict[str, Any]]]:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    persistence = DynamoDBPersistenceLayer(table_name=table, key_attr="id", expiry_attr="expiration")
    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="fingerprint",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=RECORD_SECONDS,
    )

    # Powertools joins key_prefix and the key's hash with "#" itself.
    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="attempt",
        persistence_store=persistence,
        config=config,
        key_prefix=KEY_PREFIX.removesuffix("#"),
    )
    def send(attempt: dict[str, str]) -> dict[str, Any]:
        action: Callable[[], dict[str, Any]] = _pending.action
        try:
            result = action()
        except SendOutcomeUnknown as unknown:
            # Saved as the result (Powertools would delete the record of an exception): never sent again.
            result = {OUTCOME_UNKNOWN: str(unknown)}
        _pending.result = result
        return result

    return config, send


def once(
    table: str, key: str, digest: str, action: Callable[[], dict[str, Any]], lambda_context: Any | None = None
) -> dict[str, Any]:
    """Run ``action`` once for ``key``; later calls with the same key get the first call's result."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyKeyError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    if not key:
        raise InvalidRequest("The send step needs an executionId (its idempotency key); nothing was sent.")
    config, send = _guard(table)
    if lambda_context is not None:
        config.register_lambda_context(lambda_context)
    _pending.action = action
    _pending.result = None
    try:
        return _outcome(send(attempt={"key": key, "fingerprint": digest}))
    except IdempotencyAlreadyInProgressError:
        raise SendInProgress(f"Another attempt of {key} is sending this message right now.") from None
    except IdempotencyValidationError:
        raise InvalidRequest(
            f"{key} already sent a different message; one execution sends one message. Nothing was sent."
        ) from None
    except IdempotencyKeyError:
        raise InvalidRequest("The send step needs an executionId (its idempotency key); nothing was sent.") from None
    except IdempotencyPersistenceLayerError as error:
        sent: dict[str, Any] | None = _pending.result
        if sent is not None:
            # The send ended (sent, or its outcome unknown); only its record failed. Another try could message
            # the buyer again.
            logger.warning("Send ended but its idempotency record could not be completed", extra={"key": key})
            return _outcome(sent)
        if _missing_table(error):
            raise ConfigurationError(f"WORKFLOW_TABLE={table!r} does not name a DynamoDB table.") from None
        raise WorkflowTableUnavailable(f"The idempotency record could not be read or written: {error}") from None
    finally:
        _pending.action = None
        _pending.result = None


def _outcome(result: dict[str, Any]) -> dict[str, Any]:
    """The action's result, or its unknown outcome raised again (from this call or from the record)."""
    if OUTCOME_UNKNOWN in result:
        raise SendOutcomeUnknown(str(result[OUTCOME_UNKNOWN]))
    return result


def _missing_table(error: BaseException) -> bool:
    from botocore.exceptions import ClientError

    causes = [*error.args, error.__cause__, error.__context__]
    return any(
        isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") == "ResourceNotFoundException"
        for cause in causes
    )


def reset() -> None:
    """Forget the persistence layers (tests that switch tables or endpoints)."""
    _guard.cache_clear()
