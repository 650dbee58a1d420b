"""The local stack as users run it: `make run` (the demo), `make serve` (a moto server), the template reader."""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from local_stack import demo, samples, serve
from local_stack.fairness import current_tenant
from local_stack.lambdas import InProcessLambdas, LocalFunction
from local_stack.stack import ROOT
from local_stack.template import Resolver, Template
from spapi_emulator import Emulator, load_default_seed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_demo_serves_two_sellers_each_onboarded_and_sent_for(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main([]) == 0
    printed = capsys.readouterr().out
    # Two sellers onboarded through Amazon's website authorization workflow first, as a person sees it.
    onboarding = printed[
        printed.index("Onboarding seller A3ONBOARDSELLER") : printed.index("Onboarding seller A3OTHER")
    ]
    assert "  2. The seller opens it and lands on Seller Central's consent page (200):" in onboarding
    assert "Sign in as A2EXAMPLESELLER A3ONBOARDSELLER" in onboarding
    assert (
        "  3. Signed in as A3ONBOARDSELLER, Confirm; Amazon sends the browser back to the callback (200):" in onboarding
    )
    assert "Seller A3ONBOARDSELLER authorized Buyer Messaging" in onboarding
    assert "  4. GET /sellers: A3ONBOARDSELLER authorized (oauth) until " in onboarding
    assert "  4. GET /sellers: A3OTHERSELLER authorized (oauth) until " in printed
    assert printed.index("Onboarding seller A3OTHERSELLER") < printed.index("Staging:")
    # Then one message per seller with orders, each named by its key's seller segment and printed with its seller.
    staged = printed[printed.index("Staging:") : printed.index("\n── ")]
    assert "/sellers/A2EXAMPLESELLER/outbox/ATVPDKIKX0DER/123-1234567-1234567/invoice/" in staged
    assert "/sellers/A2EXAMPLESELLER/requests/customization-123-1234567-1234567.json" in staged
    assert "/sellers/A3OTHERSELLER/requests/late-113-2000001-0000001.json" in staged
    headings = [line for line in printed.splitlines() if line.startswith("── ") and "order" in line]
    assert headings == [
        "── invoice dropped in the outbox (seller A2EXAMPLESELLER, order 123-1234567-1234567, invoice)",
        "── text + image from a request document (seller A2EXAMPLESELLER, order 123-1234567-1234567, "
        "confirmCustomizationDetails)",
        "── text for another seller's order (seller A3OTHERSELLER, order 113-2000001-0000001, unexpectedProblem)",
    ]
    assert printed.count("SUCCEEDED") == 3
    assert printed.count("matches the staged file") == 2
    assert "text: 'Your parcel ships tomorrow: the courier collects it in the morning.'" in printed
    assert "Engraving proof.png" in printed
    assert "All messages delivered." in printed
    for state in ("ValidateRequest", "[0] HashAttachment", "[0] CreateUploadDestination", "SendMessage"):
        assert state in printed
    # Then the template campaign (events/campaigns/example.csv) for one seller, its report read back row by row.
    assert "Campaign: events/campaigns/example.csv (4 rows)\n  7 files staged under attachments/" in printed
    assert "/sellers/A2EXAMPLESELLER/campaigns/example.csv  (starts the campaign of seller A2EXAMPLESELLER)" in printed
    assert " (seller A2EXAMPLESELLER): succeeded\n  Report s3://" in printed
    report = printed[printed.index("Report s3://") :]
    assert report.splitlines()[0].endswith("/sellers/A2EXAMPLESELLER/campaigns/example.report.csv:")
    rows = [line.split() for line in report.splitlines() if line.strip().startswith("row ")]
    assert rows == [
        ["row", "1", "114-3941689-8772232", "invoice", "sent"],
        ["row", "2", "702-0000000-0000000", "unexpectedProblem", "sent"],
        ["row", "3", "114-3941689-8772232", "warranty", "sent"],
        ["row", "4", "123-1234567-1234567", "legalDisclosure", "sent"],
    ]
    assert ": finished, 4 rows, 4 sent, 0 failed\n\nEvery campaign row sent." in printed
    assert "null" not in printed and "None" not in printed
    assert "Atzr|" not in printed and "undefined" not in printed


def test_the_demo_sends_a_users_own_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    warranty = tmp_path / "warranty card.pdf"
    warranty.write_bytes(samples.invoice_pdf("114-3941689-8772232"))
    code = demo.main(["--file", str(warranty), "--type", "warranty", "--order", "114-3941689-8772232"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "warranty card.pdf" in printed
    assert "matches the staged file" in printed


def test_the_demo_leaves_the_process_as_it_found_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """main() quiets the functions for its own run only: a test after it reads their metrics and logs."""
    from buyer_messaging.observability import logger

    handler = logger.registered_handler
    moto_log = logging.getLogger("moto")
    stream, environment = getattr(handler, "stream", None), dict(os.environ)
    moto_handlers, moto_propagates = list(moto_log.handlers), moto_log.propagate
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(samples.invoice_pdf("114-3941689-8772232"))

    assert demo.main(["--file", str(invoice), "--type", "invoice", "--order", "114-3941689-8772232"]) == 0

    assert dict(os.environ) == environment
    assert getattr(handler, "stream", None) is stream
    assert (moto_log.handlers, moto_log.propagate) == (moto_handlers, moto_propagates)


def test_the_demo_exits_non_zero_when_a_message_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(samples.invoice_pdf("702-0000000-0000000"))
    code = demo.main(["--file", str(invoice), "--type", "invoice", "--order", "702-0000000-0000000"])
    printed = capsys.readouterr().out
    assert code == 1
    assert "FAILED" in printed
    assert "MessageTypeNotAvailable" in printed
    assert "Some messages were not delivered" in printed


def test_the_demo_talks_to_the_sp_api_that_spapi_endpoint_names(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = load_default_seed()
    with Emulator(seed) as other_sp_api:
        monkeypatch.setenv("SPAPI_ENDPOINT", other_sp_api.base_url)
        monkeypatch.setenv("LWA_TOKEN_URL", other_sp_api.token_url)
        monkeypatch.setenv("UPLOAD_URL_ALLOWED_HOSTS", other_sp_api.upload_host)
        monkeypatch.setenv("LWA_CLIENT_ID", seed.credentials.client_id)
        monkeypatch.setenv("LWA_CLIENT_SECRET", seed.credentials.client_secret)
        monkeypatch.setenv("LWA_REFRESH_TOKEN", seed.credentials.refresh_token)
        assert demo.main([]) == 0
        printed = capsys.readouterr().out
        assert f"SP-API: {other_sp_api.base_url}\n" in printed  # no emulator of its own
        assert printed.count("Amazon accepted the message (201)") == 2
        assert len(other_sp_api.deliveries()) == 2
        assert "Template campaign skipped: its rows name the emulator's orders, not this SP-API's." in printed


def test_the_demo_refuses_an_endpoint_without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPAPI_ENDPOINT", "https://sandbox.sellingpartnerapi-na.amazon.com")
    monkeypatch.setenv("LWA_TOKEN_URL", "https://api.amazon.com/auth/o2/token")
    for name in ("LWA_CLIENT_ID", "LWA_CLIENT_SECRET", "LWA_REFRESH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit, match="LWA_CLIENT_ID"):
        demo.main([])


def test_a_served_stack_takes_uploads_from_any_boto3_client(monkeypatch: pytest.MonkeyPatch) -> None:
    served = serve.start(_free_port(), retry_speedup=100)
    try:
        # A separate client, as the AWS CLI would be: only the endpoint URL in common.
        s3 = boto3.client(
            "s3",
            endpoint_url=served.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        sfn = boto3.client(
            "stepfunctions",
            endpoint_url=served.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        pdf = samples.invoice_pdf("123-1234567-1234567")
        key = "outbox/ATVPDKIKX0DER/123-1234567-1234567/invoice/Invoice.pdf"
        s3.put_object(Bucket=served.deployment.bucket, Key=key, Body=pdf)
        execution = _wait_for_one(sfn, served.deployment.state_machine_arn)
        assert execution["status"] == "SUCCEEDED", execution.get("cause")
        (delivery,) = served.emulator.deliveries("123-1234567-1234567")
        assert delivery["attachments"][0]["size"] == len(pdf)
    finally:
        served.close()


def _wait_for_one(sfn: Any, state_machine_arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listed = sfn.list_executions(stateMachineArn=state_machine_arn)["executions"]
        if listed and listed[0]["status"] != "RUNNING":
            described: dict[str, Any] = sfn.describe_execution(executionArn=listed[0]["executionArn"])
            return described
        time.sleep(0.1)
    raise TimeoutError("no finished execution")


def test_the_template_reader_resolves_what_the_template_uses() -> None:
    template = Template.load(ROOT / "template.yaml")
    resolver = Resolver(
        template,
        template.parameter_defaults(),
        "eu-west-1",
        "my-stack",
        "arn:aws:cloudformation:eu-west-1:123456789012:stack/my-stack/abcd1234-0000-4000-8000-000000000000",
    )
    bucket_name = template.resources["StagingBucket"]["Properties"]["BucketName"]
    assert resolver.resolve(bucket_name) == "buyer-messaging-123456789012-eu-west-1-abcd1234"
    resolver.refs["CredentialsSecret"] = "arn:secret"
    assert resolver.resolve({"Fn::Sub": "${AWS::StackName}/x-${CredentialsSecret}"}) == "my-stack/x-arn:secret"
    assert resolver.resolve({"Fn::Join": ["-", ["a", {"Ref": "AWS::Region"}]]}) == "a-eu-west-1"
    secret = resolver.resolve(template.resources["CredentialsSecret"]["Properties"]["SecretString"])
    assert json.loads(secret) == {"clientId": "", "clientSecret": "", "refreshToken": ""}


def test_a_function_called_on_several_threads_at_once_loads_its_module_once(tmp_path: Path) -> None:
    """The Map's first iterations call the same function together: one module, loaded by one of them."""
    (tmp_path / "app.py").write_text(
        "import time\ntime.sleep(0.2)  # a slow import\n\n\ndef lambda_handler(event, context):\n    return event\n"
    )
    function = LocalFunction("slow-import", tmp_path, "app.lambda_handler", memory_mb=128, timeout_seconds=3)
    with ThreadPoolExecutor(4) as pool:
        handlers = list(pool.map(lambda _: function.load(), range(4)))
    assert all(handler is handlers[0] for handler in handlers)
    assert handlers[0]({"n": 1}, None) == {"n": 1}


def test_a_handler_acts_for_the_seller_its_event_names_while_it_runs(tmp_path: Path) -> None:
    """What the fair DynamoDB lock and slots read: the seller of the handler running on this thread."""
    (tmp_path / "app.py").write_text(
        "from local_stack.fairness import current_tenant\n\n\n"
        "def lambda_handler(event, context):\n    return current_tenant()\n"
    )
    function = LocalFunction("tenant", tmp_path, "app.lambda_handler", memory_mb=128, timeout_seconds=3)
    lambdas = InProcessLambdas()
    step = {"executionId": "arn", "request": {"amazonOrderId": "1", "sellingPartnerId": "A3OTHERSELLER"}}
    assert lambdas.invoke(function, step)[:2] == ('"A3OTHERSELLER"', False)
    assert lambdas.invoke(function, {"request": {"amazonOrderId": "1"}})[:2] == ('""', False)
    assert current_tenant() == ""
