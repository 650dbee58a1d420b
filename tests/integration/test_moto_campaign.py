"""What moto 5.2.5 executes of the campaign state machine, one test per fact the design relies on (README, "Try it
locally": where the local stack differs from AWS). The real ``SendRows`` Map of statemachine/campaign.asl.json runs
over rows in moto's S3, each row a start of a small send machine that succeeds or fails as a row would; a moto
that changes any of this fails here, not in a campaign.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_callback
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)

from local_stack import distributed_map
from local_stack.stack import ROOT, in_process_aws

BUCKET = "campaign-facts"
ROLE = "arn:aws:iam::123456789012:role/states"
CAMPAIGN = "recall-0123456789abcdef0123"
# A send machine in miniature: a row whose request says so fails as the real one does (a Fail state with the
# step's error name and cause); the others succeed.
SEND_MACHINE = {
    "StartAt": "Refused",
    "States": {
        "Refused": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.refuse", "IsPresent": True, "Next": "MessageFailed"}],
            "Default": "MessageSent",
        },
        "MessageSent": {"Type": "Pass", "Parameters": {"sent.$": "$.campaign.row"}, "End": True},
        "MessageFailed": {
            "Type": "Fail",
            "Error": "MessageTypeNotAvailable",
            "Cause": "Amazon does not allow invoice for this order now.",
        },
    },
}


def send_rows_machine(send_machine_arn: str) -> str:
    """The campaign machine's SendRows state as a machine of its own, the template's substitutions made."""
    campaign = json.loads((ROOT / "statemachine" / "campaign.asl.json").read_text(encoding="utf-8"))
    send_rows = campaign["States"]["SendRows"]
    send_rows.pop("Catch")
    send_rows.pop("Next")
    send_rows["End"] = True
    definition = json.dumps({"StartAt": "SendRows", "States": {"SendRows": send_rows}})
    definition = definition.replace("${SendStateMachineArn}", send_machine_arn)
    return definition.replace("${StagingBucketName}", BUCKET)


@pytest.fixture
def moto() -> Iterator[dict[str, Any]]:
    with in_process_aws():
        restore = distributed_map.install()
        try:
            s3 = boto3.client("s3", region_name="us-east-1")
            s3.create_bucket(Bucket=BUCKET)
            sfn = boto3.client("stepfunctions", region_name="us-east-1")
            send = sfn.create_state_machine(name="send", definition=json.dumps(SEND_MACHINE), roleArn=ROLE)
            rows = sfn.create_state_machine(
                name="send-rows",
                definition=distributed_map.definition_for_moto(send_rows_machine(send["stateMachineArn"])),
                roleArn=ROLE,
            )
            yield {"s3": s3, "sfn": sfn, "send": send["stateMachineArn"], "rows": rows["stateMachineArn"]}
        finally:
            restore()


def put_rows(s3: Any, refused: set[int], count: int, run: int = 1) -> None:
    items = [
        {
            "row": row,
            "name": f"{CAMPAIGN}-{row}-{run}",
            "request": {
                "campaign": {"id": CAMPAIGN, "row": row, "run": run},
                **({"refuse": 1} if row in refused else {}),
            },
        }
        for row in range(1, count + 1)
    ]
    s3.put_object(Bucket=BUCKET, Key=f"campaign-work/{CAMPAIGN}/{run}/rows.json", Body=json.dumps(items).encode())


def run_send_rows(moto: dict[str, Any], name: str, *, run: int = 1, concurrency: int = 3) -> dict[str, Any]:
    state = {
        "campaign": {
            "campaignId": CAMPAIGN,
            "run": run,
            "work": {"bucket": BUCKET, "key": f"campaign-work/{CAMPAIGN}/{run}/rows.json"},
        },
        "concurrency": concurrency,
    }
    started = moto["sfn"].start_execution(stateMachineArn=moto["rows"], name=name, input=json.dumps(state))
    deadline = time.monotonic() + 60
    while (described := moto["sfn"].describe_execution(executionArn=started["executionArn"]))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "SendRows did not end in 60 s"
        time.sleep(0.05)
    return dict(described)


def map_results(moto: dict[str, Any], output: dict[str, Any]) -> list[dict[str, Any]]:
    """The items' outputs as ResultWriter wrote them: manifest.json, then the files it names."""
    details = output["results"]["ResultWriterDetails"]
    written = json.loads(moto["s3"].get_object(Bucket=details["Bucket"], Key=details["Key"])["Body"].read())
    results: list[dict[str, Any]] = []
    for status in ("SUCCEEDED", "FAILED", "PENDING"):
        for file in written["ResultFiles"][status]:
            entries = json.loads(moto["s3"].get_object(Bucket=BUCKET, Key=file["Key"])["Body"].read())
            results.extend(json.loads(entry["Output"]) for entry in entries)
    return sorted(results, key=lambda result: int(result["row"]))


def test_moto_refuses_a_whole_number_tolerated_failure_percentage_and_reads_the_same_number_written_decimal() -> None:
    """moto's grammar reads only a decimal number there; AWS takes 100. The local stack writes 100 as 100.0."""
    definition = (ROOT / "statemachine" / "campaign.asl.json").read_text(encoding="utf-8")
    assert '"ToleratedFailurePercentage": 100,' in definition
    assert '"ToleratedFailurePercentage": 100.0,' in distributed_map.definition_for_moto(definition)
    with in_process_aws():
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        with pytest.raises(sfn.exceptions.ClientError, match="no viable alternative at input"):
            sfn.create_state_machine(name="as-written", definition=send_rows_machine("arn:x"), roleArn=ROLE)


