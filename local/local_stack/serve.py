"""A long-running local stack: moto server + SP-API emulator, the template deployed, until Ctrl-C.

The AWS CLI and boto3 reach it with an endpoint URL; uploads to the staging bucket start executions that
run the real handlers in this process.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from collections.abc import Sequence

from local_stack.stack import LocalStack, SpApiTarget


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack serve")
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "5000")))
    parser.add_argument("--emulator-port", type=int, default=8777)
    args = parser.parse_args(argv)

    import requests
    from moto.server import ThreadedMotoServer

    from spapi_emulator import Emulator
    from spapi_emulator.seed import load_default_seed

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.moto_port, verbose=False)
    server.start()
    endpoint_url = f"http://127.0.0.1:{args.moto_port}"
    requests.post(
        f"{endpoint_url}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}}, timeout=10
    )
    seed = load_default_seed()
    emulator = Emulator(seed, port=args.emulator_port)
    emulator.start()
    target = SpApiTarget(
        emulator.base_url,
        emulator.token_url,
        emulator.upload_host,
        {
            "clientId": seed.credentials.client_id,
            "clientSecret": seed.credentials.client_secret,
            "refreshToken": seed.credentials.refresh_token,
        },
    )
    stack = LocalStack(target, endpoint_url=endpoint_url)
    deployment = stack.deploy()
    print(
        f"""Local stack is up.
  AWS (moto):   export AWS_ENDPOINT_URL={endpoint_url} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \\
                       AWS_DEFAULT_REGION=us-east-1
  SP-API:       {emulator.base_url}  (what buyers received: {emulator.base_url}/_emulator/messages)
  bucket:       {deployment.bucket}
  state machine {deployment.state_machine_arn}
Try:
  aws s3 cp invoice.pdf s3://{deployment.bucket}/outbox/ATVPDKIKX0DER/123-1234567-1234567/invoice/Invoice.pdf
  aws stepfunctions list-executions --state-machine-arn {deployment.state_machine_arn}
Ctrl-C stops it.""",
        flush=True,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stack.close()
        emulator.stop()
        server.stop()
    return 0
