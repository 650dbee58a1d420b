"""A campaign is one seller's, on one local stack of two sellers (the real template, campaign ASL with its Distributed
Map as the local stack runs it, the send ASL per row, the handlers): its rows go out with that seller's token and
pace in that seller's buckets, its report lands under its seller's segment, and a campaign that names no seller is
refused before any row is read or sent."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from buyer_messaging import naming
from local_stack.reliability import runner
from tests.integration.conftest import Stack
from tests.integration.test_campaigns import campaign_executions, finished_campaign, record_of, report_lines

SELLER_A = "A2EXAMPLESELLER"  # the seed's first seller: order 123-1234567-1234567
SELLER_B = "A3OTHERSELLER"  # the seed's second seller: orders 113-2000001-0000001 and 113-2000002-0000002
ORDER_A = "123-1234567-1234567"
ORDERS_B = ("113-2000001-0000001", "113-2000002-0000002")
MARKETPLACE = "ATVPDKIKX0DER"
MANIFEST = (
    "amazonOrderId,marketplaceId,messageType,text\r\n"
    f"{ORDERS_B[0]},{MARKETPLACE},unexpectedProblem,Seller B: your parcel is late.\r\n"
    f"{ORDERS_B[1]},{MARKETPLACE},unexpectedProblem,Seller B: your parcel is late too.\r\n"
    f"{ORDER_A},{MARKETPLACE},unexpectedProblem,Seller B writes to seller A's buyer.\r\n"
)


@pytest.fixture
def stack() -> Iterator[Stack]:
    with runner.quiet_moto(), runner.fresh_stack("na", sellers=(SELLER_A, SELLER_B)) as run:
        yield Stack(run.local, run.emulator, run.bucket, run.local.tap_events())


def _pace_items(stack: Stack) -> dict[str, float]:
    """The pacer's buckets (``pace#{seller}#{operation}``) and how far each one's campaign lane was reserved."""
    assert stack.local.deployment is not None
    table = stack.local.deployment.tables["WorkflowTable"]
    found = stack.local.client("dynamodb").scan(TableName=table)["Items"]
    return {
        item["id"]["S"]: float(item.get("campaignTat", {}).get("N", "0"))
        for item in found
        if item["id"]["S"].startswith("pace#")
    }


def test_a_sellers_campaign_is_sent_with_its_token_and_reported_under_its_segment(stack: Stack) -> None:
    key = f"sellers/{SELLER_B}/campaigns/late-b.csv"
    put = stack.put(key, MANIFEST.encode())

    (execution,) = finished_campaign(stack)

    campaign_id = naming.campaign_id(stack.bucket, key, put["VersionId"], "late-b", SELLER_B)
    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert json.loads(execution["input"])["sellingPartnerId"] == SELLER_B
    # Seller B's two orders were delivered with B's token; seller A's order, asked for with B's token, is one the
    # emulator does not know for B (Amazon answers another seller's order as one that does not exist): not sent.
    delivered = {delivery["amazonOrderId"]: delivery["text"] for delivery in stack.emulator.deliveries()}
    assert delivered == {
        ORDERS_B[0]: "Seller B: your parcel is late.",
        ORDERS_B[1]: "Seller B: your parcel is late too.",
    }
    lines = report_lines(stack, f"sellers/{SELLER_B}/campaigns/late-b.report.csv")
    assert [(line["row"], line["status"], line["error"], line["sellingPartnerId"]) for line in lines] == [
        ("1", "sent", "", SELLER_B),
        ("2", "sent", "", SELLER_B),
        ("3", "failed", "SpApiNotFound", SELLER_B),
    ]
    assert "campaigns/late-b.report.csv" not in stack.staged_keys()
    record = record_of(stack, campaign_id)
    assert (record["sellingPartnerId"], record["sent"], record["failed"]) == (SELLER_B, 2, 1)
    # Every row's send execution is for seller B: its input, its status record.
    for row in (1, 2, 3):
        child = stack.record({"name": f"{campaign_id}-{row}-1"})
        assert child["sellingPartnerId"] == SELLER_B
    events = stack.events.drain()
    completed = [event["detail"] for event in events if event.get("detail-type") == "CampaignCompleted"]
    assert [(detail["campaignId"], detail["sellingPartnerId"]) for detail in completed] == [(campaign_id, SELLER_B)]
    sent = [event["detail"] for event in events if event.get("detail-type") == "MessageSent"]
    assert sorted(detail["sellingPartnerId"] for detail in sent) == [SELLER_B, SELLER_B]
    # The rows paced in seller B's buckets only (Amazon's usage plans are per selling partner), in the campaign lane.
    paced = _pace_items(stack)
    assert paced and all(item.startswith(f"pace#{SELLER_B}#") for item in paced), paced
    assert paced[f"pace#{SELLER_B}#getMessagingActionsForOrder"] > 0


def test_a_campaign_that_names_no_seller_is_refused_before_any_row(stack: Stack) -> None:
    stack.put("campaigns/late.csv", MANIFEST.encode())

    answer, errored = stack.trigger("campaigns/late.csv")

    assert errored
    assert answer["errorType"] == "SellerRequired"
    assert answer["errorMessage"].startswith("This deployment serves 2 sellers: say which one the request is for")
    assert campaign_executions(stack) == []
    assert stack.emulator.deliveries() == []
    assert "campaigns/late.csv" in stack.staged_keys()  # nothing deleted
