"""The seller console end to end in Chromium: the page, the API function, S3 uploads through CORS, the real state
machine and the SP-API emulator that plays the buyer's inbox. Screenshots of every step land in
tests/browser/artifacts/ (kept by CI as test artifacts)."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from buyer_messaging import marketplaces
from local_stack.cognito_standin import UserPool
from tests.browser.cognito_route import serve_pool
from tests.browser.pages import Screens, Tab
from tests.unit.test_console_files import console_route_fetches

ORDER = "123-1234567-1234567"  # Amazon's sandbox order: the emulator allows every type, any number of times
ONLY_UNEXPECTED_PROBLEM = "702-0000000-0000000"  # the emulator's order that allows only unexpectedProblem
US = "ATVPDKIKX0DER"
WORKFLOW_TIMEOUT_MS = 90_000
# The page's own words (the console's modules), checked letter for letter: a stray "null" or "undefined" fails a test.
SENT = "Sent. Amazon accepted the message and emails the buyer."
NOT_SENT = "Not sent."
UNAUTHORIZED_IN_WORDS = (
    "Amazon refused the request: this order does not allow this message now, or the app lacks the Buyer "
    "Communication role."
)


def tiny_pdf(line: str) -> bytes:
    """A valid one-page PDF showing ``line`` (header, four objects, a cross-reference table with real offsets)."""
    stream = f"BT /F1 18 Tf 72 720 Td ({line}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# ------------------------------------------------------------------------------------------------ steps


def open_order(page: Page, url: str | None, order: str = ORDER, marketplace: str = US) -> None:
    """Order id and marketplace, then the message types (``url=None``: on the page already open)."""
    if url is not None:
        page.goto(url)
    page.get_by_label("Amazon order id").fill(order)
    page.get_by_label("Marketplace").select_option(marketplace)
    page.get_by_role("button", name="Show message types").click()
    # Focus follows the flow: the next section's heading, so keyboard and screen-reader users land there.
    expect(page.get_by_role("heading", name=re.compile("Message type"))).to_be_focused()


def type_button(page: Page, title: str) -> Any:
    """A message type's button by its title as the API gives it (Amazon's titles vary in wording and case)."""
    return page.locator("#type-list").get_by_role("button", name=re.compile(title, re.IGNORECASE))


def choose(page: Page, title: str) -> None:
    type_button(page, title).click()
    expect(page.locator("#message-title")).to_be_focused()


def send_button(page: Page) -> Any:
    return page.get_by_role("button", name="Send to the buyer")


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def rules_of(message_type: dict[str, Any]) -> str:
    """The rules line of a type's card, as the page words the API's limits."""
    rules = []
    if text := message_type["text"]:
        rules.append(
            f"{'Text' if text['required'] else 'Optional text'}, up to {plural(text['maxLength'], 'character')}"
        )
    if files := message_type["attachments"]:
        low, high = files["minCount"], files["maxCount"]
        if low == 0:
            rules.append(f"up to {plural(high, 'file')}")
        else:
            rules.append(plural(high, "file") if low == high else f"{low:,} to {plural(high, 'file')}")
    if message_type["coverageDates"]:
        rules.append("warranty dates")
    return " · ".join(rules)


def outcome_text(page: Page) -> str:
    """What the outcome box shows, as a reader sees it (innerText: hidden text left out, paragraphs apart)."""
    text: str = page.locator("#outcome").inner_text()
    return text


def expect_done(page: Page) -> None:
    """The workflow ended and the page says how (it shows the buttons after the outcome box is written)."""
    timeline = page.get_by_role("list", name="What happened so far")
    expect(timeline.get_by_role("listitem").last).to_contain_text(
        re.compile("^(Sent|Not sent)"), timeout=WORKFLOW_TIMEOUT_MS
    )
    expect(page.get_by_role("button", name="Send another message")).to_be_visible()


def expect_sent(page: Page, *files: str) -> None:
    """Sent, and the outcome box says exactly that and names exactly these files (``name (size)``), nothing else."""
    expect_done(page)
    expected = SENT + (f"\n\nFiles: {', '.join(files)}." if files else "")
    assert outcome_text(page) == expected


def timeline_words(page: Page, console_url: str) -> dict[str, str]:
    """The words for each step of a request's timeline that the API serves the page (GET /console/config.json;
    tests/unit/test_console_files.py holds them letter for letter)."""
    words: dict[str, str] = page.request.get(f"{console_url}console/config.json").json()["timeline"]
    return words


def expect_timeline(page: Page, console_url: str, request_id: str) -> None:
    """Each step of the request's record, in the words config.json gives, with its time of day (the browser runs
    in UTC)."""
    words = timeline_words(page, console_url)
    record = page.request.get(f"{console_url}messages/{request_id}").json()
    clock = [
        datetime.fromisoformat(step["at"].replace("Z", "+00:00")).strftime("%H:%M:%S") for step in record["history"]
    ]
    expected = [f"{words[step['status']]}\n{at}" for step, at in zip(record["history"], clock, strict=True)]
    items = page.get_by_role("list", name="What happened so far").get_by_role("listitem")
    assert [item.inner_text() for item in items.all()] == expected


def posted_request_id(response: Any) -> str:
    """The request id in the API's 202 to the page's send."""
    assert response.status == 202, response.status
    request_id: str = response.json()["requestId"]
    return request_id


class Hold:
    """Keeps the page's next request to ``pattern`` waiting, so a test can look at the screen it leaves meanwhile."""

    def __init__(self, page: Page, pattern: re.Pattern[str]) -> None:
        self.page = page
        self.routes: list[Route] = []
        page.route(pattern, self._hold, times=1)

    def _hold(self, route: Route) -> None:
        self.routes.append(route)

    def wait(self) -> None:
        deadline = time.monotonic() + 15
        while not self.routes:  # the route handler runs while this thread waits in Playwright
            assert time.monotonic() < deadline, "the page never made the request"
            self.page.wait_for_timeout(50)

    def release(self) -> None:
        self.wait()
        self.routes[0].continue_()


