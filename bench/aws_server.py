"""``python -m bench.aws_server PORT TARGET_JSON``: moto's server with template.yaml deployed, like
``make serve`` but pointing at an SP-API emulator that runs in another process. Prints ``READY {json}``
and serves until SIGTERM. Step Functions executions run the real handlers in this process."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading


def main(port: int, target_json: str) -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    # moto's Step Functions calls Lambda through the server it runs in.
    os.environ["MOTO_PORT"] = str(port)

    import requests
    from moto.server import ThreadedMotoServer

    from local_stack.stack import LocalStack, SpApiTarget

    target = json.loads(target_json)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint_url = f"http://127.0.0.1:{port}"
    requests.post(
        f"{endpoint_url}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}}, timeout=10
    ).raise_for_status()
    stack = LocalStack(
        SpApiTarget(target["endpoint"], target["token_url"], target["upload_host"], target["credentials"]),
        endpoint_url=endpoint_url,
    )
    deployment = stack.deploy()
    environment = {**deployment.environment, "AWS_ENDPOINT_URL": endpoint_url}
    ready = {"endpoint_url": endpoint_url, "bucket": deployment.bucket, "environment": environment}
    print("READY " + json.dumps(ready))
    sys.stdout.flush()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    stack.close()
    server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
