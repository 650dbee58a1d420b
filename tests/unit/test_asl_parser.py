"""moto's ASL parser as executions started together use it: each parse with its own QueryLanguage scopes (moto
5.2.5 shares one list between all of them; see local_stack.asl_parser)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

from local_stack import asl_parser


@pytest.fixture
def installed() -> Iterator[None]:
    restore = asl_parser.install()
    yield
    restore()


def test_each_parse_has_its_own_scopes(installed: None) -> None:
    first, second = Preprocessor(), Preprocessor()

    assert first._query_language_per_scope is not second._query_language_per_scope
    first._query_language_per_scope.append(object())  # type: ignore[arg-type]
    assert second._query_language_per_scope == []


def test_restored_moto_shares_them_again() -> None:
    asl_parser.install()()

    assert Preprocessor()._query_language_per_scope is Preprocessor()._query_language_per_scope