def staged_attachments(server: Any) -> list[dict[str, Any]]:
    listed = server.s3.list_objects_v2(Bucket=server.bucket, Prefix="attachments/")
    return [
        {**server.s3.head_object(Bucket=server.bucket, Key=item["Key"]), "Key": item["Key"]}
        for item in listed.get("Contents", [])
    ]


# ------------------------------------------------------------------------------------------------ tests


def test_a_page_load_fetches_what_the_throttling_counts_and_lists_the_marketplaces_config_json_gives(
    console_server: Any, console_url: str, desktop: Tab
) -> None:
    """What a first visit asks GET /console/{name} for is what the route's burst is sized for (ES modules
    included), and the page's marketplaces are the API's (GET /console/config.json), the United States first."""
    page = desktop.page
    page.goto(console_url)
    expect(page.get_by_label("Amazon order id")).to_be_focused()
    page.wait_for_load_state("networkidle")

    prefix = console_url + "console/"
    fetched = sorted(url.removeprefix(prefix) for _, url in desktop.watch.requests if url.startswith(prefix))
    assert fetched == console_route_fetches()
    groups = page.locator("#marketplace optgroup")
    assert groups.evaluate_all("groups => groups.map((group) => group.label)") == list(marketplaces.REGIONS.values())
    options = page.locator("#marketplace option")
    assert options.evaluate_all("options => options.map((option) => option.value)") == [
        market.marketplace_id for market in marketplaces.MARKETPLACE_LIST
    ]
    expect(options.first).to_have_text("United States (US) · ATVPDKIKX0DER")
    expect(page.get_by_label("Marketplace")).to_have_value(US)


def test_an_invoice_pdf_reaches_the_buyer_under_the_name_typed_in_the_page(
    console_server: Any, console_url: str, desktop: Tab, screens: Screens, tmp_path: Path
) -> None:
    page = desktop.page
    pdf = tmp_path / "scan-0001.pdf"
    pdf.write_bytes(tiny_pdf(f"Invoice for order {ORDER}"))
    buyer_sees = f"Invoice {ORDER}.pdf"

    page.goto(console_url)
    expect(page.get_by_label("Amazon order id")).to_be_focused()
    screens(page, "start")
    open_order(page, None)
    expect(page.locator("#buyer-locale")).to_have_text(
        "The buyer reads American English (en-US) — write in their language."
    )
    screens(page, "message-types")

    choose(page, "invoice")
    expect(page.get_by_label("Message to the buyer")).to_be_hidden()  # invoices take no text
    files = page.get_by_label("Files")
    expect(files).to_have_attribute("accept", re.compile(r"\.pdf"))
    screens(page, "invoice-form")
    files.set_input_files(str(pdf))
    name = page.get_by_label("Name shown to the buyer")
    expect(name).to_have_value("scan-0001.pdf")
    name.fill(buyer_sees)
    expect(send_button(page)).to_be_enabled()
    screens(page, "invoice-ready")

    # Each screen of the send, held on its way: staging the file, then the send, then the first progress read.
    staging = Hold(page, re.compile(r"/attachments$"))
    sending = Hold(page, re.compile(r"/orders/[^/?]+/messages$"))
    following = Hold(page, re.compile(r"/messages/[^/?]+$"))
    send_button(page).click()
    staging.wait()
    expect(page.locator("#page-status")).to_have_text(f"Uploading {buyer_sees} (1 of 1)…")
    screens(page, "uploading")
    staging.release()
    sending.wait()
    expect(page.locator("#page-status")).to_have_text("Sending…")
    expect(page.get_by_role("progressbar", name=f"Upload of {buyer_sees}")).to_have_attribute("value", "100")
    screens(page, "sending")
    with page.expect_response(re.compile(r"/orders/[^/?]+/messages$")) as posted:
        sending.release()
    request_id = posted_request_id(posted.value)
    following.wait()
    expect(page.locator("#request-id")).to_have_text(f"Request {request_id}")
    expect(page.locator("#outcome")).to_have_text("Working on it… this page follows the workflow by itself.")
    screens(page, "waiting")
    following.release()

    size = len(pdf.read_bytes())
    assert size < 1000  # shown in bytes, not KB
    expect_sent(page, f"{buyer_sees} ({size} bytes)")
    expect_timeline(page, console_url, request_id)
    screens(page, "invoice-sent")

    [delivered] = console_server.emulator.deliveries(ORDER)
    assert delivered["messageType"] == "invoice"
    [attachment] = delivered["attachments"]
    assert attachment["fileName"] == buyer_sees
    assert attachment["size"] == len(pdf.read_bytes())
    assert attachment["md5"] == hashlib.md5(pdf.read_bytes()).hexdigest()  # the exact bytes picked in the page
    # The browser put the file straight into the staging bucket (presigned POST through CORS), as a PDF.
    [staged] = staged_attachments(console_server)
    assert staged["ContentType"] == "application/pdf"
    assert staged["ContentLength"] == len(pdf.read_bytes())


