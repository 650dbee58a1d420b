"""The outage table: Amazon down for longer than the workflow's retry budget, then back, and one re-send after it
(docs/resend.md). Each case sends ``messages`` distinct messages while ``operation`` answers 503 to every call; they
must end failed with ``error``; once the outage ends, ``make resend`` (ops.resend, through POST /resends) must
deliver each failed message exactly once, and a second run must re-send none.

An hour's outage is modelled by what it does to the workflow: every call of the operation fails until it ends (the
emulator's faults, lifted with ``clear_faults``), and LWA's access tokens die in it (they live an hour), so the
functions' cached tokens do not carry them over it. The retries' waits run at the stack's speedup
(runner.RETRY_SPEEDUP): the whole retry budget passes within the outage, as it would within an hour.

Cases are data; :mod:`.outage_runner` runs them.
"""

from __future__ import annotations

from dataclasses import dataclass

RESENT_ONCE = "each failed message re-sent once, none twice"
MESSAGES = 4


@dataclass(frozen=True)
class OutageCase:
    """One outage: which operation is down (the emulator's operation name), the error its messages must end with,
    and whether the first re-send crashes between starting a re-send and marking the original (``resentAs``)."""

    id: str
    injected: str
    operation: str
    error: str
    messages: int = MESSAGES
    crash_before_mark: bool = False
    expected: str = RESENT_ONCE


OUTAGE_CASES: tuple[OutageCase, ...] = (
    OutageCase("lwa-down-an-hour", "lwaToken 503 to every call; tokens expire", "lwaToken", "LwaUnavailable"),
    OutageCase(
        "spapi-down-an-hour",
        "getMessagingActionsForOrder 503 to every call",
        "getMessagingActionsForOrder",
        "SpApiUnavailable",
    ),
    OutageCase(
        "lwa-down-crash-before-mark",
        "lwaToken 503 to every call; the first re-send crashes before resentAs",
        "lwaToken",
        "LwaUnavailable",
        crash_before_mark=True,
    ),
)


def outage_case_by_id(case_id: str) -> OutageCase:
    for case in OUTAGE_CASES:
        if case.id == case_id:
            return case
    raise KeyError(case_id)
