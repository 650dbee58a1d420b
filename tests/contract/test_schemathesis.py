"""Schemathesis against the whole HTTP API on the local stack, from the document the API serves.

Schemathesis's engine runs here as its CLI would (`schemathesis run`), from Python: every phase (the document's
examples, coverage, fuzzing, then the stateful phase along the document's links: POST /attachments -> POST
/orders/{id}/messages -> GET /messages/{id}, ...) and every check it has but one, at its defaults (server
errors, status codes, content types, response schemas and headers, positive data accepted, negative data refused,
missing headers, use after free, resource availability, ...; not unsupported_method's 405: see config()).
Generation is derandomized with a fixed seed, so a run repeats; order ids and marketplaces come from the
emulator's seed most of the time, so that requests reach the handlers rather than stop at "no such order".

A failed check, a 5xx, a dropped connection (an answer that never came) or an exception in the API function
(the served_api fixture) fails the test, with the curl command of each failing request.

(Schemathesis's pytest plugin, schemathesis.pytest.from_fixture, does not run on pytest 9: it sets
``request.node._nodeid``, which pytest 9's nodes no longer have.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.engine import Status, events, from_schema

from spapi_emulator import load_default_seed
from tests.contract.conftest import TRAFFIC, examples, seed

# What a request the document allows can still be refused for: the state of the order and of the bucket, which
# no document can state. Amazon's answer for an order asked about in another marketplace (SpApiInvalidInput),
# a type the order does not allow now, a file that was not staged. For the two operations that ask Amazon about
# the order, positive_data_acceptance takes a 400, and refused_only_for_state holds that 400 to these names:
# a 400 for anything the document states (a pattern, a length, an enum, a field) still fails.
# A campaign's manifest is a file inside a string: whether it reads as CSV or JSON lines (ManifestInvalid) is no
# more a thing the document can state than the order's state.
# Which sellers the deployment serves is its state too: a generated sellingPartnerId names none (UnknownSeller), and
# a generated staged key under sellers/{id}/ is of another seller than the one the request resolves to
# (AttachmentOfAnotherSeller, as a file that was not staged: the document states the key's form, not whose it is).
STATE_REFUSALS = frozenset(
    {
        "SpApiInvalidInput",
        "MessageTypeNotAvailable",
        "AttachmentNotFound",
        "AttachmentChanged",
        "ManifestInvalid",
        "UnknownSeller",
        "AttachmentOfAnotherSeller",
    }
)
STAGING_OPERATION = "POST /attachments"  # takes a sellingPartnerId: a generated one is no seller of the stack
# A re-send's range is two times whose order and distance (until after since, at most 31 days) JSON Schema cannot
# state, and how many failed requests a selection finds (ResendLimitExceeded, over 1,000) is the table's state.
RESEND_REFUSALS = frozenset({"ResendSelectionInvalid", "ResendLimitExceeded"})
RESEND_OPERATION = "POST /resends"
ORDER_STATE_OPERATIONS = ["GET /orders/{amazonOrderId}/message-types", "POST /orders/{amazonOrderId}/messages"]
# A generated manifest is rarely readable (400 ManifestInvalid, 413 over the limits), a generated name may be taken
# (409 CampaignExists), a generated campaign id names no campaign (404), and a campaign's report waits for its run
# (409 CampaignRunning).
CAMPAIGN_OPERATIONS = [
    "POST /campaigns",
    "GET /campaigns/{campaignId}",
    "GET /campaigns/{campaignId}/report",
    "GET /campaigns/{campaignId}/failed-rows",
    "POST /campaigns/{campaignId}/runs",
]


@schemathesis.check
def refused_only_for_state(ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Any) -> None:
    """A request the document allows is refused (400) only for the state of the order or of a staged file."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 400:
        return
    error = response.json().get("error") if "json" in response.headers.get("content-type", [""])[0] else None
    allowed = STATE_REFUSALS | (RESEND_REFUSALS if case.operation.label == RESEND_OPERATION else frozenset())
    if error not in allowed:
        raise AssertionError(f"A request the document allows was refused with {error}: {response.text[:300]}")