def test_a_text_message_reaches_the_buyer_and_the_timeline_follows_it(
    console_server: Any, console_url: str, desktop: Tab, screens: Screens
) -> None:
    page = desktop.page
    text = "Hello! Your parcel is delayed by two days; we are sorry. Ünïcödé and 😀 survive the trip."

    open_order(page, console_url)
    choose(page, "unexpected problem")
    expect(page.get_by_label("Files")).to_be_hidden()  # this type takes no files
    page.get_by_label("Message to the buyer").fill(text)
    # Characters as the API counts them: the emoji is one, not two UTF-16 units.
    expect(page.locator("#text-count")).to_have_text(re.compile(rf"^{len(text)} / [\d,]+ characters$"))
    screens(page, "text-ready")

    with page.expect_response(re.compile(r"/orders/[^/?]+/messages$")) as posted:
        send_button(page).dblclick()  # an impatient double click sends once
    request_id = posted_request_id(posted.value)
    assert request_id.startswith(f"{ORDER}-")
    expect(page.get_by_role("heading", name=re.compile("Progress"))).to_be_focused()
    expect(page.locator("#request-id")).to_have_text(f"Request {request_id}")
    expect_sent(page)  # no files: the headline and nothing else (it once showed "null" under it)
    expect_timeline(page, console_url, request_id)
    screens(page, "text-sent")

    [delivered] = console_server.emulator.deliveries(ORDER)
    assert delivered["messageType"] == "unexpectedProblem"
    assert delivered["text"] == text
    assert not delivered.get("attachments")
    assert len(desktop.watch.posts_to(r"/orders/[^/]+/messages$")) == 1


def test_a_message_waiting_for_amazons_quota_says_so_in_the_timeline_then_is_sent(
    console_server: Any, console_url: str, desktop: Tab, screens: Screens
) -> None:
    from buyer_messaging import catalog, pacer, turns
    from buyer_messaging.config import get_settings

    page = desktop.page
    open_order(page, console_url)
    choose(page, "unexpected problem")
    page.get_by_label("Message to the buyer").fill("Your parcel is late; sorry.")
    # Other messages hold the next turns of the send operation for about 3 s (the form's own calls, which
    # the HTTP API makes, are of other operations and go at once).
    operation = catalog.message_type("unexpectedProblem").operation
    settings = get_settings()
    key = pacer.PaceKey(turns.seller_key(settings), operation)
    for _ in range(7):
        pacer.reserve(settings.workflow_table, key, 1.0, 5, pacer.PacerClock().now)

    with page.expect_response(re.compile(r"/orders/[^/?]+/messages$")) as posted:
        send_button(page).click()
    request_id = posted_request_id(posted.value)
    expect_sent(page)
    expect_timeline(page, console_url, request_id)
    record = page.request.get(f"{console_url}messages/{request_id}").json()
    assert [step["status"] for step in record["history"]] == [
        "received",
        "validated",
        "waitingForQuota",
        "sent",
    ]
    since = datetime.fromisoformat(record["history"][2]["at"].replace("Z", "+00:00")).strftime("%H:%M:%S")
    items = page.get_by_role("list", name="What happened so far").get_by_role("listitem")
    assert items.nth(2).inner_text() == f"Waiting for its turn in Amazon's quota since\n{since}"
    screens(page, "waited-for-quota")
    assert len(console_server.emulator.deliveries(ORDER)) == 1


