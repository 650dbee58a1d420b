"""`make run`: the whole workflow end to end on the local stack, and what the buyer received.

Starts the SP-API emulator (unless SPAPI_ENDPOINT and LWA_TOKEN_URL point at another SP-API) and deploys
template.yaml into moto with the real handlers. Against the emulator the deployment serves several sellers: the
seed's application secret is the legacy seller's (A2EXAMPLESELLER, named by the SellingPartnerId parameter), and two
more sellers are onboarded first through Amazon's website authorization workflow (local_stack.onboarding_demo),
printing what the operator and each seller see. Then, each under its seller's sellers/{id}/ segment (a deployment of
several sellers refuses a request that names none): a sample invoice under outbox/ and a request document with text
and an image under requests/ for the legacy seller, a text message for A3OTHERSELLER's own order; it waits for the
executions and prints, per message and naming its seller, a timeline and the files the buyer received with their MD5
checked against the staged bytes. Last, the template campaign (events/campaigns/example.csv: its files staged, the
manifest uploaded under sellers/A2EXAMPLESELLER/campaigns/) and its report, row by row.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from buyer_messaging import executions, naming, status
from buyer_messaging.campaigns import records
from buyer_messaging.campaigns.keys import manifest_key
from buyer_messaging.campaigns.keys import report_key as report_key_of
from buyer_messaging.campaigns.manifest import read_manifest
from buyer_messaging.seller_scope import key_prefix
from local_stack import onboarding_demo, samples, timeline
from local_stack.api_server import free_port
from local_stack.stack import ROOT, LocalStack, SpApiTarget, in_process_aws

DEFAULT_ORDER = "123-1234567-1234567"
DEFAULT_MARKETPLACE = "ATVPDKIKX0DER"
LOG_PATH = ROOT / ".local" / "functions.log"
EXAMPLE_CAMPAIGN = ROOT / "events" / "campaigns" / "example.csv"
# The seed's sellers onboarded through OAuth: one that has not authorized the application yet, and one with its own
# orders (the demo sends it a message).
ONBOARDED_SELLERS = ("A3ONBOARDSELLER", "A3OTHERSELLER")
OTHER_SELLER = "A3OTHERSELLER"
OTHER_SELLER_ORDER = "113-2000001-0000001"  # the seed's order of OTHER_SELLER


@dataclass
class DemoMessage:
    label: str
    amazon_order_id: str
    message_type: str
    staged: dict[str, bytes] = field(default_factory=dict)  # key -> bytes, for the MD5 check
    file_names: dict[str, str] = field(default_factory=dict)  # key -> name shown to the buyer
    text: str | None = None
    seller: str | None = None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make run",
        description="Send sample messages through the real state machine on the local stack.",
        epilog="Pass options through make with ARGS, e.g. make run ARGS='--file ./my.pdf --type warranty'.",
    )
    parser.add_argument("--file", type=Path, help="send this file instead of the samples")
    parser.add_argument("--file-name", help="the name the buyer sees (default: the file's name)")
    parser.add_argument("--order", default=DEFAULT_ORDER, help=f"Amazon order id (default {DEFAULT_ORDER})")
    parser.add_argument("--marketplace", default=DEFAULT_MARKETPLACE, help="marketplace id")
    parser.add_argument("--type", dest="message_type", help="message type, e.g. invoice, warranty, unexpectedProblem")
    parser.add_argument("--text", help="message text, for types that take text")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the executions")
    parser.add_argument(
        "--no-campaign", action="store_true", help="skip the template campaign (events/campaigns/example.csv)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    custom = args.file is not None or args.message_type is not None or args.text is not None
    with ExitStack() as resources:
        target, emulator = _target(resources)
        _quiet_functions(resources)  # before the stack: its closing steps log to the file too
        resources.enter_context(in_process_aws())
        api_port = free_port()
        parameters: dict[str, str] = {}
        if emulator is not None:
            parameters = onboarding_demo.parameters_for(emulator, onboarding_demo.callback_of(api_port))
            parameters["SellingPartnerId"] = emulator.seed.credentials.selling_partner_id
        stack = LocalStack(target, parameters=parameters or None)
        resources.callback(stack.close)
        deployment = stack.deploy()
        tap = stack.tap_events()
        print(
            f"Local stack: bucket {deployment.bucket}, state machine {deployment.state_machine_arn.rsplit(':', 1)[-1]}"
        )
        print(f"SP-API: {target.endpoint}" + (" (emulator)" if emulator else ""))
        onboarded = True
        if emulator is not None and not custom:
            with onboarding_demo.onboarding_api(stack, api_port) as api:
                for seller in ONBOARDED_SELLERS:
                    onboarded &= onboarding_demo.onboard(api, seller, sys.stdout)
        # Several sellers once onboarded: every request names its seller (its key's sellers/{id}/ segment).
        legacy = parameters.get("SellingPartnerId") if onboarded and not custom else None
        if custom:
            messages = [_custom_message(stack, args)]
        else:
            messages = _sample_messages(stack, args, legacy)
            if legacy is not None:
                messages.append(_other_seller_message(stack))
        try:
            described = stack.wait_for_executions(len(messages), timeout_seconds=args.timeout)
        except TimeoutError as error:
            print(f"\n{error}", file=sys.stderr)
            return 1
        delivered = _report(stack, messages, described, emulator, tap.drain())
        if not onboarded:
            delivered = 1
        if custom or args.no_campaign:
            return delivered
        if emulator is None:
            print("\nTemplate campaign skipped: its rows name the emulator's orders, not this SP-API's.")
            return delivered
        try:
            campaign_sent = _example_campaign(stack, args.timeout, legacy)
        except TimeoutError as error:
            print(f"\n{error}", file=sys.stderr)
            return 1
        return delivered if campaign_sent else 1
    return 1  # pragma: no cover  (ExitStack does not swallow exceptions)


def _target(resources: ExitStack) -> tuple[SpApiTarget, Any]:
    """The emulator, or the SP-API that SPAPI_ENDPOINT and LWA_TOKEN_URL name."""
    endpoint, token_url = os.environ.get("SPAPI_ENDPOINT", ""), os.environ.get("LWA_TOKEN_URL", "")
    if endpoint and token_url:
        missing = [
            name for name in ("LWA_CLIENT_ID", "LWA_CLIENT_SECRET", "LWA_REFRESH_TOKEN") if not os.environ.get(name)
        ]
        if missing:
            raise SystemExit(f"SPAPI_ENDPOINT is set: set {', '.join(missing)} too (the app's LWA credentials).")
        credentials = {
            "clientId": os.environ["LWA_CLIENT_ID"],
            "clientSecret": os.environ["LWA_CLIENT_SECRET"],
            "refreshToken": os.environ["LWA_REFRESH_TOKEN"],
        }
        region = os.environ.get("SPAPI_REGION", "na")
        return SpApiTarget(
            endpoint, token_url, os.environ.get("UPLOAD_URL_ALLOWED_HOSTS", ""), credentials, region
        ), None
    from spapi_emulator import Emulator, load_default_seed

    seed = load_default_seed()
    emulator = resources.enter_context(Emulator(seed))
    target = SpApiTarget(emulator.base_url, emulator.token_url, emulator.upload_host, seed.credentials.as_secret())
    return target, emulator


def _quiet_functions(resources: ExitStack) -> None:
    """The functions' JSON logs go to .local/functions.log, so the terminal shows the story; all as it was on exit
    (main() also runs inside tests, where the next test reads the functions' metrics)."""
    from buyer_messaging.observability import logger

    LOG_PATH.parent.mkdir(exist_ok=True)
    handler = logger.registered_handler
    if isinstance(handler, logging.StreamHandler):
        log_file = resources.enter_context(LOG_PATH.open("w", encoding="utf-8"))
        resources.callback(handler.setStream, handler.setStream(log_file))
    saved_metrics = os.environ.get("POWERTOOLS_METRICS_DISABLED")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    resources.callback(_restore_variable, "POWERTOOLS_METRICS_DISABLED", saved_metrics)
    # moto's ASL interpreter logs, as errors, every Choice that tests a path with IsPresent and finds none (the
    # workflow's normal way to ask "is there a turn to wait for?"), and warns that ToleratedFailurePercentage is
    # not evaluated (the campaign machine catches every row's failure, so it never matters): the log file's.
    moto_log = logging.getLogger("moto")
    moto_handler = logging.StreamHandler(resources.enter_context(LOG_PATH.open("a", encoding="utf-8")))
    moto_log.addHandler(moto_handler)
    resources.callback(moto_log.removeHandler, moto_handler)
    resources.callback(setattr, moto_log, "propagate", moto_log.propagate)
    moto_log.propagate = False
    resources.enter_context(warnings.catch_warnings())
    warnings.filterwarnings("ignore", message="No application metrics to publish")


def _restore_variable(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _sample_messages(stack: LocalStack, args: argparse.Namespace, seller: str | None) -> list[DemoMessage]:
    """The legacy seller's two samples, under its ``sellers/{id}/`` segment when several sellers are served."""
    assert stack.deployment is not None
    s3 = stack.client("s3")
    bucket = stack.deployment.bucket
    order, marketplace = args.order, args.marketplace
    prefix = key_prefix(seller)

    invoice_name = f"Invoice-{order}.pdf"
    invoice_key = f"{prefix}outbox/{marketplace}/{order}/invoice/{invoice_name}"
    invoice = samples.invoice_pdf(order)
    invoice_message = DemoMessage(
        "invoice dropped in the outbox",
        order,
        "invoice",
        {invoice_key: invoice},
        {invoice_key: invoice_name},
        seller=seller,
    )

    proof_key = f"{prefix}attachments/engraving-proof.png"
    proof = samples.proof_png()
    text = "Please check the engraving proof attached and reply if the spelling of the name is right."
    document = {
        "amazonOrderId": order,
        "marketplaceId": marketplace,
        "messageType": "confirmCustomizationDetails",
        "text": text,
        "attachments": [{"key": proof_key, "fileName": "Engraving proof.png"}],
    }
    request_message = DemoMessage(
        "text + image from a request document",
        order,
        "confirmCustomizationDetails",
        {proof_key: proof},
        {proof_key: "Engraving proof.png"},
        text,
        seller,
    )

    print("\nStaging:")
    s3.put_object(Bucket=bucket, Key=proof_key, Body=proof)
    print(f"  s3://{bucket}/{proof_key}  ({len(proof):,} bytes, starts nothing)")
    s3.put_object(Bucket=bucket, Key=invoice_key, Body=invoice)
    print(f"  s3://{bucket}/{invoice_key}  ({len(invoice):,} bytes)")
    request_key = f"{prefix}requests/customization-{order}.json"
    s3.put_object(Bucket=bucket, Key=request_key, Body=json.dumps(document).encode())
    print(f"  s3://{bucket}/{request_key}")
    return [invoice_message, request_message]


def _other_seller_message(stack: LocalStack) -> DemoMessage:
    """A text message for OTHER_SELLER's own order, under its segment: it goes out with that seller's own token."""
    assert stack.deployment is not None
    text = "Your parcel ships tomorrow: the courier collects it in the morning."
    document = {
        "amazonOrderId": OTHER_SELLER_ORDER,
        "marketplaceId": DEFAULT_MARKETPLACE,
        "messageType": "unexpectedProblem",
        "text": text,
        "sellingPartnerId": OTHER_SELLER,
    }
    key = f"{key_prefix(OTHER_SELLER)}requests/late-{OTHER_SELLER_ORDER}.json"
    stack.client("s3").put_object(Bucket=stack.deployment.bucket, Key=key, Body=json.dumps(document).encode())
    print(f"  s3://{stack.deployment.bucket}/{key}")
    return DemoMessage(
        "text for another seller's order", OTHER_SELLER_ORDER, "unexpectedProblem", text=text, seller=OTHER_SELLER
    )


def _custom_message(stack: LocalStack, args: argparse.Namespace) -> DemoMessage:
    assert stack.deployment is not None
    s3 = stack.client("s3")
    bucket = stack.deployment.bucket
    message_type = args.message_type or ("invoice" if args.file else "unexpectedProblem")
    document: dict[str, Any] = {
        "amazonOrderId": args.order,
        "marketplaceId": args.marketplace,
        "messageType": message_type,
    }
    message = DemoMessage("your message", args.order, message_type, text=args.text)
    if args.text is not None:
        document["text"] = args.text
    print("\nStaging:")
    if args.file is not None:
        data = args.file.read_bytes()
        file_name = args.file_name or args.file.name
        key = f"attachments/{args.file.name}"
        s3.put_object(Bucket=bucket, Key=key, Body=data)
        print(f"  s3://{bucket}/{key}  ({len(data):,} bytes)")
        document["attachments"] = [{"key": key, "fileName": file_name}]
        message.staged[key] = data
        message.file_names[key] = file_name
    request_key = f"requests/{message_type}-{args.order}.json"
    s3.put_object(Bucket=bucket, Key=request_key, Body=json.dumps(document).encode())
    print(f"  s3://{bucket}/{request_key}")
    return message


def _report(
    stack: LocalStack,
    messages: list[DemoMessage],
    described: list[dict[str, Any]],
    emulator: Any,
    events: list[dict[str, Any]],
) -> int:
    sfn = stack.client("stepfunctions")
    ok = True
    for execution in sorted(described, key=lambda d: d["startDate"]):
        document = json.loads(execution["input"])
        keys = {attachment["key"] for attachment in document.get("attachments", [])}
        message = next((m for m in messages if set(m.staged) == keys and m.message_type in _aliases(document)), None)
        history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
        seller = f"seller {document['sellingPartnerId']}, " if document.get("sellingPartnerId") else ""
        print(
            f"\n── {message.label if message else document.get('messageType')} "
            f"({seller}order {document.get('amazonOrderId')}, {document.get('messageType')})"
        )
        for line in timeline.render(timeline.build(execution, history)):
            print("  " + line)
        _print_outcome(stack, execution, events)
        if execution["status"] != "SUCCEEDED":
            ok = False
            continue
        if emulator is not None and message is not None:
            ok &= _print_received(emulator, message)
        else:
            output = json.loads(execution.get("output") or "{}")
            print(f"  Amazon accepted the message (201) at {output.get('sentAt')}.")
    print("\nAll messages delivered." if ok else "\nSome messages were not delivered (see above).")
    return 0 if ok else 1


def _print_outcome(stack: LocalStack, execution: dict[str, Any], events: list[dict[str, Any]]) -> None:
    """What a seller's back office sees of the request: its status record and its EventBridge event."""
    assert stack.deployment is not None
    record = status.get(stack.deployment.tables["WorkflowTable"], execution["name"])
    if record is None:
        print("  Status record: none")
        return
    path = " → ".join(entry["status"] for entry in record.get("history", []))
    print(f"  Status record request#{record['requestId']}: {path}")
    announced = [e["detail-type"] for e in events if e.get("detail", {}).get("requestId") == record["requestId"]]
    print(f"  EventBridge: {', '.join(announced) or 'no event'}; staged files tagged outcome={record['status']}")


def _example_campaign(stack: LocalStack, timeout: float, seller: str | None) -> bool:
    """The template campaign of ``seller``: its files staged, its manifest uploaded under its
    ``sellers/{id}/campaigns/`` (which starts run 1), its report read back row by row. True when every row was
    sent."""
    assert stack.deployment is not None
    s3 = stack.client("s3")
    bucket = stack.deployment.bucket
    data = EXAMPLE_CAMPAIGN.read_bytes()
    manifest = read_manifest(data, "csv", default_bucket=bucket, max_rows=len(data))
    keys = sorted({a.key for row in manifest.rows if row.request for a in row.request.attachments})
    print(f"\nCampaign: {EXAMPLE_CAMPAIGN.relative_to(ROOT)} ({len(manifest.rows)} rows)")
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=samples.invoice_pdf(key.rsplit("/", 1)[-1]))
    print(f"  {len(keys)} files staged under attachments/ (start nothing)")
    key = manifest_key("example", "csv", seller)
    put = s3.put_object(Bucket=bucket, Key=key, Body=data)
    print(f"  s3://{bucket}/{key}  (starts the campaign" + (f" of seller {seller})" if seller else ")"))
    campaign = naming.campaign_id(bucket, key, put["VersionId"], "example", seller)
    run_arn = executions.execution_arn(
        stack.deployment.campaign_state_machine_arn, naming.campaign_run_name(campaign, 1)
    )
    ended = stack.wait_for(run_arn, timeout_seconds=timeout)
    record = records.get(stack.deployment.tables["WorkflowTable"], campaign) or {}
    whose = f" (seller {record['sellingPartnerId']})" if record.get("sellingPartnerId") else ""
    print(f"\n── campaign {campaign}{whose}: {ended['status'].lower()}")
    report_key = report_key_of("example", seller)
    try:
        report = s3.get_object(Bucket=bucket, Key=report_key)["Body"].read().decode("utf-8")
    except s3.exceptions.NoSuchKey:
        print("  No report was written.")
        return False
    lines = list(csv.DictReader(io.StringIO(report)))
    print(f"  Report s3://{bucket}/{report_key}:")
    for line in lines:
        why = f"  {line['error']}: {line['cause']}" if line["error"] else ""
        print(f"    row {line['row']:>2}  {line['amazonOrderId']}  {line['messageType']:<18} {line['status']}{why}")
    print(
        f"  Campaign record campaign#{campaign}: {record.get('status')}, {record.get('rows')} rows, "
        f"{record.get('sent')} sent, {record.get('failed')} failed"
    )
    sent = bool(lines) and all(line["status"] == "sent" for line in lines)
    print("\nEvery campaign row sent." if sent else "\nSome campaign rows were not sent (see the report above).")
    return sent


def _aliases(document: dict[str, Any]) -> set[str]:
    from buyer_messaging import catalog

    found = catalog.find_message_type(str(document.get("messageType", "")))
    return {found.path} if found else set()


def _print_received(emulator: Any, message: DemoMessage) -> bool:
    deliveries = [d for d in emulator.deliveries(message.amazon_order_id) if d["messageType"] == message.message_type]
    if not deliveries:
        print("  The buyer received nothing.")
        return False
    delivery = deliveries[-1]
    print("  The buyer received:")
    if delivery.get("text"):
        print(f"    text: {delivery['text']!r}")
    expected = {message.file_names[key]: hashlib.md5(data).hexdigest() for key, data in message.staged.items()}  # noqa: S324
    ok = len(delivery.get("attachments", [])) == len(expected)
    for attachment in delivery.get("attachments", []):
        staged_md5 = expected.get(attachment["fileName"])
        matches = staged_md5 == attachment["md5"]
        ok &= matches
        verdict = "matches the staged file" if matches else f"DIFFERS from the staged file ({staged_md5})"
        print(f"    {attachment['fileName']}  {attachment['size']:,} bytes  md5 {attachment['md5']}  {verdict}")
    return ok


if __name__ == "__main__":
    sys.exit(main())
