"""Campaigns: one manifest of many rows, each row one message, every row accounted for (README, "Campaigns").

``manifest`` (and ``columns``) reads and checks a manifest, ``records`` keeps the campaign's record and its rows'
outcomes in the workflow table, ``report`` writes the report of a run; ``keys`` says which key under ``campaigns/``
is a manifest or a report, ``run`` names what a run of the campaign state machine uses.
"""