def send_delay_notice(page: Page, console_url: str) -> str:
    """An unexpected-problem message "Your order is delayed." sent from the form: the request id it got."""
    open_order(page, console_url)
    choose(page, "unexpected problem")
    page.get_by_label("Message to the buyer").fill("Your order is delayed.")
    with page.expect_response(re.compile(r"/orders/[^/?]+/messages$")) as posted:
        send_button(page).click()
    return posted_request_id(posted.value)


def test_a_failed_workflow_is_explained_in_plain_words_and_can_be_sent_again(
    console_server: Any, console_url: str, desktop: Tab, screens: Screens
) -> None:
    page = desktop.page
    # Amazon refuses the send itself (403): a permanent error, the workflow ends failed with its name and cause.
    console_server.emulator.inject_fault("createUnexpectedProblem", status=403, count=1)
    request_id = send_delay_notice(page, console_url)

    expect_done(page)
    record = page.request.get(f"{console_url}messages/{request_id}").json()
    assert record["status"] == "failed" and record["error"] == "SpApiUnauthorized"
    assert record["cause"]  # the workflow says why, in its own words
    # The error name in words, the workflow's cause as details, the name itself: exactly that.
    assert outcome_text(page) == (
        f"{NOT_SENT}\n\n{UNAUTHORIZED_IN_WORDS}\n\nDetails: {record['cause']}\n\nError: SpApiUnauthorized"
    )
    expect(page.locator("#outcome code")).to_have_text("SpApiUnauthorized")
    expect_timeline(page, console_url, request_id)
    expect(send_button(page)).to_be_disabled()  # the failed message stays as it went
    screens(page, "failed")

    page.get_by_role("button", name="Edit and send again").click()
    expect(page.locator("#message-title")).to_be_focused()
    expect(page.get_by_label("Message to the buyer")).to_have_value("Your order is delayed.")
    screens(page, "edit-again")
    send_button(page).click()
    expect_sent(page)
    screens(page, "sent-after-editing-again")

    [delivered] = console_server.emulator.deliveries(ORDER)
    assert delivered["text"] == "Your order is delayed."


