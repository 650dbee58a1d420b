"""A long-running local stack: moto server + SP-API emulator, the template deployed, until Ctrl-C; with
:func:`serve_console`, the HTTP API and the seller console on it too (local_stack.api_server).

The AWS CLI and boto3 reach it with an endpoint URL; uploads to the staging bucket start executions that
run the real handlers in this process.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from local_stack.api_server import LocalApi, Verify, console_routes, free_port, onboarding_routes, routed
from local_stack.lambdas import LambdaContext
from local_stack.onboarding_demo import callback_of, parameters_for
from local_stack.stack import Deployment, LocalStack, SpApiTarget


@dataclass
class ServedStack:
    """A moto server, the emulator and the deployed template; ``close()`` stops all three."""

    endpoint_url: str
    emulator: Any
    stack: LocalStack
    deployment: Deployment
    _server: Any
    _restore: Any

    def close(self) -> None:
        import requests

        self.stack.close()
        self.emulator.stop()
        # moto keeps its data in this process, not in the server: without a reset the next stack started in
        # this process would find this one's secret, bucket and functions.
        requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=10)
        self._server.stop()
        self._restore()


def start(
    moto_port: int, emulator_port: int = 0, *, retry_speedup: float = 1.0, oauth_redirect_uri: str | None = None
) -> ServedStack:
    """``oauth_redirect_uri``: the local API's callback route, registered with the emulator's application and given
    to the onboarding function with the emulator as Seller Central (README, "Onboard a seller")."""
    import requests
    from moto.server import ThreadedMotoServer

    from spapi_emulator import Emulator, load_default_seed

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    # moto's private settings of a server in this process (mock_aws(config=...) has no server); checked against
    # moto 5.2.5 by tests/unit/test_library_internals.py.
    from moto.core.config import default_user_config

    # The server runs in this process: its settings are this process's; close() puts them back.
    previous_port = os.environ.get("MOTO_PORT")
    previous_execute = default_user_config["stepfunctions"]["execute_state_machine"]

    def restore() -> None:
        default_user_config["stepfunctions"]["execute_state_machine"] = previous_execute
        if previous_port is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = previous_port

    # moto's Step Functions calls Lambda through the server it runs in: at MOTO_PORT.
    os.environ["MOTO_PORT"] = str(moto_port)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    server.start()
    endpoint_url = f"http://127.0.0.1:{moto_port}"
    # The server's Step Functions must run executions, not only record them.
    requests.post(
        f"{endpoint_url}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}}, timeout=10
    ).raise_for_status()
    seed = load_default_seed()
    emulator = Emulator(seed, port=emulator_port)
    emulator.start()
    target = SpApiTarget(emulator.base_url, emulator.token_url, emulator.upload_host, seed.credentials.as_secret())
    parameters = parameters_for(emulator, oauth_redirect_uri) if oauth_redirect_uri is not None else {}
    stack = LocalStack(target, endpoint_url=endpoint_url, retry_speedup=retry_speedup, parameters=parameters)
    deployment = stack.deploy()
    return ServedStack(endpoint_url, emulator, stack, deployment, server, restore)


@dataclass
class ConsoleServer:
    """Everything the console runs on: ``url`` is the page; ``emulator`` tells what buyers received."""

    url: str
    api: LocalApi
    emulator: Any  # spapi_emulator.Emulator
    s3: Any  # boto3 S3 client of the moto server
    bucket: str
    served: ServedStack


@contextmanager
def serve_console(
    *,
    api_port: int = 0,
    moto_port: int = 0,
    emulator_port: int = 0,
    retry_speedup: float = 1.0,
    verify: Verify | None = None,
    sellers: Sequence[str] = (),
) -> Iterator[ConsoleServer]:
    """moto server + emulator + template + the API and console on 127.0.0.1; all stopped on exit. ``verify``: the
    console's signed-in users' tokens are checked (e.g. the Cognito stand-in's ``UserPool.verify``) and their claims
    handed to the API function, as API Gateway's JWT authorizer does; ``sellers``: seed sellers registered as
    self-authorized ones (a stack of several sellers)."""
    api_port = api_port or free_port()  # known before the deployment: the OAuth redirect URI names it
    callback = callback_of(api_port)
    served = start(moto_port or free_port(), emulator_port, retry_speedup=retry_speedup, oauth_redirect_uri=callback)
    try:
        if sellers:
            from local_stack.reliability.runner import register_seed_sellers

            register_seed_sellers(served.emulator.seed, sellers)
        handlers = []
        for logical, routes in (("ApiFunction", console_routes()), ("OnboardSellerFunction", onboarding_routes())):
            function = served.stack.lambdas.function(served.deployment.functions[logical])
            handlers.append((routes, _with_context(function.load(), function)))
        handler, routes = routed(tuple(handlers))
        api = LocalApi(handler, port=api_port, routes=routes, verify=verify).start()
        try:
            s3 = served.stack.client("s3")
            # What the template's CorsConfiguration grants the deployed console, granted to this one.
            s3.put_bucket_cors(
                Bucket=served.deployment.bucket,
                CORSConfiguration={
                    "CORSRules": [
                        {
                            "AllowedMethods": ["POST"],
                            "AllowedOrigins": [api.url],
                            "AllowedHeaders": ["*"],
                            "MaxAgeSeconds": 600,
                        }
                    ]
                },
            )
            yield ConsoleServer(api.url + "/", api, served.emulator, s3, served.deployment.bucket, served)
        finally:
            api.stop()
    finally:
        served.close()


def _with_context(handler: Any, function: Any) -> Any:
    """The function's handler with its own Lambda context (name, memory, timeout), as LocalApi's one handler."""

    def invoke(event: dict[str, Any], _: Any) -> Any:
        return handler(event, LambdaContext(function.name, function.memory_mb, function.timeout_seconds))

    return invoke


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make serve")
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "5000")))
    parser.add_argument("--emulator-port", type=int, default=8777)
    parser.add_argument("--api-port", type=int, default=8080, help="the HTTP API and the seller console")
    args = parser.parse_args(argv)
    with serve_console(api_port=args.api_port, moto_port=args.moto_port, emulator_port=args.emulator_port) as console:
        served = console.served
        deployment = served.deployment
        print(
            f"""Local stack is up.
  Seller console: {console.url}   (no sign-in locally; try order 123-1234567-1234567, United States)
  HTTP API:       {console.api.url}/openapi.json   (docs/api.md)
  AWS (moto):     export AWS_ENDPOINT_URL={served.endpoint_url} AWS_ACCESS_KEY_ID=testing \\
                         AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
  SP-API:         {served.emulator.base_url}   (what buyers received: {served.emulator.base_url}/_emulator/messages)
  bucket:         {deployment.bucket}
  state machine:  {deployment.state_machine_arn}
Try:
  aws s3 cp invoice.pdf s3://{deployment.bucket}/outbox/ATVPDKIKX0DER/123-1234567-1234567/invoice/Invoice.pdf
  aws stepfunctions list-executions --state-machine-arn {deployment.state_machine_arn}
Ctrl-C stops it.""",
            flush=True,
        )
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()
    return 0
