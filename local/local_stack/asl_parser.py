"""Makes moto's ASL parser safe to run in several threads at once, as Step Functions starts executions.

moto 5.2.5's ``Preprocessor`` (which turns a parsed definition into what an execution evaluates) keeps its stack of
QueryLanguage scopes in a class attribute, ``_query_language_per_scope: list = []``: one list shared by every parse
in the process. moto parses the definition again for every execution, in the execution's own thread, so executions
started at the same moment (a burst of S3 uploads) push and pop each other's scopes; one then fails with
``IndexError`` in ``_get_current_query_language`` inside moto's thread and its execution stays RUNNING forever
(seen in a ``make load`` calibration run: 39 of 40 messages went out, the run waited for the 40th until its
timeout). Step Functions has no such state. Here each parse gets a list of its own; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

CHECKED_MOTO = "5.2.5"
SHARED_ATTRIBUTE = "_query_language_per_scope"


def install() -> Callable[[], None]:
    """Give every ``Preprocessor`` its own stack of scopes; returns what undoes it."""
    original = Preprocessor.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        setattr(self, SHARED_ATTRIBUTE, [])

    Preprocessor.__init__ = init  # type: ignore[method-assign]

    def restore() -> None:
        Preprocessor.__init__ = original  # type: ignore[method-assign]

    return restore