def test_a_send_without_an_answer_says_maybe_sent_and_does_not_offer_to_send_again(
    console_server: Any, console_url: str, desktop: Tab, screens: Screens, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Amazon delivers the message but answers after the read timeout: the page never says "Not sent"."""
    from local_stack.stack import reset_function_caches

    monkeypatch.setenv("SPAPI_READ_TIMEOUT", "1")
    reset_function_caches()
    page = desktop.page
    console_server.emulator.inject_fault("createUnexpectedProblem", delay_seconds=3.0, processed=True)
    request_id = send_delay_notice(page, console_url)

    timeline = page.get_by_role("list", name="What happened so far")
    expect(timeline.get_by_role("listitem").last).to_contain_text(
        timeline_words(page, console_url)["unknown"], timeout=WORKFLOW_TIMEOUT_MS
    )
    expect(page.get_by_role("button", name="Send another message")).to_be_visible()
    record = page.request.get(f"{console_url}messages/{request_id}").json()
    assert (record["status"], record["error"], record["done"]) == ("unknown", "SendOutcomeUnknown", True)
    assert outcome_text(page) == (
        "Maybe sent.\n\nThe message went to Amazon but no answer came back, so the buyer may already have it. It"
        " was not sent again: look at the order's messages in Seller Central before sending it again.\n\n"
        f"Details: {record['cause']}\n\nError: SendOutcomeUnknown"
    )
    assert record["cause"].startswith("createUnexpectedProblem: the request was sent but no answer came (read timeout)")
    expect_timeline(page, console_url, request_id)
    expect(page.get_by_role("button", name="Edit and send again")).to_be_hidden()
    screens(page, "maybe-sent")
    [delivered] = console_server.emulator.deliveries(ORDER)
    assert delivered["text"] == "Your order is delayed."


@pytest.mark.parametrize(
    ("changes", "shown"),
    [
        pytest.param(
            {"cause": None}, f"{NOT_SENT}\n\n{UNAUTHORIZED_IN_WORDS}\n\nError: SpApiUnauthorized", id="no-cause"
        ),
        pytest.param(
            {"error": None, "cause": None}, f"{NOT_SENT}\n\nThe workflow ended without saying why.", id="nothing-said"
        ),
        # A name the page has no words for, even one every JavaScript object inherits: the cause says it.
        pytest.param(
            {"error": "constructor", "cause": "Amazon said no."},
            f"{NOT_SENT}\n\nAmazon said no.\n\nError: constructor",
            id="unknown-error-name",
        ),
    ],
)
def test_a_failure_says_exactly_what_the_record_says_and_nothing_more(
    console_server: Any, console_url: str, desktop: Tab, screens: Screens, changes: dict[str, Any], shown: str
) -> None:
    """The record's nullable fields (docs/api.md: `error`, `cause`) left empty in a real failure's record, as the
    page reads it: each empty field leaves out its paragraph; none shows up as a word."""
    page = desktop.page
    console_server.emulator.inject_fault("createUnexpectedProblem", status=403, count=1)

    def reshaped(route: Route) -> None:
        response = route.fetch()
        record = response.json()
        if record.get("done"):
            record.update(changes)
        route.fulfill(response=response, json=record)

    page.route(re.compile(r"/messages/[^/?]+$"), reshaped)
    open_order(page, console_url)
    choose(page, "unexpected problem")
    page.get_by_label("Message to the buyer").fill("Your order is delayed.")
    send_button(page).click()
    expect_done(page)
    assert outcome_text(page) == shown
    expect(page.get_by_role("button", name="Edit and send again")).to_be_visible()
    screens(page, "failed")


def test_retrying_after_a_503_and_a_lost_answer_repeats_the_key_and_sends_once(
    console_server: Any, console_url: str, desktop: Tab, screens: Screens
) -> None:
    page = desktop.page
    keys: list[str | None] = []

    def flaky_network(route: Route) -> None:
        keys.append(route.request.header_value("idempotency-key"))
        if len(keys) == 1:  # Amazon busy: the API answers 503 before starting anything
            route.fulfill(
                status=503,
                headers={"retry-after": "3", "content-type": "application/json"},
                body='{"error": "SpApiThrottled", "message": "Over quota.", "errors": []}',
            )
        elif len(keys) == 2:  # the API starts the workflow, but its answer never reaches the page
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(re.compile(r"/orders/[^/?]+/messages$"), flaky_network)
    open_order(page, console_url)
    choose(page, "unexpected problem")
    page.get_by_label("Message to the buyer").fill("Your order is late; sorry.")

    send_button(page).click()
    expect(page.locator("#send-error")).to_have_text("Amazon is busy, try again in 3 seconds.")
    expect(send_button(page)).to_be_focused()  # ready to try again
    screens(page, "amazon-busy-on-send")
    send_button(page).click()
    expect(page.locator("#send-error")).to_contain_text("could not reach the server")
    send_button(page).click()
    expect_sent(page)
    screens(page, "sent-once-after-retries")

    assert len(keys) == 3
    assert keys[0] and keys[0] == keys[1] == keys[2], keys  # one attempt, one key: the retries are no-ops
    assert len(console_server.emulator.deliveries(ORDER)) == 1


def test_a_warranty_carries_its_coverage_dates_as_iso_8601_with_a_time_zone(
    console_server: Any, console_url: str, desktop: Tab, screens: Screens
) -> None:
    page = desktop.page
    warranty = tiny_pdf("Two years")
    open_order(page, console_url)
    choose(page, "warranty")
    page.get_by_label("Files").set_input_files(
        [{"name": "Warranty.pdf", "mimeType": "application/pdf", "buffer": warranty}]
    )
    start, end = page.get_by_label("Warranty starts"), page.get_by_label("Warranty ends")
    start.fill("2026-11-27")
    end.fill("2026-11-26")
    expect(page.locator("#coverage-end-error")).to_have_text("The warranty cannot end before it starts.")
    expect(send_button(page)).to_be_disabled()
    expect(page.locator("#send-blocked")).to_have_text("Send is disabled until what is marked above is fixed.")
    screens(page, "warranty-dates-invalid")
    end.fill("2028-11-27")
    expect(send_button(page)).to_be_enabled()
    screens(page, "warranty-ready")
    send_button(page).click()
    expect_sent(page, f"Warranty.pdf ({len(warranty)} bytes)")
    screens(page, "warranty-sent")

    [delivered] = console_server.emulator.deliveries(ORDER)
    assert delivered["messageType"] == "warranty"
    assert delivered["coverageStartDate"] == "2026-11-27T00:00:00Z"
    assert delivered["coverageEndDate"] == "2028-11-27T00:00:00Z"
    assert [attachment["fileName"] for attachment in delivered["attachments"]] == ["Warranty.pdf"]


def test_an_over_limit_text_is_blocked_in_the_page(
    console_server: Any, console_url: str, desktop: Tab, screens: Screens
) -> None:
    page = desktop.page
    open_order(page, console_url)
    choose(page, "unexpected problem")
    counter = page.locator("#text-count")
    expect(counter).to_have_text(re.compile(r"^0 / [\d,]+ characters$"))
    limit = int(counter.inner_text().split("/")[1].split()[0].replace(",", ""))
    text = page.get_by_label("Message to the buyer")

    # Required and empty: Send is disabled and the page says why.
    expect(send_button(page)).to_be_disabled()
    expect(page.locator("#send-blocked")).to_contain_text("needs text")

    text.fill("x" * (limit + 1))
    expect(counter).to_have_text(f"{limit + 1:,} / {limit:,} characters")
    expect(counter).to_have_class(re.compile(r"\bover\b"))
    expect(text).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#text-error")).to_have_text(
        f"Too long by 1 character: this message type takes at most {limit:,}."
    )
    expect(send_button(page)).to_be_disabled()
    expect(page.locator("#send-blocked")).to_contain_text("Send is disabled")
    screens(page, "over-limit")

    # Even a submit the disabled button cannot make (a script, a stuck Enter key) is refused in the page.
    page.locator("#message-form").evaluate("form => form.requestSubmit()")
    expect(page.get_by_role("heading", name=re.compile("Progress"))).to_be_hidden()

    # The limit itself is fine; one emoji more is one character over, as the API counts.
    text.fill("x" * limit)
    expect(counter).to_have_text(f"{limit:,} / {limit:,} characters")
    expect(send_button(page)).to_be_enabled()
    text.fill("x" * limit + "😀")
    expect(counter).to_have_text(f"{limit + 1:,} / {limit:,} characters")
    expect(send_button(page)).to_be_disabled()

    page.wait_for_timeout(500)  # anything the page might have sent has had time to arrive
    assert desktop.watch.posts_to(r"/orders/[^/]+/messages$") == []
    assert desktop.watch.posts_to(r"/attachments$") == []
    assert console_server.emulator.deliveries(ORDER) == []


def test_each_message_type_is_a_card_whose_button_is_named_by_what_it_shows(
    console_server: Any, console_url: str, desktop: Tab, screens: Screens
) -> None:
    """WCAG 2.5.3 (Label in Name): a type's button shows its title and is named by it; the description, rules and
    reason are the button's description, shown beside it in the card, which a click anywhere chooses."""
    page = desktop.page
    page.goto(console_url)
    page.get_by_label("Amazon order id").fill(ONLY_UNEXPECTED_PROBLEM)
    with page.expect_response(re.compile(r"/message-types\?")) as listed:
        page.get_by_role("button", name="Show message types").click()
    types = listed.value.json()["messageTypes"]
    expect(page.get_by_role("heading", name=re.compile("Message type"))).to_be_focused()
    assert any(t["available"] for t in types) and not all(t["available"] for t in types)

    cards = page.locator("#type-list > li")
    expect(cards).to_have_count(len(types))
    for card, message_type in zip(cards.all(), types, strict=True):
        title = message_type["title"]
        details = [message_type["description"], rules_of(message_type)]
        if not message_type["available"]:
            details.append(f"Not available: {message_type['disabledReason']}")
        assert card.inner_text() == "\n".join([title, *details])
        button = card.get_by_role("button")
        assert button.inner_text() == title
        expect(button).to_have_accessible_name(title)
        expect(button).to_have_accessible_description(" ".join(details))
        expect(button).to_have_attribute("aria-pressed", "false")
    screens(page, "cards")

    unavailable = next(t for t in types if not t["available"])
    page.locator("#type-list > li", has=page.get_by_role("button", name=unavailable["title"], exact=True)).locator(
        ".type-description"
    ).click()
    expect(page.locator("#type-error")).to_have_text(f"{unavailable['title']}: {unavailable['disabledReason']}")
    expect(page.locator("#message-title")).to_be_hidden()
    screens(page, "unavailable-clicked")

    [available] = [t for t in types if t["available"]]
    card = page.locator("#type-list > li", has=page.get_by_role("button", name=available["title"], exact=True))
    card.locator(".type-rules").click()  # the card's text is part of the target, not only the title
    expect(page.locator("#message-title")).to_be_focused()
    expect(page.locator("#message-title")).to_have_text(f"3 {available['title']}")
    expect(card.get_by_role("button")).to_have_attribute("aria-pressed", "true")
    expect(cards.filter(visible=True)).to_have_count(1)  # only the chosen type stays in view
    screens(page, "chosen")


def test_keyboard_only_from_the_order_to_a_sent_message(
    console_server: Any, console_url: str, desktop: Tab, screens: Screens
) -> None:
    page = desktop.page
    keyboard = page.keyboard
    page.goto(console_url)
    expect(page.get_by_label("Amazon order id")).to_be_focused()  # the page starts where the work starts
    keyboard.type(ORDER)
    keyboard.press("Tab")
    expect(page.get_by_label("Marketplace")).to_be_focused()  # United States is the first choice
    keyboard.press("Tab")
    expect(page.get_by_role("button", name="Show message types")).to_be_focused()
    keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("Message type"))).to_be_focused()

    wanted = type_button(page, "unexpected problem")
    for _ in range(30):
        keyboard.press("Tab")
        if wanted.evaluate("button => button === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the Unexpected problem button")
    # A focus ring a sighted keyboard user can see, around the type's whole card.
    assert wanted.evaluate("button => getComputedStyle(button.closest('li')).outlineStyle") == "solid"
    screens(page, "keyboard-focus-on-type")

    keyboard.press("Enter")
    expect(page.locator("#message-title")).to_be_focused()
    expect(wanted).to_have_attribute("aria-pressed", "true")
    keyboard.press("Tab")
    expect(page.get_by_label("Message to the buyer")).to_be_focused()
    keyboard.type("Typed with the keyboard only.")
    keyboard.press("Tab")
    expect(send_button(page)).to_be_focused()
    keyboard.press("Enter")
    expect_sent(page)
    screens(page, "keyboard-sent")

    [delivered] = console_server.emulator.deliveries(ORDER)
    assert delivered["text"] == "Typed with the keyboard only."


