"""The case tables are data: reading them loads no engine (no runner, no moto, no workflow code)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support import ROOT

ENGINE = {
    "local_stack.reliability.runner",
    "local_stack.reliability.campaign_runner",
    "local_stack.reliability.outage_runner",
    "local_stack.reliability.authorization_runner",
    "ops",
    "local_stack.reliability.verdicts",
    "local_stack.reliability.pool",
    "local_stack.reliability.report",
    "local_stack.reliability.cli",
    "local_stack.stack",
    "spapi_emulator",
    "buyer_messaging",
    "moto",
    "boto3",
}


def test_the_case_tables_load_without_the_engine() -> None:
    code = (
        "import sys\n"
        "from local_stack.reliability import authorization_cases, bad_inputs, campaign_inputs, faults, outages\n"
        "assert bad_inputs.CASES and campaign_inputs.CAMPAIGN_CASES and faults.FAULT_CASES and outages.OUTAGE_CASES\n"
        "assert authorization_cases.AUTHORIZATION_CASES\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(str(ROOT / path) for path in ("layers/shared", "local"))}
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )
    assert loaded.returncode == 0, loaded.stderr
    modules = set(loaded.stdout.split())
    assert {"local_stack.reliability.bad_inputs", "local_stack.reliability.campaign_inputs"} <= modules
    assert {module.split(".")[0] for module in modules} & ENGINE == set()
    assert modules & ENGINE == set()