def config() -> schemathesis.Config:
    orders = load_default_seed().orders
    return schemathesis.Config.from_dict(
        {
            "seed": seed(),
            "generation": {"max-examples": examples(), "deterministic": True, "database": "none"},
            "phases": {"stateful": {"max-steps": 10}},
            # Known orders in 9 of 10 requests, so that most reach Amazon's answer for the order.
            "parameters": {
                "path.amazonOrderId": {"dictionary": "orders", "probability": 0.9},
                "query.marketplaceId": {"dictionary": "marketplaces", "probability": 0.9},
            },
            "dictionaries": {
                "orders": {"values": sorted(order.amazon_order_id for order in orders)},
                "marketplaces": {"values": sorted({order.marketplace_id for order in orders})},
            },
            "request-timeout": 60,
            # API Gateway's HTTP API answers a method a path has no route for with its own 404 {"message":"Not
            # Found"}, before any function runs (the local server does the same from the template's routes); a 405
            # with Allow would take a route per method that invokes the function for every stray method.
            "checks": {"unsupported_method": {"enabled": False}},
            "operations": [
                {
                    "include-name": ORDER_STATE_OPERATIONS,
                    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404", "409", "5xx"]}},
                },
                {
                    "include-name": [STAGING_OPERATION],
                    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400"]}},
                },
                {
                    # A re-send may name a campaign: a generated id names none (404), or its run goes on (409).
                    "include-name": [RESEND_OPERATION],
                    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404", "409"]}},
                },
                {
                    "include-name": CAMPAIGN_OPERATIONS,
                    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404", "409", "413"]}},
                },
            ],
        }
    )


@dataclass
class Findings:
    requests: int = 0
    unanswered: list[str] = field(default_factory=list)
    failures: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (operation, check, title) -> curl
    errors: list[str] = field(default_factory=list)
    stop_reason: str = ""

    def read(self, recorder: Any) -> None:
        self.requests += len(recorder.interactions)
        for case_id in recorder.interactions:
            meta = recorder.cases[case_id].value.meta
            phase = meta.phase.name.value if meta else "?"
            TRAFFIC.phases[phase] = TRAFFIC.phases.get(phase, 0) + 1
        for case_id, interaction in recorder.interactions.items():
            if interaction.response is None:
                self.unanswered.append(recorder.cases[case_id].value.as_curl_command())
        for case_id, checks in recorder.checks.items():
            meta = recorder.cases[case_id].value.meta
            phase = f"{meta.phase.name.value} phase, {meta.generation.mode.value} data" if meta else "?"
            for check in checks:
                if check.status == Status.FAILURE and check.failure_info is not None:
                    failure = check.failure_info.failure
                    key = (failure.operation, check.name, failure.title)
                    detail = f"{failure.message} ({phase})\n    {check.failure_info.code_sample}"
                    self.failures.setdefault(key, detail)

    def report(self) -> str:
        lines = [f"{len(self.failures)} distinct failures in {self.requests} requests ({self.stop_reason}):"]
        lines += [
            f"- {operation}: {check}: {title}\n    {detail}"
            for (operation, check, title), detail in self.failures.items()
        ]
        lines += [f"- no answer: {request}" for request in self.unanswered[:10]]
        if len(self.unanswered) > 10:
            lines.append(f"- no answer: {len(self.unanswered) - 10} more")
        lines += [f"- error: {error}" for error in self.errors]
        return "\n".join(lines)


def run(url: str) -> Findings:
    findings = Findings()
    schema = schemathesis.openapi.from_url(url, config=config())
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            findings.read(event.recorder)
        elif isinstance(event, events.NonFatalError):
            findings.errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            findings.errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            findings.stop_reason = str(event.stop_reason)
    return findings


def test_the_api_answers_every_generated_request_as_its_document_says(served_api: Any) -> None:
    findings = run(f"{served_api.api.url}/openapi.json")

    assert findings.requests > 0
    assert (findings.failures, findings.unanswered, findings.errors, findings.stop_reason) == (
        {},
        [],
        [],
        "completed",
    ), findings.report()
