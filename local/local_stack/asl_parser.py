"""moto's ASL parser as the local stack's executions use it: safe in several threads at once, and parsing each
definition once, as Step Functions does.

**Scopes of their own.** moto 5.2.5's ``Preprocessor`` (which turns a parsed definition into what an execution
evaluates) keeps its stack of QueryLanguage scopes in a class attribute, ``_query_language_per_scope: list = []``:
one list shared by every parse in the process. moto parses the definition again for every execution, in the
execution's own thread, so executions started at the same moment (a burst of S3 uploads) push and pop each other's
scopes; one then fails with ``IndexError`` in ``_get_current_query_language`` inside moto's thread and its
execution stays RUNNING forever (seen in a ``make load`` calibration run: 39 of 40 messages went out, the run
waited for the 40th until its timeout). Step Functions has no such state. Here each parse gets a list of its own.

**One parse per definition.** Step Functions parses a definition when the state machine is created; moto parses it
again with ANTLR for every execution it starts, which on this host takes a third of a second of CPU: a burst of
300 executions spent a third of the stack's time parsing the same text, and every other seller's step waited for
the interpreter meanwhile. Here the ANTLR tree of a definition is kept (a tree is only read once built) and each
execution gets a program of its own from it (``Preprocessor().visit(tree)``, as moto builds one): no execution
shares evaluation state with another, and a definition that does not parse is refused each time, as before.

**One parse per JSONPath.** moto parses a state's JSONPath (``$.request.sellingPartnerId``, a ResultPath) with
jsonpath_ng every time a state reads one, 240 microseconds against 4 to find it: a tenth of a burst's CPU. A parsed
expression is only read when it finds (jsonpath_ng's ``find`` keeps nothing), so each text is parsed once.
"""

from __future__ import annotations

import hashlib
import inspect
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils import json_path

CHECKED_MOTO = "5.2.5"
SHARED_ATTRIBUTE = "_query_language_per_scope"
# The source of moto's AmazonStateLanguageParser.parse whose answer parse_once below gives: the ANTLR tree, then
# Preprocessor().visit(tree) as the program.
PARSE_SHA256 = "a59a7d18760fb22efc9fd46d8f0fb3bb6c0293abbce2b9053e1589181c6f0711"
MOTO_PARSE = AmazonStateLanguageParser.parse  # moto's own (a staticmethod's function), as imported
MAX_DEFINITIONS = 64  # a stack has two; tests deploy a few more
MAX_JSON_PATHS = 4096  # the two definitions hold about two hundred
# moto's modules that parse a JSONPath with jsonpath_ng's parse, imported by name (moto 5.2.5).
JSON_PATH_USERS = (json_path, result_path)


def source_digest(function: Callable[..., Any]) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()


class _Trees:
    """The ANTLR tree of each definition parsed, parsed by the first execution that needs it."""

    def __init__(self) -> None:
        self._trees: dict[str, Any] = {}
        self._parsing = threading.Lock()

    def parse(self, definition: str) -> tuple[Any, Any]:
        tree = self._trees.get(definition)
        if tree is None:
            with self._parsing:
                tree = self._trees.get(definition)
                if tree is None:
                    program, tree = MOTO_PARSE(definition)  # raises on a definition that does not parse
                    if len(self._trees) >= MAX_DEFINITIONS:
                        self._trees.clear()
                    self._trees[definition] = tree
                    return program, tree
        return Preprocessor().visit(tree), tree


def install() -> Callable[[], None]:
    """Give every ``Preprocessor`` its own stack of scopes and parse each definition once; returns what undoes it."""
    if source_digest(MOTO_PARSE) != PARSE_SHA256:
        raise RuntimeError(
            "moto's AmazonStateLanguageParser.parse is not the one local_stack.asl_parser was written against "
            f"(moto {CHECKED_MOTO}): read the new code and follow it."
        )
    original_init = Preprocessor.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        setattr(self, SHARED_ATTRIBUTE, [])

    Preprocessor.__init__ = init  # type: ignore[method-assign]
    trees = _Trees()
    AmazonStateLanguageParser.parse = staticmethod(trees.parse)  # type: ignore[method-assign]
    json_path_parsers = [(module, vars(module)["parse"]) for module in JSON_PATH_USERS]
    for module, parse in json_path_parsers:
        module.parse = lru_cache(maxsize=MAX_JSON_PATHS)(parse)  # type: ignore[attr-defined]

    def restore() -> None:
        Preprocessor.__init__ = original_init  # type: ignore[method-assign]
        AmazonStateLanguageParser.parse = staticmethod(MOTO_PARSE)  # type: ignore[method-assign]
        for module, parse in json_path_parsers:
            module.parse = parse  # type: ignore[attr-defined]

    return restore