def test_the_file_picker_enforces_type_count_size_and_names(
    console_server: Any, console_url: str, desktop: Tab, screens: Screens, tmp_path: Path
) -> None:
    page = desktop.page
    open_order(page, console_url)
    choose(page, "invoice")
    files = page.get_by_label("Files")
    errors = page.locator("#files-error")
    names = page.get_by_label("Name shown to the buyer")

    files.set_input_files([{"name": "setup.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x90\x00"}])
    expect(errors).to_contain_text("setup.exe was not added: Amazon takes only")
    expect(names).to_have_count(0)
    files.set_input_files([{"name": "blank.pdf", "mimeType": "application/pdf", "buffer": b""}])
    expect(errors).to_contain_text("blank.pdf was not added: it is empty.")

    six = [{"name": f"page-{n}.pdf", "mimeType": "application/pdf", "buffer": tiny_pdf(f"page {n}")} for n in range(6)]
    files.set_input_files(six)
    expect(names).to_have_count(5)
    expect(errors).to_have_text("page-5.pdf was not added: at most 5 files.")
    expect(send_button(page)).to_be_enabled()
    screens(page, "files-added")

    # The buyer's computer opens a file by its ending: a rename may not change the type.
    names.nth(1).fill("page-1.exe")
    expect(page.locator("#file-list .error").nth(1)).to_contain_text("Keep the .pdf ending")
    expect(names.nth(1)).to_have_attribute("aria-invalid", "true")
    expect(send_button(page)).to_be_disabled()
    names.nth(1).fill("Seite 1.pdf")
    expect(send_button(page)).to_be_enabled()

    page.get_by_role("button", name="Remove page-4.pdf").click()
    expect(names).to_have_count(4)
    expect(names.nth(3)).to_be_focused()  # focus stays in the list

    # Amazon takes under 10,000,000 bytes in total: a file that reaches it is refused at the picker.
    big = tmp_path / "catalogue.pdf"
    with big.open("wb") as out:
        out.truncate(10_000_000)
    files.set_input_files(str(big))
    expect(errors).to_contain_text("catalogue.pdf was not added: the files would total")
    expect(names).to_have_count(4)
    screens(page, "file-rules")
    assert console_server.emulator.deliveries(ORDER) == []


