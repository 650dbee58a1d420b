"""``make seller ARGS="..."`` / ``python -m ops.seller``: onboard, list and remove the sellers a deployment serves
(README, "Onboard a seller").

- ``add ID --refresh-token-file F``: a self-authorized seller (``POST /sellers``); the refresh token is read from
  the file, or from standard input with ``-``, never from the command line (which shell history and the process
  list keep). The API checks it at Login with Amazon before it stores it, and never answers it back.
- ``list``: every seller (``GET /sellers``) as a table: id, status, authorized, expires, days left.
- ``remove ID``: stop serving the seller (``DELETE /sellers/{id}``).
- ``invite [--seller ID] [--days N]``: a one-time invitation link to the website authorization workflow
  (``POST /sellers/invitations``); with ``--seller``, a renewal for that seller only.
- ``grant EMAIL ID`` / ``revoke EMAIL ID``: a console user acts for the seller, or no longer
  (ops.seller_groups: the stack's user pool, ``--stack`` only).

Like ``make resend``: the local stack's API by default (``make serve``, ``--api URL``), or a deployed stack's IAM API
(``--stack NAME``) signed with SigV4 with the operator's own AWS credentials. Exit 0 when done, 2 when the API
refused (the error's name and message are printed).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import quote

from ops import seller_groups
from ops.resend import LOCAL_API, Target, call, stack_target

COLUMNS = ("seller", "status", "authorized", "expires", "days left")


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    # No abbreviations: "--refresh-token TOKEN" must be refused, not read as a file name that is the token.
    parser = argparse.ArgumentParser(
        prog="make seller", description="Onboard, list and remove sellers.", allow_abbrev=False
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser(
        "add", help="a seller who authorized the application by hand (self-authorization)", allow_abbrev=False
    )
    add.add_argument("seller", help="its selling partner id (e.g. A2EUQ1WTGCTBG2)")
    add.add_argument(
        "--refresh-token-file", required=True, help="a file holding the refresh token, or - for standard input"
    )
    commands.add_parser("list", help="every seller: status, authorization dates, days left")
    remove = commands.add_parser("remove", help="stop serving a seller")
    remove.add_argument("seller")
    invite = commands.add_parser("invite", help="a one-time link to Amazon's website authorization workflow")
    invite.add_argument("--seller", help="a renewal: the link is for this seller only")
    invite.add_argument("--days", type=int, help="how long the link is valid (1 to 30; default 7)")
    for name, verb in (("grant", "may act for"), ("revoke", "no longer acts for")):
        change = commands.add_parser(name, help=f"a console user {verb} a seller (a deployed stack's user pool)")
        change.add_argument("email", help="the console user's email (their sign-in name)")
        change.add_argument("seller", help="the selling partner id")
    for command in (
        add,
        commands.choices["list"],
        remove,
        invite,
        commands.choices["grant"],
        commands.choices["revoke"],
    ):
        where = command.add_mutually_exclusive_group()
        where.add_argument("--api", default=LOCAL_API, help=f"an API without sign-in (default {LOCAL_API})")
        where.add_argument("--stack", help="a deployed stack's name: its IAM API, signed with your AWS credentials")
        command.add_argument("--region", help="the deployed stack's region (default: your AWS configuration's)")
    return parser.parse_args(argv)


def read_token(source: str, stdin: TextIO) -> str:
    if source == "-":
        text = stdin.read()
    else:
        with open(source, encoding="utf-8") as file:
            text = file.read()
    token = text.strip()
    if not token:
        raise SystemExit(f"No refresh token in {'standard input' if source == '-' else source}.")
    return token


def table(sellers: Sequence[Mapping[str, Any]], now: datetime) -> list[str]:
    """One line per seller, columns padded to their widest cell."""
    rows = [COLUMNS]
    for seller in sellers:
        expires = str(seller.get("authorizationExpiresAt") or "")
        days = (datetime.fromisoformat(expires.replace("Z", "+00:00")) - now).days if expires else None
        rows.append(
            (
                str(seller.get("sellingPartnerId")),
                str(seller.get("status")),
                str(seller.get("authorizedAt") or "")[:10],
                expires[:10],
                "" if days is None else str(days),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout, stdin: TextIO = sys.stdin) -> int:
    args = parse(argv)
    if args.command in ("grant", "revoke"):
        return seller_groups.change(args.command, args.email, args.seller, args.stack, args.region, out)
    target = stack_target(args.stack, args.region) if args.stack else Target(args.api.rstrip("/"))
    if args.command == "add":
        body = {"sellingPartnerId": args.seller, "refreshToken": read_token(args.refresh_token_file, stdin)}
        status, answer = call(target, "POST", "/sellers", body)
        done = status in (200, 201)
        if done:
            verb = "added" if status == 201 else "authorized again"
            print(f"Seller {args.seller} {verb}; authorized until {answer['authorizationExpiresAt']}.", file=out)
    elif args.command == "list":
        status, answer = call(target, "GET", "/sellers")
        done = status == 200
        if done:
            for line in table(answer["sellers"], datetime.now(UTC)):
                print(line, file=out)
    elif args.command == "remove":
        status, answer = call(target, "DELETE", "/sellers/" + quote(args.seller, safe=""))
        done = status == 204
        if done:
            print(f"Seller {args.seller} removed.", file=out)
    else:
        invitation = {"sellingPartnerId": args.seller, "days": args.days}
        status, answer = call(target, "POST", "/sellers/invitations", {k: v for k, v in invitation.items() if v})
        done = status == 201
        if done:
            print(f"Send this link to the seller (valid until {answer['expiresAt']}, once):", file=out)
            print(answer["invitationUrl"], file=out)
    if not done:
        error = answer if isinstance(answer, dict) else {}
        print(f"Refused ({status} {error.get('error')}): {error.get('message')}", file=out)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
