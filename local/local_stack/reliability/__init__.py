"""The reliability matrices: every way a seller's input can be wrong, and every fault on the way, each run
through the real workflow on a fresh local stack (``python -m local_stack reliability``, ``tests/reliability``).

The cases are data: ``bad_inputs`` (the bad-input table), ``campaign_inputs`` (the campaign table: manifests
uploaded or posted to the API), ``faults`` (the fault table, whose faults ``tests/integration/test_workflow.py``
also makes happen) and ``inputs`` (the orders, files and request documents they build on). The engine runs them:
``runner`` (one case on a fresh stack), ``campaign_runner`` (one campaign case), ``api_client`` (the local HTTP
API as a client meets it), ``verdicts`` (what is wrong with how it ended), ``pool`` (a whole table, in several
processes), ``report`` (the Markdown tables) and ``cli`` (the command).
"""
