"""The cross-seller matrix (``make reliability``, the "cross-seller" table): a local stack of two sellers, a console
user of seller A signed in at the Cognito stand-in, and every attempt of
:mod:`local_stack.reliability.cross_seller_cases` made through the local API server as API Gateway's JWT authorizer
hands the claims over. B's things are made first by the operator (the IAM API: the local server without a token)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from local_stack.reliability.cross_seller_cases import (
    ATTEMPTS,
    MARKETPLACE,
    ORDER_B,
    SELLER_A,
    SELLER_B,
    USER_A,
    Attempt,
)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BLANK = "<thing>"
# Amazon's own id of each call (x-amzn-RequestId) differs from one call to the next, whatever the order.
AMAZON_REQUEST_ID = re.compile(rb"\[x-amzn-RequestId [0-9a-f-]{36}\]")


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes

    @property
    def error(self) -> str | None:
        try:
            found = json.loads(self.body).get("error")
        except (ValueError, AttributeError):
            return None
        return str(found) if found else None


@dataclass
class CrossSellerResult:
    """One attempt's two answers and whether they are one answer (``problems`` empty: refused as expected)."""

    attempt: Attempt
    mine: Reply
    absent: Reply
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass
class CrossSellerRun:
    """Every attempt's result, and what reached Amazon meanwhile (the emulator's log)."""

    results: list[CrossSellerResult]
    uploads: int  # createUploadDestinationForResource calls: none may be for A's order
    deliveries: list[tuple[str, str]]  # (order, message type) Amazon received
    staged_key: str  # the key POST /attachments gave user A
    policy_key: str | None  # the key the presigned POST's policy fixes
    campaigns_listed: Reply | None = None  # GET /campaigns as user A: B's campaign left out

    @property
    def reached_amazon(self) -> bool:
        """Whether anything of user A's attempts reached Amazon (an upload, or a message to A's buyer)."""
        return self.uploads > 0 or any(order != ORDER_B for order, _ in self.deliveries)

    @property
    def passed(self) -> bool:
        staged_for_a = self.staged_key.startswith(f"sellers/{SELLER_A}/attachments/")
        fixed = staged_for_a and self.policy_key == self.staged_key
        listed = self.campaigns_listed is not None and json.loads(self.campaigns_listed.body) == {"campaigns": []}
        return all(result.passed for result in self.results) and not self.reached_amazon and fixed and listed


def blanked(reply: Reply, value: str) -> bytes:
    """The answer with the thing's own id blanked, and Amazon's request id (new at every call)."""
    return AMAZON_REQUEST_ID.sub(b"[x-amzn-RequestId]", reply.body.replace(value.encode(), BLANK.encode()))


def judge(attempt: Attempt, mine: Reply, absent: Reply, things: Mapping[str, str]) -> CrossSellerResult:
    result = CrossSellerResult(attempt, mine, absent)
    for name, reply in (("mine", mine), ("absent", absent)):
        if reply.status != attempt.status or reply.error != attempt.error:
            result.problems.append(f"{name}: {reply.status} {reply.error}, not {attempt.status} {attempt.error}")
    same = (mine.status, mine.content_type, blanked(mine, things[attempt.mine])) == (
        absent.status,
        absent.content_type,
        blanked(absent, things[attempt.absent]),
    )
    if not same:
        result.problems.append("answers differ: B's thing is told apart from one that does not exist")
    return result


def run_cross_seller(*, timeout_seconds: float = 60.0) -> CrossSellerRun:
    """The whole matrix on one fresh stack (the attempts change nothing that another attempt reads)."""
    from local_stack.cognito_standin import UserPool
    from local_stack.reliability import runner

    pool = UserPool()
    pool.create_confirmed_user(USER_A, "Correct-Horse-9")
    pool.create_group(f"seller-{SELLER_A}")
    pool.add_user_to_group(USER_A, f"seller-{SELLER_A}")
    token = pool.tokens_for(USER_A)["AuthenticationResult"]["IdToken"]
    with runner.quiet_moto(), runner.fresh_stack("na", sellers=(SELLER_A, SELLER_B)) as run, _api(run, pool) as api:
        things = _make_b_things(run, api, timeout_seconds)
        user = {"Authorization": f"Bearer {token}"}
        staged = _request(
            api, "POST", "/attachments", {"fileName": "Invoice.pdf", "contentType": "application/pdf", "size": 9}, user
        )
        form = json.loads(staged.body)
        results = []
        for attempt in ATTEMPTS:
            mine = _attempt(api, attempt, things[attempt.mine], user)
            absent = _attempt(api, attempt, things[attempt.absent], user)
            results.append(judge(attempt, mine, absent, things))
        uploads = run.emulator.calls("createUploadDestinationForResource") + run.emulator.calls("upload")
        delivered = [(d["amazonOrderId"], d["messageType"]) for d in run.emulator.deliveries()]
        listed = _request(api, "GET", "/campaigns", None, user)
        return CrossSellerRun(results, len(uploads), delivered, form.get("key", ""), _policy_key(form), listed)


