"""The local stack for integration tests: the real template, ASL and handlers on moto + the emulator."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from buyer_messaging import status
from local_stack.reliability import runner
from local_stack.stack import EventTap, LocalStack
from spapi_emulator import Emulator

# For the tests that build a stack of their own: the speeds of the fixture's (and the reliability matrices').
RETRY_SPEEDUP = runner.RETRY_SPEEDUP
QUOTA_SPEEDUP = runner.QUOTA_SPEEDUP


@dataclass
class Stack:
    local: LocalStack
    emulator: Emulator
    bucket: str
    events: EventTap

    @property
    def s3(self) -> Any:
        return self.local.client("s3")

    @property
    def sfn(self) -> Any:
        return self.local.client("stepfunctions")

    def put(self, key: str, body: bytes) -> dict[str, Any]:
        response: dict[str, Any] = self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        return response

    def put_request(self, name: str, document: dict[str, Any]) -> dict[str, Any]:
        return self.put(f"requests/{name}.json", json.dumps(document).encode())

    def start(self, document: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        """Start the state machine directly, as from the console, and wait for the end."""
        assert self.local.deployment is not None
        started = self.sfn.start_execution(
            stateMachineArn=self.local.deployment.state_machine_arn,
            name=name or f"test-{time.monotonic_ns()}",
            input=json.dumps(document),
        )
        return self.local.wait_for(started["executionArn"], timeout_seconds=60)

    def finished(self, count: int) -> list[dict[str, Any]]:
        return self.local.wait_for_executions(count, timeout_seconds=60)

    def history(self, execution: dict[str, Any]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.sfn.get_execution_history(
            executionArn=execution["executionArn"], maxResults=1000
        )["events"]
        return events

    def record(self, execution: dict[str, Any]) -> dict[str, Any]:
        """The status record of the request an execution ran."""
        assert self.local.deployment is not None
        found = status.get(self.local.deployment.tables["WorkflowTable"], execution["name"])
        assert found is not None, f"no status record for {execution['name']}"
        return found

    def tags(self, key: str, version_id: str | None = None) -> dict[str, str]:
        where = {"Bucket": self.bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
        return {tag["Key"]: tag["Value"] for tag in self.s3.get_object_tagging(**where)["TagSet"]}

    def trigger(self, key: str) -> tuple[dict[str, Any], bool]:
        """The S3 trigger run on one staged key, as S3's notification runs it: its answer and whether it failed."""
        assert self.local.deployment is not None
        function = self.local.lambdas.function(self.local.deployment.functions["StartWorkflowFunction"])
        version = self.s3.head_object(Bucket=self.bucket, Key=key).get("VersionId")
        record = {"s3": {"bucket": {"name": self.bucket}, "object": {"key": key, "versionId": version}}}
        payload, errored, _ = self.local.lambdas.invoke(function, {"Records": [record]})
        return json.loads(payload), errored

    def staged_keys(self) -> set[str]:
        listed = self.s3.list_object_versions(Bucket=self.bucket)
        return {version["Key"] for version in listed.get("Versions", [])}


@pytest.fixture(autouse=True)
def no_sp_api_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """The unit tests' fake SP-API endpoint would turn the demo away from the emulator."""
    for name in ("SPAPI_ENDPOINT", "LWA_TOKEN_URL", "UPLOAD_URL_ALLOWED_HOSTS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def api(stack: Stack) -> Iterator[str]:
    """The HTTP API of the stack on 127.0.0.1 (no authentication, as locally): its base URL."""
    from local_stack.api_server import LocalApi
    from local_stack.lambdas import LambdaContext

    assert stack.local.deployment is not None
    function = stack.local.lambdas.function(stack.local.deployment.functions["ApiFunction"])
    server = LocalApi(
        function.load(), context=lambda: LambdaContext(function.name, function.memory_mb, function.timeout_seconds)
    )
    with server:
        yield server.url
    assert server.errors == [], f"the API function raised: {server.errors}"


@pytest.fixture
def stack() -> Iterator[Stack]:
    """The stack each case of the reliability matrices runs on (retry waits and quotas sped up alike)."""
    with runner.fresh_stack("na") as run:
        yield Stack(run.local, run.emulator, run.bucket, run.local.tap_events())
