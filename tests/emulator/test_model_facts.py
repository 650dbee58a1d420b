"""local/spapi_emulator/model_facts.json: the facts of Amazon's models that the emulator and the tests read, kept in
the repository so that a fresh clone (no ../shared) runs every test; and the command that derives it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from spapi_emulator import model_facts
from tests import support

DESCRIPTION_WITH_PLAN = (
    "Sends X.\n\n**Usage Plan:**\n\n| Rate (requests per second) | Burst |\n| ---- | ---- |\n| 0.5 | 30 |\n\n"
    "The `x-amzn-RateLimit-Limit` response header returns the usage plan rate limits."
)


def test_the_facts_file_is_what_the_command_derives_from_amazons_models() -> None:
    """The one test that reads ../shared. Where ../shared/spapi-models/ is present (the project's checkout, CI),
    the facts are derived again from the models there and must equal the file byte for byte: a model Amazon
    changed, or a fact edited by hand, fails here until `make model-facts` is run.

    Where it is absent (a user's fresh clone) this test does not skip: it checks that the file is what the command
    wrote and was not edited by hand since: its ``factsSha256`` must be the digest of its facts (recomputed
    here) and its layout the command's. A hand edit that also recomputes the digest passes that half; the
    comparison with the models, wherever they are present, finds it.
    """
    text = model_facts.FACTS_PATH.read_text(encoding="utf-8")

    assert model_facts.problems(text) == []
    if (support.SPAPI_MODELS / "messaging.json").is_file():
        assert text == model_facts.render(model_facts.derive(support.SPAPI_MODELS)), (
            f"the facts are not {support.SPAPI_MODELS}'s: run `make model-facts`"
        )


def test_the_facts_name_each_models_version_and_digest() -> None:
    sources = model_facts.load()["sources"]

    assert {name: source["version"] for name, source in sources.items() if "version" in source} == {
        "messaging.json": "v1",
        "uploads_2020-11-01.json": "2020-11-01",
    }
    assert set(sources) == {name for name, _ in model_facts.MODELS.values()} | set(model_facts.SAMPLES)
    for source in sources.values():
        assert len(source["sha256"]) == 64
        assert source["licence"] in {"Apache License 2.0", "MIT-0"}


# --- the derivation, on a small models folder --------------------------------------------------------------


def _write(path: Path, value: Any) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(value, indent=2).encode("utf-8")
    path.write_bytes(raw)
    return raw


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    """messaging.json with one operation, uploads with one, and the two samples."""
    messaging = {
        "swagger": "2.0",
        "info": {"title": "Messaging", "version": "v9", "description": "Docs.", "license": {"name": "Apache"}},
        "consumes": ["application/json"],
        "produces": ["application/hal+json"],
        "paths": {
            "/m/{id}": {
                "post": {
                    "tags": ["messaging"],
                    "description": DESCRIPTION_WITH_PLAN,
                    "operationId": "sendX",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "type": "string", "description": "Order."},
                        {"name": "body", "in": "body", "required": True, "schema": {"$ref": "#/definitions/X"}},
                    ],
                    "responses": {
                        "201": {
                            "description": "Created.",
                            "schema": {"$ref": "#/definitions/X"},
                            "examples": {"application/json": {}},
                            "headers": {"x-amzn-RequestId": {"type": "string", "description": "Id."}},
                            "x-amzn-api-sandbox": {"static": [{"request": {}, "response": {}}]},
                        }
                    },
                }
            }
        },
        "definitions": {
            "X": {
                "type": "object",
                "description": "An X.",
                "properties": {"description": {"type": "string", "description": "A property so named."}},
                "required": ["description"],
            }
        },
    }
    uploads = {
        "info": {"title": "Uploads", "version": "2020-11-01"},
        "paths": {"/u": {"get": {"operationId": "getU", "description": "No plan.", "responses": {}}}},
    }
    _write(tmp_path / "messaging.json", messaging)
    _write(tmp_path / "uploads_2020-11-01.json", uploads)
    _write(tmp_path / model_facts.SAMPLES[0], {"_embedded": {"actions": [{"name": "sendInvoice"}]}})
    _write(tmp_path / model_facts.SAMPLES[1], {"payload": {"uploadDestinationId": "1", "headers": None}})
    return tmp_path


def test_derive_keeps_the_facts_and_leaves_out_the_documentation(models_dir: Path) -> None:
    facts = model_facts.derive(models_dir)

    assert facts["apis"]["messaging"] == {
        "source": "messaging.json",
        "consumes": ["application/json"],
        "produces": ["application/hal+json"],
        "paths": {
            "/m/{id}": {
                "post": {
                    "operationId": "sendX",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "type": "string"},
                        {"name": "body", "in": "body", "required": True, "schema": {"$ref": "#/definitions/X"}},
                    ],
                    "responses": {
                        "201": {
                            "schema": {"$ref": "#/definitions/X"},
                            "headers": {"x-amzn-RequestId": {"type": "string"}},
                        }
                    },
                    "x-usage-plan": {"rate": 0.5, "burst": 30},
                }
            }
        },
        "definitions": {
            "X": {"type": "object", "properties": {"description": {"type": "string"}}, "required": ["description"]}
        },
    }
    assert facts["apis"]["uploads"] == {
        "source": "uploads_2020-11-01.json",
        "consumes": [],
        "produces": [],
        "paths": {"/u": {"get": {"operationId": "getU", "responses": {}, "x-usage-plan": None}}},
        "definitions": {},
    }
    assert facts["samples"] == {
        model_facts.SAMPLES[0]: {"_embedded": {"actions": [{"name": "sendInvoice"}]}},
        model_facts.SAMPLES[1]: {"payload": {"uploadDestinationId": "1", "headers": None}},
    }


def test_derive_writes_each_sources_version_digest_origin_and_licence(models_dir: Path) -> None:
    facts = model_facts.derive(models_dir)

    messaging = (models_dir / "messaging.json").read_bytes()
    sample = (models_dir / model_facts.SAMPLES[0]).read_bytes()
    assert facts["sources"]["messaging.json"] == {
        "from": "https://github.com/amzn/selling-partner-api-models/blob/main/models/messaging-api-model/messaging.json",
        "licence": "Apache",
        "title": "Messaging",
        "version": "v9",
        "sha256": hashlib.sha256(messaging).hexdigest(),
    }
    assert facts["sources"][model_facts.SAMPLES[0]] == {
        "from": "https://github.com/amzn/selling-partner-api-samples",
        "licence": "MIT-0",
        "sha256": hashlib.sha256(sample).hexdigest(),
    }
    assert facts["sources"]["uploads_2020-11-01.json"]["version"] == "2020-11-01"
    assert "Apache License 2.0" in facts["about"] and "MIT-0" in facts["about"]
    assert facts[model_facts.DIGEST_KEY] == model_facts.digest(facts)


def test_usage_plan_reads_the_table_of_a_description() -> None:
    assert model_facts.usage_plan(DESCRIPTION_WITH_PLAN) == {"rate": 0.5, "burst": 30}
    assert model_facts.usage_plan("Sends a message providing the buyer an invoice") is None


def test_derive_without_a_model_names_the_missing_file(models_dir: Path) -> None:
    (models_dir / "uploads_2020-11-01.json").unlink()

    with pytest.raises(model_facts.ModelFactsError, match=r"cannot read .*uploads_2020-11-01\.json: No such file"):
        model_facts.derive(models_dir)


# --- finding a hand edit ----------------------------------------------------------------------------------------


def test_a_fact_edited_by_hand_is_found() -> None:
    facts = model_facts.load()
    definitions = facts["apis"]["messaging"]["definitions"]
    definitions["CreateUnexpectedProblemRequest"]["properties"]["text"]["maxLength"] = 4000

    assert model_facts.problems(model_facts.render(facts)) == [
        "factsSha256 is not the digest of the facts: they were edited after `make model-facts "
        "(python -m spapi_emulator.model_facts derive <models dir>)` wrote them"
    ]


def test_a_layout_edited_by_hand_is_found() -> None:
    text = json.dumps(model_facts.load(), indent=2) + "\n"

    assert model_facts.problems(text) == [
        "the layout is not what `make model-facts (python -m spapi_emulator.model_facts derive <models dir>)` writes"
    ]


def test_the_command_derives_and_checks(models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "facts.json"

    assert model_facts.main(["derive", str(models_dir), "--output", str(output)]) == 0
    assert output.read_text(encoding="utf-8") == model_facts.render(model_facts.derive(models_dir))
    assert model_facts.main(["check", str(models_dir), "--file", str(output)]) == 0

    assert model_facts.main(["check", "--file", str(model_facts.FACTS_PATH)]) == 0
    assert model_facts.main(["check", str(models_dir), "--file", str(model_facts.FACTS_PATH)]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"{model_facts.FACTS_PATH}: it is not what {models_dir} gives: run "
        "`make model-facts (python -m spapi_emulator.model_facts derive <models dir>)`"
    )
