"""The Step Functions adapter: starting an execution under a name that makes repeats no-ops."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from buyer_messaging.aws_clients import CLIENT_LOCK
from buyer_messaging.errors import ConfigurationError, ExecutionStartFailed

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

# A start answered with an execution that began this much before the call is a repeat, not a new start.
# Only logs and metrics read the difference; the margin keeps clock skew between Lambda and Step Functions
# from calling a new start a repeat.
REPEAT_MARGIN = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class StartedExecution:
    name: str
    execution_arn: str
    already_existed: bool


@lru_cache(maxsize=1)
def _client() -> SFNClient:
    import boto3

    with CLIENT_LOCK:
        return boto3.client("stepfunctions")


def reset_client() -> None:
    _client.cache_clear()


def execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + name


def execution_input(arn: str) -> Any | None:
    """The input an execution was started with, or None when there is no such execution."""
    described = _describe(arn)
    return None if described is None else json.loads(described.get("input") or "null")


def status(arn: str) -> str | None:
    """The execution's status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, ...), or None when there is none."""
    described = _describe(arn)
    return None if described is None else str(described["status"])


def _describe(arn: str) -> dict[str, Any] | None:
    from botocore.exceptions import BotoCoreError, ClientError

    client = _client()
    try:
        return dict(client.describe_execution(executionArn=arn))
    except client.exceptions.ExecutionDoesNotExist:
        return None
    except (ClientError, BotoCoreError) as error:
        raise ExecutionStartFailed(
            f"Step Functions could not be asked about {arn.rsplit(':', 1)[-1]}: {error}"
        ) from None


def start_execution(state_machine_arn: str, name: str, document: dict[str, Any]) -> StartedExecution:
    """Start ``name``; an execution of that name that already exists means this start already happened."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = _client()
    asked_at = datetime.now(UTC)
    try:
        response = client.start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps(document, ensure_ascii=False)
        )
    except client.exceptions.ExecutionAlreadyExists:
        return StartedExecution(name=name, execution_arn=execution_arn(state_machine_arn, name), already_existed=True)
    except (client.exceptions.StateMachineDoesNotExist, client.exceptions.InvalidArn) as error:
        raise ConfigurationError(f"STATE_MACHINE_ARN does not name a state machine: {error}") from None
    except (ClientError, BotoCoreError) as error:
        # Throttling and service errors: the S3 event is delivered again by Lambda's retries.
        raise ExecutionStartFailed(f"Step Functions did not start {name}: {error}") from None
    # StartExecution is idempotent for a RUNNING execution of the same name and input: Step Functions then
    # answers 200 with that execution (started before this call) instead of ExecutionAlreadyExists.
    started_at = response.get("startDate")
    existed = (
        isinstance(started_at, datetime) and started_at.tzinfo is not None and started_at < asked_at - REPEAT_MARGIN
    )
    return StartedExecution(name=name, execution_arn=response["executionArn"], already_existed=existed)
