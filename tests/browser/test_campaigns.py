"""The console's Campaigns page end to end in Chromium, on the local stack: a manifest with good and bad rows
checked row by row (the preview's exact words), sent on the seller's word, followed to the end with its exact
counts, its report and its rows to fix downloaded and read, and the rows not sent sent again."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.cognito_route import assert_no_stray_words
from tests.browser.pages import Screens, Tab
from tests.browser.test_console import tiny_pdf

ORDER = "123-1234567-1234567"  # Amazon's sandbox order: the emulator allows every type, any number of times
US = "ATVPDKIKX0DER"
CAMPAIGN_TIMEOUT_MS = 120_000
MISSING_FILE = "attachments/no-such-invoice.pdf"
HEADER = "amazonOrderId,marketplaceId,messageType,text,attachment1,attachment1Name"
MANIFEST = (
    f"{HEADER}\r\n"
    f"{ORDER},{US},invoice,,attachments/invoice-1.pdf,Invoice 1.pdf\r\n"
    f"{ORDER},{US},unexpectedProblem,Your parcel is two days late.,,\r\n"
    f"{ORDER},{US},invoice,,{MISSING_FILE},Invoice 2.pdf\r\n"
    f"{ORDER},{US},postcard,Hello,,\r\n"
    f"{ORDER},{US},unexpectedProblem,Your parcel is two days late.,,\r\n"
)


def campaigns_page(page: Page, url: str) -> None:
    page.goto(url + "#campaigns")
    expect(page.get_by_role("heading", name="Campaigns", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Campaigns")).to_have_attribute("aria-current", "page")


def choose_manifest(page: Page, name: str, text: str) -> None:
    page.get_by_label("Manifest file").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": text.encode("utf-8")}
    )
    page.get_by_role("button", name="Check the file").click()


def preview_rows(page: Page) -> list[list[str]]:
    rows: list[list[str]] = page.locator("#preview-rows tr").evaluate_all(
        "rows => rows.map(row => [...row.cells].map(cell => cell.innerText))"
    )
    return rows


def test_a_manifest_is_checked_row_by_row_before_anything_is_sent(
    desktop: Tab, console_server: Any, console_url: str, screens: Screens
) -> None:
    page = desktop.page
    console_server.s3.put_object(Bucket=console_server.bucket, Key="attachments/invoice-1.pdf", Body=tiny_pdf("1"))
    campaigns_page(page, console_url)
    expect(page.locator("#manifest-hint")).to_have_text(
        "A .csv or .jsonl manifest: one row per message, up to 10,000 rows and 5,000,000 bytes. Larger files go to "
        "the staging bucket under campaigns/ directly."
    )
    screens(page, "campaigns-page")

    choose_manifest(page, "november-invoices.csv", MANIFEST)

    expect(page.get_by_role("heading", name="Check before sending")).to_be_focused()
    expect(page.locator("#preview-summary")).to_have_text("5 rows: 2 ready, 3 will not be sent.")
    assert preview_rows(page) == [
        ["1", ORDER, "invoice", "Ready"],
        ["2", ORDER, "unexpectedProblem", "Ready"],
        [
            "3",
            ORDER,
            "invoice",
            f"AttachmentNotFound: s3://{console_server.bucket}/{MISSING_FILE} does not exist (was it deleted, or is "
            "the key or bucket wrong?).",
        ],
        ["4", ORDER, "postcard", preview_rows(page)[3][3]],
        [
            "5",
            ORDER,
            "unexpectedProblem",
            f"DuplicateRow: Row 5 repeats row 2: the same order {ORDER}, message type, text and attachments, so the "
            "buyer would get the message twice; it is not sent. Remove one of them, or change it if a second message "
            "was meant.",
        ],
    ]
    assert re.fullmatch(r"UnknownMessageType: 'postcard' is not a message type.*", preview_rows(page)[3][3])
    expect(page.get_by_role("button", name="Send 2 messages")).to_be_enabled()
    assert_no_stray_words(page)
    screens(page, "preview")
    # Nothing is stored by a check: the bucket holds no manifest.
    listed = console_server.s3.list_objects_v2(Bucket=console_server.bucket, Prefix="campaigns/")
    assert listed.get("KeyCount") == 0


def test_a_file_that_cannot_be_read_is_refused_by_name(desktop: Tab, console_url: str, screens: Screens) -> None:
    page = desktop.page
    campaigns_page(page, console_url)

    choose_manifest(page, "semicolons.csv", HEADER.replace(",", ";") + f"\r\n{ORDER};{US};invoice;;;\r\n")

    expect(page.locator("#campaign-error")).to_contain_text("The manifest's")
    expect(page.locator("#campaign-preview")).to_be_hidden()
    assert_no_stray_words(page)
    screens(page, "refused")


ONLY_UNEXPECTED_PROBLEM = "702-0000000-0000000"  # the emulator's order that allows only unexpectedProblem
SENT_AND_FAILED = (
    f"{HEADER}\r\n"
    f"{ORDER},{US},invoice,,attachments/invoice-1.pdf,Invoice 1.pdf\r\n"
    f"{ORDER},{US},unexpectedProblem,Your parcel is two days late.,,\r\n"
    f"{ONLY_UNEXPECTED_PROBLEM},{US},invoice,,attachments/invoice-1.pdf,Invoice 1.pdf\r\n"
    f"{ORDER},{US},postcard,Hello,,\r\n"
)


def counts(page: Page) -> dict[str, str]:
    shown: dict[str, str] = page.locator("#campaign-counts").evaluate(
        "list => Object.fromEntries([...list.querySelectorAll('dt')].map(dt => [dt.innerText, "
        "dt.nextElementSibling.innerText]))"
    )
    return shown


def download(page: Page, button: str) -> tuple[str, str]:
    with page.expect_download() as started:
        page.get_by_role("button", name=button).click()
    saved = started.value
    return saved.suggested_filename, Path(saved.path()).read_bytes().decode("utf-8")


def test_a_campaign_is_sent_followed_accounted_for_and_its_rows_not_sent_sent_again(
    desktop: Tab, console_server: Any, console_url: str, screens: Screens
) -> None:
    page = desktop.page
    console_server.s3.put_object(Bucket=console_server.bucket, Key="attachments/invoice-1.pdf", Body=tiny_pdf("1"))
    campaigns_page(page, console_url)
    choose_manifest(page, "december.csv", SENT_AND_FAILED)
    expect(page.locator("#preview-summary")).to_have_text("4 rows: 3 ready, 1 will not be sent.")

    page.get_by_role("button", name="Send 3 messages").click()

    expect(page.locator("#campaign-title")).to_have_text("december")
    expect(page.locator("#campaign-status")).to_have_text("Finished", timeout=CAMPAIGN_TIMEOUT_MS)
    assert counts(page) == {
        "Waiting": "0",
        "Sent": "2",
        "Failed": "1",
        "No answer (may have reached the buyer)": "0",
        "Not sendable (the check refused them)": "1",
    }
    expect(page.locator("#campaign-failed-by")).to_have_text(re.compile(r"^MessageTypeNotAvailable: 1 · Amazon does"))
    expect(page.get_by_role("progressbar", name="Rows done")).to_have_attribute("aria-valuetext", "4 of 4 rows done")
    assert_no_stray_words(page)
    screens(page, "finished")
    assert sorted(d["messageType"] for d in console_server.emulator.deliveries()) == ["invoice", "unexpectedProblem"]

    name, report = download(page, "Download the report")
    lines = report.splitlines()
    assert name == "december.report.csv"
    assert lines[0] == "row,amazonOrderId,messageType,requestId,status,error,cause,sellingPartnerId"
    assert [line.split(",")[:3] + line.split(",")[4:6] for line in lines[1:]] == [
        ["1", ORDER, "invoice", "sent", ""],
        ["2", ORDER, "unexpectedProblem", "sent", ""],
        ["3", ONLY_UNEXPECTED_PROBLEM, "invoice", "failed", "MessageTypeNotAvailable"],
        ["4", ORDER, "postcard", "invalid", "UnknownMessageType"],
    ]
    name, rows = download(page, "Download the rows to fix")
    assert (name, rows) == (
        "december.failed-rows.csv",
        f"{HEADER}\r\n"
        f"{ONLY_UNEXPECTED_PROBLEM},{US},invoice,,attachments/invoice-1.pdf,Invoice 1.pdf\r\n"
        f"{ORDER},{US},postcard,Hello,,\r\n",
    )

    page.get_by_role("button", name="Send the rows not sent again").click()

    # Run 2 sends only row 3 (still not allowed for that order): no buyer gets rows 1 and 2 twice.
    expect(page.locator("#campaign-status")).to_have_text("Finished (run 2)", timeout=CAMPAIGN_TIMEOUT_MS)
    assert counts(page)["Sent"] == "2"
    assert counts(page)["Failed"] == "1"
    assert len(console_server.emulator.deliveries()) == 2
    expect(page.locator("#recent-campaigns")).to_have_text("december · Finished (run 2) · 2 of 4 rows sent")
    assert_no_stray_words(page)
    screens(page, "sent-again")