def test_the_apis_field_errors_show_next_to_the_field(
    console_server: Any, console_url: str, desktop: Tab, screens: Screens
) -> None:
    page = desktop.page
    open_order(page, console_url)
    choose(page, "unexpected problem")
    text = page.get_by_label("Message to the buyer")
    # Amazon forbids email addresses in message text; the API's validation says so for the field "text".
    text.fill("Please write to me at seller@example.com about the delay.")
    send_button(page).click()
    expect(page.locator("#text-error")).to_contain_text("email")
    expect(text).to_have_attribute("aria-invalid", "true")
    expect(text).to_be_focused()
    expect(page.get_by_role("alert").filter(has_text="breaks Amazon's rules")).to_be_visible()
    screens(page, "field-error")
    assert console_server.emulator.deliveries(ORDER) == []


def test_amazon_busy_is_explained_with_try_again(
    console_server: Any, console_url: str, desktop: Tab, screens: Screens
) -> None:
    page = desktop.page
    console_server.emulator.inject_fault("getMessagingActionsForOrder", status=503, count=100)
    page.goto(console_url)
    page.get_by_label("Amazon order id").fill("123-45")
    page.get_by_role("button", name="Show message types").click()
    expect(page.locator("#order-id-error")).to_have_text(
        "Enter the order id like 123-1234567-1234567 (3, 7 and 7 digits)."
    )
    expect(page.get_by_label("Amazon order id")).to_have_attribute("aria-invalid", "true")
    screens(page, "order-id-invalid")
    page.get_by_label("Amazon order id").fill(ORDER)
    page.get_by_role("button", name="Show message types").click()
    expect(page.locator("#order-error")).to_contain_text("Amazon is busy, try again", timeout=30_000)
    expect(page.get_by_role("heading", name=re.compile("Message type"))).to_be_hidden()
    screens(page, "amazon-busy")


