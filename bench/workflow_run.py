"""``python -m bench.workflow_run RESULT ARGS``: executions of the real state machine on the local stack
(moto in-process, the handlers in-process, the SP-API emulator in a thread, as ``make run``), one message
with one attachment each, one after the other; the duration of every state of every execution.

A fresh process: the first execution is the cold one (the handlers are imported, clients created, the LWA
token fetched); the others are warm, like a Lambda container that has served before.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from bench.common import write_result


def main(result_path: str, arguments: dict[str, Any]) -> None:
    import logging

    from local_stack import timeline
    from local_stack.stack import LocalStack, SpApiTarget, in_process_aws
    from spapi_emulator import Emulator, load_default_seed

    logging.disable(logging.WARNING)  # the functions' logs are not what is measured
    size = int(arguments["size"])
    executions = int(arguments["executions"])
    data = b"%PDF-1.7\n" + os.urandom(size - 9)
    seed = load_default_seed()
    runs: list[dict[str, Any]] = []
    with Emulator(seed) as emulator, in_process_aws():
        target = SpApiTarget(emulator.base_url, emulator.token_url, emulator.upload_host, seed.credentials.as_secret())
        with LocalStack(target) as stack:
            assert stack.deployment is not None
            s3 = stack.client("s3")
            sfn = stack.client("stepfunctions")
            s3.put_object(Bucket=stack.deployment.bucket, Key="attachments/manual.pdf", Body=data)
            document = {
                "amazonOrderId": "123-1234567-1234567",
                "marketplaceId": "ATVPDKIKX0DER",
                "messageType": "invoice",
                "attachments": [{"key": "attachments/manual.pdf", "fileName": "Manual.pdf"}],
            }
            for number in range(executions):
                started = time.perf_counter()
                execution = sfn.start_execution(
                    stateMachineArn=stack.deployment.state_machine_arn,
                    name=f"bench-{number}-{time.time_ns()}",
                    input=json.dumps(document),
                )
                described = stack.wait_for(execution["executionArn"], timeout_seconds=300)
                waited = time.perf_counter() - started
                if described["status"] != "SUCCEEDED":
                    raise RuntimeError(f"execution {number} ended {described['status']}: {described.get('cause')}")
                events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
                line = timeline.build(described, events)
                runs.append(
                    {
                        "total_ms": line.duration_ms,
                        "client_ms": waited * 1000,
                        "states": [
                            {
                                "name": state.name if state.iteration is None else f"[{state.iteration}] {state.name}",
                                "ms": state.duration_ms,
                                "retries": state.retries,
                            }
                            for state in line.states
                            if state.kind not in ("Succeed", "Fail")
                        ],
                    }
                )
    write_result(result_path, {"runs": runs, "size": size})


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))
