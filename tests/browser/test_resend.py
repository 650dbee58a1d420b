"""The console's Re-send page end to end in Chromium, on the local stack: LWA answers 503 to every call for longer
than the retry budget (the emulator's fault, as tests/integration/test_resend.py makes the outage), the messages
sent meanwhile end failed; once LWA is back, the page previews the failed requests (the exact rows, decisions and
counts), re-sends them on the seller's word, each linked to its progress, the emulator delivers each once, and a
second preview, after a reload too, says each was already re-sent. A refused selection shows the API's message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from buyer_messaging import errors, http_api, status
from tests.browser.cognito_route import assert_no_stray_words
from tests.browser.pages import PageWatch, Screens, Tab

ORDER = "123-1234567-1234567"  # Amazon's sandbox order: the emulator allows every type, any number of times
US = "ATVPDKIKX0DER"
DOWN_FOR_EVERY_CALL = 100_000  # local_stack.reliability.outage_runner's: the outage outlasts every retry
OUTAGE = 3
WORKFLOW_TIMEOUT_S = 60


@pytest.fixture
def console_server() -> Iterator[Any]:
    """The served stack with the retry waits sped up as the integration tests' (an outage outlasts the retries in
    seconds, not minutes); the page and the API are the same as the other browser tests'."""
    from local_stack.reliability.runner import RETRY_SPEEDUP
    from local_stack.serve import serve_console

    with serve_console(retry_speedup=RETRY_SPEEDUP) as server:
        yield server


def start(server: Any, name: str, text: str) -> dict[str, Any]:
    """A message started on the state machine directly (as from the Step Functions console), run to its end; its
    status record."""
    deployment = server.served.deployment
    stack = server.served.stack
    document = {"amazonOrderId": ORDER, "marketplaceId": US, "messageType": "unexpectedProblem", "text": text}
    started = stack.client("stepfunctions").start_execution(
        stateMachineArn=deployment.state_machine_arn, name=name, input=json.dumps(document)
    )
    stack.wait_for(started["executionArn"], timeout_seconds=WORKFLOW_TIMEOUT_S)
    return record(server, name)


def record(server: Any, request_id: str) -> dict[str, Any]:
    found = status.get(server.served.deployment.tables["WorkflowTable"], request_id)
    assert found is not None, request_id
    return found


def shown_time(iso: str) -> str:
    """A time as the page shows it in the tests' browser (en-US, UTC): "Dec 6, 2026, 17:45:12"."""
    at = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)
    return f"{at:%b} {at.day}, {at.year}, {at:%H:%M:%S}"