def test_readable_on_a_phone_with_unavailable_types_explained(console_url: str, phone: Tab, screens: Screens) -> None:
    page = phone.page
    open_order(page, console_url, order=ONLY_UNEXPECTED_PROBLEM)
    no_sideways_scroll = "document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(no_sideways_scroll)

    invoice = type_button(page, "invoice")
    expect(invoice).to_have_attribute("aria-disabled", "true")
    expect(invoice).to_have_accessible_description(re.compile(r"Not available: \S"))  # the reason, beside it
    screens(page, "phone-message-types")
    invoice.focus()  # aria-disabled, not disabled: still reachable with the keyboard, so is its reason
    page.keyboard.press("Enter")  # ... and it opens nothing
    expect(page.locator("#type-error")).to_have_text(re.compile(r"^[^:]*invoice[^:]*: \S", re.IGNORECASE))
    expect(page.locator("#message-title")).to_be_hidden()

    choose(page, "unexpected problem")
    page.get_by_label("Message to the buyer").fill("Sorry, your order ships tomorrow.")
    expect(send_button(page)).to_be_enabled()
    # 16 px or more: phones do not zoom into the field on focus, and it stays readable.
    assert page.get_by_label("Message to the buyer").evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 16
    assert page.evaluate(no_sideways_scroll)
    screens(page, "phone-form")


def test_sign_in_with_cognito_when_the_deployment_has_a_user_pool(
    console_server: Any, console_url: str, desktop: Tab, screens: Screens, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deployed, config.json names a user pool and the page signs in to it with SRP. Cognito is played here by
    the local stand-in (ConsoleMfa OPTIONAL, a user without an authenticator app: no challenge after the
    password); the local API ignores the token, so only the page's part is tested. The API function is told of
    the user pool as deployed, so its Content-Security-Policy lets the page reach that pool's endpoint, and only
    that one. The challenges are in tests/browser/test_sign_in.py."""
    pool = UserPool(mfa="OPTIONAL")
    pool.create_confirmed_user("seller@example.com", "Permanent-Passw0rd")
    page = desktop.page
    cognito = serve_pool(page, pool, monkeypatch)
    page.goto(console_url)
    expect(page.get_by_label("Amazon order id")).to_be_hidden()  # nothing but the sign-in form before signing in
    expect(page.get_by_label("Email")).to_be_focused()
    screens(page, "sign-in")
    page.get_by_label("Email").fill("seller@example.com")
    page.get_by_label("Password", exact=True).fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").filter(has_text="Wrong email or password.")).to_be_visible()
    screens(page, "wrong-password")

    page.get_by_label("Password", exact=True).fill("Permanent-Passw0rd")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as seller@example.com")).to_be_visible()
    expect(page.get_by_label("Password", exact=True)).to_be_hidden()
    page.reload()  # the tab keeps its session: no new sign-in
    expect(page.get_by_text("Signed in as seller@example.com")).to_be_visible()
    token = page.evaluate("JSON.parse(sessionStorage.getItem('buyer-messaging.console.session')).token")
    with page.expect_request(re.compile(r"/message-types\?")) as listed:
        open_order(page, None)
    assert listed.value.headers["authorization"] == f"Bearer {token}"
    screens(page, "signed-in")

    call = cognito.calls[-2]
    assert call.target == "AWSCognitoIdentityProviderService.InitiateAuth"
    assert call.body["AuthFlow"] == "USER_SRP_AUTH" and call.body["ClientId"] == pool.client_id
    assert set(call.body["AuthParameters"]) == {"USERNAME", "SRP_A"}
    assert [c for c in cognito.calls if "Passw0rd" in c.raw] == []  # SRP: the password never left the page
    # The password is gone from the page; only the ID token is kept, for this tab.
    assert page.get_by_label("Password", exact=True).input_value() == ""
    stored = page.evaluate("JSON.stringify(sessionStorage)")
    assert "Passw0rd" not in stored and token in stored
    assert page.evaluate("JSON.stringify(localStorage)") == "{}"

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Email")).to_be_visible()
    expect(page.get_by_label("Amazon order id")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0
