"""Campaigns: one manifest of rows, each row one message, every row accounted for (issue 16).

``manifest`` reads and checks a manifest, ``records`` keeps the campaign's record and its rows' outcomes in the
workflow table, ``report`` writes the report of a run. This face of the package imports nothing: a function loads
only the modules its step uses.
"""