def local_input(moment: datetime) -> str:
    """A datetime-local field's value for a UTC moment (the tests' browser runs in UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def resend_page(page: Page, url: str) -> None:
    page.goto(url + "#resend")
    expect(page.get_by_role("heading", name="Re-send after an outage")).to_be_visible()
    expect(page.get_by_role("link", name="Re-send")).to_have_attribute("aria-current", "page")


def rows(page: Page) -> list[list[str]]:
    found: list[list[str]] = page.locator("#resend-rows tr").evaluate_all(
        "rows => rows.map(row => [...row.cells].map(cell => cell.innerText))"
    )
    return found


def preview(page: Page) -> None:
    with page.expect_response(lambda response: response.url.endswith("/resends")) as answered:
        page.get_by_role("button", name="Preview").click()
    assert answered.value.status in (200, 400), answered.value.text()


def outage(server: Any) -> list[dict[str, Any]]:
    """LWA down for every call: the messages sent meanwhile end LwaUnavailable; then LWA is back."""
    server.emulator.inject_fault("lwaToken", status=503, count=DOWN_FOR_EVERY_CALL)
    failed = [start(server, f"outage-{number}", f"Outage message {number}.") for number in range(OUTAGE)]
    assert [(found["status"], found["error"]) for found in failed] == [("failed", "LwaUnavailable")] * OUTAGE
    server.emulator.clear_faults()
    return failed


def test_a_preview_lists_each_failed_request_then_one_resend_delivers_each_once(
    console_server: Any, console_url: str, desktop: Tab, screens: Screens
) -> None:
    page = desktop.page
    since = datetime.now(UTC) - timedelta(minutes=1)
    failed = outage(console_server)
    # Bad input after the outage: the same document would fail the same way, so it is listed and skipped.
    too_long = start(console_server, "too-long", "x" * 2001)
    assert (too_long["status"], too_long["error"]) == ("failed", "InvalidMessageText")
    assert console_server.emulator.deliveries() == []

    resend_page(page, console_url)
    expect(page.locator("#resend-zone")).to_have_text("Times are in your local time (UTC, UTC+00:00).")
    expect(page.get_by_label("LwaUnavailable")).to_have_accessible_description(
        "Amazon's sign-in service could not be reached even after several retries. Try again later."
    )
    screens(page, "resend-page")
    page.get_by_label("Failed from").fill(local_input(since))
    with page.expect_request(lambda request: request.url.endswith("/resends")) as posted:
        preview(page)
    assert posted.value.post_data_json == {"since": since.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "dryRun": True}

    expect(page.get_by_role("heading", name="Check before re-sending")).to_be_focused()
    expect(page.locator("#resend-summary")).to_have_text("3 to re-send, 1 skipped.")
    will = [
        [ORDER, "unexpectedProblem", shown_time(found["failedAt"]), "LwaUnavailable", "Will be re-sent"]
        for found in failed
    ]
    skipped = [
        ORDER,
        "unexpectedProblem",
        shown_time(too_long["failedAt"]),
        "InvalidMessageText",
        "Not re-sent: the request itself must be fixed. InvalidMessageText: the same request fails the same way. Fix "
        "it and send it anew.",
    ]
    assert rows(page) == [*will, skipped]
    expect(page.get_by_role("button", name="Re-send 3 messages")).to_be_enabled()
    assert_no_stray_words(page)
    screens(page, "preview")
    assert len(console_server.served.stack.executions()) == OUTAGE + 1, "a preview starts nothing"

    with page.expect_request(lambda request: request.url.endswith("/resends")) as posted:
        page.get_by_role("button", name="Re-send 3 messages").click()
    assert posted.value.post_data_json == {
        "since": since.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "limit": OUTAGE,
        "dryRun": False,
    }
    expect(page.get_by_role("heading", name="Re-sent", exact=True)).to_be_focused()
    expect(page.locator("#resend-summary")).to_have_text("3 re-sent, 1 skipped.")
    expect(page.locator("#resend-start")).to_be_hidden()  # no second click: the answer replaced the button
    new_ids = [str(record(console_server, f"outage-{number}")["resentAs"]) for number in range(OUTAGE)]
    assert rows(page) == [[*row[:4], f"Re-sent as {new_id}"] for row, new_id in zip(will, new_ids, strict=True)] + [
        skipped
    ]
    links = page.locator("#resend-rows a")
    assert links.evaluate_all("links => links.map(link => link.getAttribute('href'))") == [
        f"#message/{new_id}" for new_id in new_ids
    ]
    assert_no_stray_words(page)
    screens(page, "resent")

    # Each re-sent request's progress, the message page's own view: followed to its end.
    links.first.click()
    expect(page.locator("#request-id")).to_have_text(f"Request {new_ids[0]}")
    expect(page.locator("#outcome .headline")).to_have_text(
        "Sent. Amazon accepted the message and emails the buyer.", timeout=WORKFLOW_TIMEOUT_S * 1000
    )
    expect(page.get_by_role("button", name="Edit and send again")).to_be_hidden()
    expect(page.get_by_label("Amazon order id", exact=True)).to_be_hidden()
    screens(page, "resent-progress")
    page.go_back()
    expect(page.locator("#resend-summary")).to_have_text("3 re-sent, 1 skipped.")

    console_server.served.stack.wait_for_executions(2 * OUTAGE + 1, timeout_seconds=WORKFLOW_TIMEOUT_S)
    delivered = sorted(delivery["text"] for delivery in console_server.emulator.deliveries(ORDER))
    assert delivered == [f"Outage message {number}." for number in range(OUTAGE)]

    # A reload, then a second preview: nothing is re-sent twice, and the page says by what each was re-sent.
    page.reload()
    page.get_by_label("Failed from").fill(local_input(since))
    preview(page)
    expect(page.locator("#resend-summary")).to_have_text("0 to re-send, 4 skipped.")
    assert rows(page) == [
        [*row[:4], f"Not re-sent: it was re-sent before. Already re-sent as {new_id}."]
        for row, new_id in zip(will, new_ids, strict=True)
    ] + [skipped]
    expect(page.get_by_role("button", name="Re-send 0 messages")).to_be_disabled()
    assert_no_stray_words(page)
    screens(page, "second-preview")
    assert len(console_server.served.stack.executions()) == 2 * OUTAGE + 1
    assert len(console_server.emulator.deliveries(ORDER)) == OUTAGE


def test_a_refused_selection_shows_the_apis_message(console_url: str, desktop: Tab, screens: Screens) -> None:
    page = desktop.page
    resend_page(page, console_url)
    alert = page.get_by_role("alert").filter(has_text="re-send")

    page.get_by_label("LwaUnavailable").check()
    preview(page)
    expect(page.locator("#resend-error")).to_have_text(
        "Say what to re-send: a time range of failure (since, until), an order (amazonOrderId) or request ids "
        "(requests); error names only narrow one of them."
    )
    expect(alert).to_be_visible()
    expect(page.locator("#resend-plan")).to_be_hidden()
    screens(page, "refused-no-filter")

    page.get_by_label("Failed from").fill("2026-10-01T00:00:00")
    page.get_by_label("Failed until").fill("2026-12-01T00:00:00")
    preview(page)
    expect(page.locator("#resend-error")).to_have_text(
        "The range spans more than 31 days, the most one re-send reads: split it into ranges of at most 31 days."
    )
    expect(page.get_by_label("Failed until")).to_have_attribute("aria-invalid", "true")
    assert_no_stray_words(page)
    screens(page, "refused-range")

    page.get_by_label("Order id (optional)").fill("123-45")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#resend-order-error")).to_have_text(
        "Enter the order id like 123-1234567-1234567 (3, 7 and 7 digits)."
    )
    expect(page.get_by_label("Order id (optional)")).to_be_focused()


def test_a_request_failed_after_the_preview_is_refused_by_name_not_resent_unseen(
    console_server: Any, console_url: str, desktop: Tab, screens: Screens
) -> None:
    """The button re-sends the count it names: the re-send carries it as its limit, and the API refuses a plan
    that grew since (ResendLimitExceeded), with its message."""
    page = desktop.page
    since = datetime.now(UTC) - timedelta(minutes=1)
    console_server.emulator.inject_fault("lwaToken", status=503, count=DOWN_FOR_EVERY_CALL)
    start(console_server, "outage-0", "Outage message 0.")
    resend_page(page, console_url)
    page.get_by_label("Failed from").fill(local_input(since))
    preview(page)
    expect(page.locator("#resend-summary")).to_have_text("1 to re-send, 0 skipped.")
    start(console_server, "outage-1", "Outage message 1.")
    console_server.emulator.clear_faults()

    page.get_by_role("button", name="Re-send 1 message").click()

    expect(page.locator("#resend-error")).to_have_text(
        "2 requests would be re-sent; one call re-sends at most limit=1 (up to 100). Narrow the range or the errors, "
        "or raise the limit. More requests failed since the preview: preview again to see them."
    )
    expect(page.get_by_role("button", name="Re-send 1 message")).to_be_enabled()
    screens(page, "limit-exceeded")
    assert len(console_server.served.stack.executions()) == 2
    assert console_server.emulator.deliveries() == []


def test_a_busy_service_says_what_and_when_to_try_again(console_url: str, desktop: Tab) -> None:
    """A 503 as the API answers a transient error (http_api.error_response, Retry-After), in the page's words."""
    page = desktop.page
    busy = errors.WorkflowTableUnavailable("DynamoDB answered ProvisionedThroughputExceededException.")
    code, body = http_api.error_response(busy)
    assert code == 503
    page.route(
        "**/resends",
        lambda route: route.fulfill(
            status=code,
            headers={"Retry-After": str(http_api.RETRY_AFTER_SECONDS), "Content-Type": "application/json"},
            body=json.dumps(body),
        ),
    )
    resend_page(page, console_url)
    page.get_by_label("Failed from").fill("2026-12-06T14:00:00")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#resend-error")).to_have_text(
        "The workflow's records were unavailable even after several retries. Send again later. DynamoDB answered "
        "ProvisionedThroughputExceededException. Try again in 5 seconds."
    )


def test_times_are_read_in_the_browsers_zone_and_sent_in_utc(browser: Any, console_url: str) -> None:
    context = browser.new_context(locale="en-US", timezone_id="America/New_York")
    try:
        page = context.new_page()
        watch = PageWatch(page)
        resend_page(page, console_url)
        expect(page.locator("#resend-zone")).to_have_text("Times are in your local time (America/New_York, UTC-05:00).")
        page.get_by_label("Failed from").fill("2026-12-06T09:00:00")
        page.get_by_label("Failed until").fill("2026-12-06T10:30:15")
        with page.expect_request(lambda request: request.url.endswith("/resends")) as posted:
            preview(page)
        assert posted.value.post_data_json == {
            "since": "2026-12-06T14:00:00.000Z",
            "until": "2026-12-06T15:30:15.000Z",
            "dryRun": True,
        }
        expect(page.locator("#resend-summary")).to_have_text("No failed request matches.")
        expect(page.get_by_role("button", name="Re-send 0 messages")).to_be_disabled()
        assert watch.errors == []
    finally:
        context.close()
