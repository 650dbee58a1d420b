"""``make resend ARGS="..."`` / ``python -m ops.resend``: re-send the failed requests after an outage (docs/resend.md).

It calls ``POST /resends``, so the work runs in the API function with its least-privilege role, whichever stack:

- the local stack's API (``make serve``; ``--api URL``, default http://127.0.0.1:8080), which takes no sign-in;
- a deployed stack (``--stack NAME``): the IAM API's URL from the stack's output ``ApiUrl``, the request signed with
  SigV4 (botocore's ``SigV4Auth``, service ``execute-api``) with the operator's own credentials (profile, environment,
  SSO: boto3's chain).

It prints one line per selected request (request, order, type, error, decision, new request id) and exits 0 when
every re-send it meant to start started (or, with ``--dry-run``, the plan was made), 1 when any failed to start, 2
when the API refused the selection (the error's name and message are printed).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

LOCAL_API = "http://127.0.0.1:8080"
API_URL_OUTPUT = "ApiUrl"  # template.yaml's output: the IAM (SigV4) API
TIMEOUT_SECONDS = 35  # API Gateway answers within 30 s
COLUMNS = ("request", "order", "type", "error", "decision", "new request")


@dataclass(frozen=True)
class Target:
    url: str  # the API's base URL, without a trailing slash
    region: str | None = None  # set: sign the request with SigV4


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make resend", description="Re-send failed requests (docs/resend.md).")
    parser.add_argument("--since", help="failed from this time on (ISO 8601 with zone, e.g. 2026-12-06T14:00:00Z)")
    parser.add_argument("--until", help="failed before this time (default now; at most 31 days after --since)")
    parser.add_argument("--error", action="append", default=[], help="only this error name (repeatable)")
    parser.add_argument("--order", help="only this Amazon order id")
    parser.add_argument("--request", action="append", default=[], help="only this request id (repeatable)")
    parser.add_argument("--campaign", help="a campaign id, alone: its failed rows are sent by its next run")
    parser.add_argument("--limit", type=int, help="the most re-sends of this call (default 50, at most 100)")
    parser.add_argument("--dry-run", action="store_true", help="only list what would be re-sent or skipped")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--api", default=LOCAL_API, help=f"an API without sign-in (default {LOCAL_API}, make serve)")
    where.add_argument("--stack", help="a deployed stack's name: its IAM API, signed with your AWS credentials")
    parser.add_argument("--region", help="the deployed stack's region (default: your AWS configuration's)")
    return parser.parse_args(argv)


def body_of(args: argparse.Namespace) -> dict[str, Any]:
    """The POST /resends body the arguments say (absent options are left out: the API's defaults hold)."""
    body: dict[str, Any] = {
        "since": args.since,
        "until": args.until,
        "errors": args.error or None,
        "amazonOrderId": args.order,
        "requests": args.request or None,
        "campaign": args.campaign,
        "limit": args.limit,
        "dryRun": args.dry_run,
    }
    return {name: value for name, value in body.items() if value is not None}


def stack_target(stack: str, region: str | None) -> Target:
    import boto3

    cloudformation = boto3.client("cloudformation", region_name=region)
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}
    if API_URL_OUTPUT not in outputs:
        raise SystemExit(f"Stack {stack} has no output {API_URL_OUTPUT}: is it the buyer messaging stack?")
    return Target(outputs[API_URL_OUTPUT].rstrip("/"), cloudformation.meta.region_name)


def call(target: Target, method: str, path: str, body: Mapping[str, Any] | None = None) -> tuple[int, Any]:
    """(status, parsed JSON answer or None); signed with SigV4 when the target has a region. The operator's
    commands (this one, ``make seller``) all call the IAM API through it."""
    data = json.dumps(body).encode("utf-8") if body is not None else b""
    url = target.url + path
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if target.region is not None:
        headers = signed_headers(url, data, headers, target.region, method=method)
    request = urllib.request.Request(url, data=data or None, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (http(s) only)
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        payload = error.read()
        try:
            return error.code, json.loads(payload)
        except ValueError:
            return error.code, {"error": f"HTTP {error.code}", "message": payload.decode("utf-8", "replace")}
    except urllib.error.URLError as error:
        where = ": is `make serve` running? Or name a deployed stack with --stack NAME" if target.region is None else ""
        raise SystemExit(f"No API answered at {target.url} ({error.reason}){where}.") from None


def signed_headers(
    url: str, data: bytes, headers: Mapping[str, str], region: str, *, method: str = "POST"
) -> dict[str, str]:
    """The headers of a request to an IAM-authorized HTTP API, signed with the caller's credentials."""
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise SystemExit("No AWS credentials found (profile, environment or SSO) to sign the request with.")
    request = AWSRequest(method=method, url=url, data=data, headers=dict(headers))
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    return dict(request.headers.items())


def table(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per request, columns padded to their widest cell."""
    rows = [COLUMNS] + [
        (
            str(entry.get("requestId") or ""),
            str(entry.get("amazonOrderId") or ""),
            str(entry.get("messageType") or ""),
            str(entry.get("error") or ""),
            _decision(entry),
            str(entry.get("newRequestId") or ""),
        )
        for entry in entries
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def _decision(entry: Mapping[str, Any]) -> str:
    if entry.get("reason") == "startFailed":
        return "resend: NOT STARTED"
    if entry.get("decision") == "resend":
        return "resend"
    return f"skip: {entry.get('reason')}"


def report(answer: Mapping[str, Any], out: TextIO) -> None:
    for line in table(answer.get("requests") or []):
        print(line, file=out)
    for entry in answer.get("requests") or []:
        if entry.get("decision") == "skip" or entry.get("reason") == "startFailed":
            print(f"{entry.get('requestId')}: {entry.get('detail')}", file=out)
    verb = "would re-send" if answer.get("dryRun") else "re-sent"
    count = answer.get("resend") if answer.get("dryRun") else answer.get("started")
    print(
        f"{answer.get('selected')} selected; {verb} {count}; failed to start {answer.get('failedToStart')}.",
        file=out,
    )


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    args = parse(argv)
    target = stack_target(args.stack, args.region) if args.stack else Target(args.api.rstrip("/"))
    status, answer = call(target, "POST", "/resends", body_of(args))
    if status not in (200, 202) or not isinstance(answer, dict):
        error = answer if isinstance(answer, dict) else {}
        print(f"Refused ({status} {error.get('error')}): {error.get('message')}", file=out)
        return 2
    report(answer, out)
    return 1 if answer.get("failedToStart") else 0


if __name__ == "__main__":
    sys.exit(main())