def test_without_the_adapter_moto_never_starts_a_row(moto: dict[str, Any]) -> None:
    """moto 5.2.5 leaves the integration's request and answer unmapped: StartExecution fails in States.Runtime."""
    sfn_task = StateTaskServiceSfn
    put_rows(moto["s3"], refused=set(), count=1)
    sfn_task._normalise_parameters = distributed_map._sfn_parameters  # type: ignore[method-assign]
    del sfn_task._normalise_response
    try:
        output = json.loads(run_send_rows(moto, "unadapted")["output"])
    finally:
        sfn_task._normalise_parameters = distributed_map._normalise_parameters  # type: ignore[method-assign]
        sfn_task._normalise_response = distributed_map._normalise_response  # type: ignore[method-assign,assignment]
    assert map_results(moto, output) == [
        {"row": 1, "status": "failed", "error": "States.Runtime", "cause": "'StateMachineArn'"}
    ]
    assert moto["sfn"].list_executions(stateMachineArn=moto["send"])["executions"] == []


def test_each_row_is_one_named_send_execution_and_every_row_has_its_result(moto: dict[str, Any]) -> None:
    put_rows(moto["s3"], refused={2, 5}, count=6)
    described = run_send_rows(moto, "run-1")
    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    assert map_results(moto, output) == [
        {"row": 1, "status": "sent"},
        {
            "row": 2,
            "status": "failed",
            "error": "MessageTypeNotAvailable",
            "cause": "Amazon does not allow invoice for this order now.",
        },
        {"row": 3, "status": "sent"},
        {"row": 4, "status": "sent"},
        {
            "row": 5,
            "status": "failed",
            "error": "MessageTypeNotAvailable",
            "cause": "Amazon does not allow invoice for this order now.",
        },
        {"row": 6, "status": "sent"},
    ]
    children = moto["sfn"].list_executions(stateMachineArn=moto["send"])["executions"]
    assert sorted(child["name"] for child in children) == [f"{CAMPAIGN}-{row}-1" for row in range(1, 7)]


def test_result_writer_writes_a_manifest_and_one_succeeded_file_with_the_items_outputs(moto: dict[str, Any]) -> None:
    """AWS writes manifest.json and SUCCEEDED_n / FAILED_n / PENDING_n files; moto wrote the manifest with empty
    lists, the local stack writes SUCCEEDED_0.json (every item: the Map's processor catches each row's failure)."""
    put_rows(moto["s3"], refused={1}, count=2)
    output = json.loads(run_send_rows(moto, "run-writer")["output"])
    details = output["results"]["ResultWriterDetails"]
    map_run = output["results"]["MapRunArn"].rsplit(":", 1)[-1]
    assert details == {"Bucket": BUCKET, "Key": f"campaign-results/run-writer/{map_run}/manifest.json"}
    written = json.loads(moto["s3"].get_object(Bucket=BUCKET, Key=details["Key"])["Body"].read())
    succeeded = f"campaign-results/run-writer/{map_run}/SUCCEEDED_0.json"
    assert [file["Key"] for file in written["ResultFiles"]["SUCCEEDED"]] == [succeeded]
    assert written["ResultFiles"]["FAILED"] == written["ResultFiles"]["PENDING"] == []
    entries = json.loads(moto["s3"].get_object(Bucket=BUCKET, Key=succeeded)["Body"].read())
    assert {entry["Status"] for entry in entries} == {"SUCCEEDED"}
    assert all(isinstance(entry["Output"], str) for entry in entries)


def test_the_sync_2_output_is_the_described_execution_in_step_functions_casing(moto: dict[str, Any]) -> None:
    """What SendRow's ResultSelector reads: ``Input`` as JSON (not text), ``ExecutionArn``, ``Status``, dates."""
    seen: list[Any] = []
    original = distributed_map._normalise_response

    def spy(self: Any, response: Any, boto_service_name: Any = None, service_action_name: Any = None) -> None:
        original(self, response, boto_service_name, service_action_name)
        if service_action_name == "describe_execution":
            seen.append(json.loads(json.dumps(response)))

    put_rows(moto["s3"], refused=set(), count=1)
    StateTaskServiceSfn._normalise_response = spy  # type: ignore[method-assign]
    try:
        run_send_rows(moto, "run-shape")
    finally:
        StateTaskServiceSfn._normalise_response = original  # type: ignore[method-assign,assignment]
    (described,) = seen
    assert described["Status"] == "SUCCEEDED"
    assert described["Name"] == f"{CAMPAIGN}-1-1"
    assert described["Input"] == {"campaign": {"id": CAMPAIGN, "row": 1, "run": 1}}
    assert described["Output"] == {"sent": 1}
    assert isinstance(described["StartDate"], int) and isinstance(described["StopDate"], int)


def test_a_row_started_again_in_the_same_run_is_no_failure(moto: dict[str, Any]) -> None:
    """The send execution of {campaignId}-{row}-{run} exists (it ended): ExecutionAlreadyExists, caught."""
    put_rows(moto["s3"], refused=set(), count=2)
    run_send_rows(moto, "first")
    output = json.loads(run_send_rows(moto, "again")["output"])
    assert map_results(moto, output) == [{"row": 1, "status": "started"}, {"row": 2, "status": "started"}]
    assert len(moto["sfn"].list_executions(stateMachineArn=moto["send"])["executions"]) == 2


def test_moto_polls_a_running_child_every_half_second() -> None:
    """How fast a ``.sync`` task notices its child ended: moto looks every 0.5 s (AWS: an EventBridge event)."""
    assert state_task_service_callback._DELAY_SECONDS_SYNC_CONDITION_CHECK == 0.5