@contextmanager
def _api(run: Any, pool: Any) -> Iterator[Any]:
    from local_stack.reliability.api_client import local_api

    with local_api(run, verify=pool.verify) as api:
        yield api


def _make_b_things(run: Any, api: Any, timeout_seconds: float) -> dict[str, str]:
    """B's request (sent by the operator), a file staged under B and one unsegmented, B's campaign with a report;
    and the ids of things that exist nowhere."""
    from buyer_messaging import table
    from buyer_messaging.campaigns.records import KEY_PREFIX, RECENT_INDEX_PARTITION, RECENT_LIST
    from buyer_messaging.config import get_settings

    body = {
        "marketplaceId": MARKETPLACE,
        "messageType": "unexpectedProblem",
        "text": "B's own message.",
        "sellingPartnerId": SELLER_B,
    }
    sent = _request(api, "POST", f"/orders/{ORDER_B}/messages", body, {})
    request_id = json.loads(sent.body)["requestId"]
    b_file = f"sellers/{SELLER_B}/attachments/{uuid.uuid4()}/Invoice.pdf"
    loose_file = f"attachments/{uuid.uuid4()}/Invoice.pdf"
    s3 = run.local.client("s3")
    for key in (b_file, loose_file):
        s3.put_object(Bucket=run.bucket, Key=key, Body=PDF, ContentType="application/pdf")
    campaign_id = "b-spring-sale-1"
    # The record is what the routes read: its files are kept where no trigger starts anything from them.
    manifest = "campaigns/b-spring-sale.manifest"
    report = "campaigns/b-spring-sale.report"
    manifest_version = s3.put_object(Bucket=run.bucket, Key=manifest, Body=b"amazonOrderId\n")["VersionId"]
    report_version = s3.put_object(Bucket=run.bucket, Key=report, Body=b"row,status\n")["VersionId"]
    name = get_settings().require("workflow_table")
    item = table.to_item(
        {
            "id": KEY_PREFIX + campaign_id,
            RECENT_INDEX_PARTITION: RECENT_LIST,
            "campaignId": campaign_id,
            "sellingPartnerId": SELLER_B,  # the campaign record's seller (top level)
            "name": "spring-sale",
            "format": "csv",
            "manifest": {"bucket": run.bucket, "key": manifest, "versionId": manifest_version},
            "report": {"bucket": run.bucket, "key": report, "versionId": report_version},
            "run": 1,
            "status": "finished",
            "rows": 0,
            "startedAt": "2026-12-06T10:00:00Z",
            "updatedAt": "2026-12-06T10:01:00Z",
        }
    )
    table.call(name, lambda client: client.put_item(TableName=name, Item=item))
    return {
        "seller B": SELLER_B,
        "no seller": "A9NOSUCHSELLER",
        "B's order": ORDER_B,
        "no order": "902-0000000-0000000",
        "B's request": request_id,
        "no request": "r" + uuid.uuid4().hex,
        "B's campaign": campaign_id,
        "no campaign": "no-such-campaign-1",
        "B's staged file": b_file,
        "an unsegmented staged file": loose_file,
        "no staged file of A": f"sellers/{SELLER_A}/attachments/{uuid.uuid4()}/Invoice.pdf",
    }


def _attempt(api: Any, attempt: Attempt, value: str, headers: Mapping[str, str]) -> Reply:
    body = None if attempt.body is None else json.loads(json.dumps(attempt.body).replace("{thing}", value))
    return _request(api, attempt.method, attempt.path.replace("{thing}", value), body, headers)


def _request(api: Any, method: str, path: str, body: Any, headers: Mapping[str, str]) -> Reply:
    import http.client

    connection = http.client.HTTPConnection(api.url.removeprefix("http://"), timeout=60)
    try:
        data = b"" if body is None else json.dumps(body).encode()
        sent = {**headers, "Content-Type": "application/json"} if body is not None else dict(headers)
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        return Reply(response.status, response.getheader("Content-Type") or "", response.read())
    finally:
        connection.close()


def _policy_key(form: Mapping[str, Any]) -> str | None:
    """The key the presigned POST's signed policy allows (its ``{"key": …}`` condition), None if it fixes none."""
    import base64

    policy = (form.get("fields") or {}).get("policy")
    if not policy:
        return None
    conditions = json.loads(base64.b64decode(policy)).get("conditions", [])
    return next((str(c["key"]) for c in conditions if isinstance(c, dict) and "key" in c), None)
