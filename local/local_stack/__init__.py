"""The local stack: the SAM template deployed into moto, with the real handlers run in-process.

Nothing here ships to AWS. It lets the real state machine definition (Retry, Catch, Map) run the real
handler code against the SP-API emulator, from pytest or as a long-running stack (``python -m local_stack``).
"""
