"""moto's ASL parser as executions started together use it: each parse with its own QueryLanguage scopes (moto
5.2.5 shares one list between all of them; see local_stack.asl_parser)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser, ASLParserException
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


DEFINITION = json.dumps(
    {
        "StartAt": "Greet",
        "States": {"Greet": {"Type": "Pass", "Parameters": {"text.$": "States.Format('Hi {}', $.name)"}, "End": True}},
    }
)


def test_a_definition_is_parsed_once_and_each_execution_gets_a_program_of_its_own(
    installed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    antlr_parses: list[object] = []
    antlr_parse = ASLParser.state_machine

    def counting(parser: ASLParser) -> Any:
        antlr_parses.append(parser)
        return antlr_parse(parser)

    monkeypatch.setattr(ASLParser, "state_machine", counting)
    with ThreadPoolExecutor(8) as pool:  # executions started together
        results = list(pool.map(AmazonStateLanguageParser.parse, [DEFINITION] * 8))
    assert len(antlr_parses) == 1
    programs = [program for program, _ in results]
    assert len({id(program) for program in programs}) == 8  # no evaluation state shared
    assert len({id(tree) for _, tree in results}) == 1
    assert all(type(program) is type(programs[0]) for program in programs)


def test_a_definition_that_does_not_parse_is_refused_every_time(installed: None) -> None:
    for _ in range(2):
        with pytest.raises(ASLParserException):
            AmazonStateLanguageParser.parse('{"StartAt": "Nowhere", "States": {"Nowhere": {"Type": "Nope"}}}')


def test_moto_parses_a_definition_as_asl_parser_was_written_against() -> None:
    assert asl_parser.source_digest(asl_parser.MOTO_PARSE) == asl_parser.PARSE_SHA256, (
        f"moto changed AmazonStateLanguageParser.parse since {asl_parser.CHECKED_MOTO}: read local_stack/asl_parser.py"
    )


def test_a_json_path_is_parsed_once_and_finds_as_before(installed: None) -> None:
    from moto.stepfunctions.parser.asl.utils import json_path

    first = json_path.parse("$.request.sellingPartnerId")
    assert json_path.parse("$.request.sellingPartnerId") is first
    assert json_path.extract_json("$.request.sellingPartnerId", {"request": {"sellingPartnerId": "A"}}) == "A"
    assert json_path.extract_json("$.items[*].key", {"items": [{"key": "a"}, {"key": "b"}]}) == ["a", "b"]
    with pytest.raises(json_path.NoSuchJsonPathError):
        json_path.extract_json("$.missing", {})


def test_restored_moto_parses_each_json_path_again() -> None:
    from jsonpath_ng.ext import parse
    from moto.stepfunctions.parser.asl.utils import json_path

    asl_parser.install()()
    assert json_path.parse is parse
