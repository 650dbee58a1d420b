"""The AWS calls each function makes, recorded on a whole run, stay inside the grants that issue 14 (item 6)
narrowed: moto enforces no IAM, so without this a code change that starts using a removed grant would pass
every test and fail only on AWS. tests/static/test_grants.py checks the other side (the grants stay removed).

The run is tests/recorded_calls.py's: every step of one message, its S3 starts and the HTTP API's operations.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses

from buyer_messaging import destinations, idempotency, onboarding, pacer, sellers, status
from buyer_messaging.campaigns import records
from tests import support
from tests.recorded_calls import CAMPAIGN_ID, Calls, recording
from tests.recorded_calls import run_everything as _run_everything

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


@pytest.fixture
def calls(aws: dict[str, Any]) -> Iterator[Calls]:
    with recording() as recorder:
        yield recorder


def _key_prefixes(requests: list[dict[str, Any]]) -> set[str]:
    return {params["Key"]["id"]["S"].split("#")[0] + "#" for params in requests}


def test_every_function_stays_inside_its_narrowed_grants(
    aws: dict[str, Any], http: responses.RequestsMock, calls: Calls, lambda_context: Any
) -> None:
    _run_everything(aws, http, calls, lambda_context)
    assert set(calls.by_function) >= {"StartWorkflowFunction", *support.WORKFLOW_FUNCTIONS}

    # The trigger reads request documents only, at the event's version; never an outbox/ object.
    reads = calls.of("StartWorkflowFunction", "s3:GetObject") + calls.of("StartWorkflowFunction", "s3:HeadObject")
    assert [(params["Key"], "VersionId" in params) for params in reads] == [("requests/invoice-1.json", True)]
    # Every other read of a staged object pins it by ETag, never by version (no s3:GetObjectVersion), but a
    # campaign's manifest: a campaign is one manifest version (campaigns/, PrepareCampaign and FinishCampaign).
    for function, made in calls.by_function.items():
        if function != "StartWorkflowFunction":
            versioned = [
                (name, p)
                for name, p in made
                if name.startswith("s3:") and "VersionId" in p and not p["Key"].startswith("campaigns/")
            ]
            assert [name for name, _ in versioned] in ([], ["s3:GetObjectTagging", "s3:PutObjectTagging"]), function
            assert not versioned or function == "RecordOutcomeFunction", function

    # Status records: StartWorkflow and UploadAttachment only write them; the destinations' and the pacer's
    # items are the only ones UploadAttachment reads.
    # StartWorkflow reads one item: the seller registry's directory (which seller a request is for).
    assert _key_prefixes(calls.of("StartWorkflowFunction", "dynamodb:GetItem")) == {sellers.SELLER_FAMILY}
    assert _key_prefixes(calls.of("StartWorkflowFunction", "dynamodb:UpdateItem")) == {status.KEY_PREFIX}
    assert _key_prefixes(calls.of("UploadAttachmentFunction", "dynamodb:GetItem")) == {
        destinations.KEY_PREFIX,
        pacer.KEY_PREFIX,
    }
    assert status.KEY_PREFIX in _key_prefixes(calls.of("UploadAttachmentFunction", "dynamodb:UpdateItem"))
    assert calls.of("HashAttachmentFunction", "dynamodb:GetItem") == []
    # The readers that keep GetItem on status records do read them.
    assert status.KEY_PREFIX in _key_prefixes(calls.of("RecordOutcomeFunction", "dynamodb:GetItem"))


def test_only_request_records_carry_the_order_index_keys(
    aws: dict[str, Any], http: responses.RequestsMock, calls: Calls, lambda_context: Any
) -> None:
    """ApiFunction's Query on ByOrder has no dynamodb:LeadingKeys (template.yaml, OrderHistory: on an index it
    would name the order id, not the item's id). The sparse index is what holds the query to request records:
    no other family's item may carry its keys."""
    _run_everything(aws, http, calls, lambda_context)
    items = aws["dynamodb"].scan(TableName=support.TABLE)["Items"]
    families = {item["id"]["S"].split("#")[0] + "#" for item in items}
    assert families == {
        status.KEY_PREFIX,
        destinations.KEY_PREFIX,
        pacer.KEY_PREFIX,
        idempotency.KEY_PREFIX,
        records.KEY_PREFIX,
        sellers.SELLER_FAMILY,
        onboarding.INVITATION_FAMILY,
    }  # the run's OAuth state was used once: deleted
    indexed = {
        item["id"]["S"].split("#")[0] + "#"
        for item in items
        if status.ORDER_INDEX_PARTITION in item or status.ORDER_INDEX_SORT in item
    }
    assert indexed == {status.KEY_PREFIX}
    # The failed requests' index (template.yaml, FailedRequests): failed request records alone.
    failed = [item for item in items if status.FAILED_INDEX_PARTITION in item]
    assert failed, "the run has a failed request"
    assert all(item["id"]["S"].startswith(status.KEY_PREFIX) and item["status"]["S"] == "failed" for item in failed)
    # The same for the campaigns' index (template.yaml, RecentCampaigns): campaign records alone, not their rows.
    listed = {item["id"]["S"] for item in items if records.RECENT_INDEX_PARTITION in item}
    assert records.KEY_PREFIX + CAMPAIGN_ID in listed
    assert all(key.startswith(records.KEY_PREFIX) and "#row#" not in key for key in listed), listed
