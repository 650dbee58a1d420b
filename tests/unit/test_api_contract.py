"""The API's documented contract (api_contract.api_models), the document the API function serves
(functions/api/openapi.json) and what the API function does are the same API."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import api_contract
from api_contract import api_models, campaign_models, contract_rules
from buyer_messaging import catalog, http_api, marketplaces, validation
from buyer_messaging.campaigns import api as campaigns_api
from buyer_messaging.errors import InvalidRequest
from buyer_messaging.fields import AMAZON_ORDER_ID_PATTERN
from local_stack.stack import reset_function_caches
from tests import support

# Served by the API function but not operations of the API: the console's files and the document itself.
NOT_OPERATIONS = {("get", "/"), ("get", "/console/{name}"), ("get", "/openapi.json")}


def _api_app() -> Any:
    return support.function_module("api")


def served(region: str = "na") -> dict[str, Any]:
    """The document as the API function serves it: the generated file, with the marketplaces of the region."""
    document = json.loads(api_contract.OPENAPI_FILE.read_text(encoding="utf-8"))
    return http_api.regional_openapi(document, region)


def test_the_served_file_is_the_fresh_generation() -> None:
    """functions/api/openapi.json cannot drift from the models and the constants: `make openapi` rewrites it."""
    assert api_contract.OPENAPI_FILE.read_text(encoding="utf-8") == api_contract.render()


def test_the_file_is_the_generation_with_the_marketplaces_added_when_served() -> None:
    generated = api_models.openapi_document()
    assert served() == http_api.regional_openapi(generated, "na")
    # No region in the file: the API function adds its deployment's to every marketplace id.
    query = _parameter(generated, "/orders/{amazonOrderId}/message-types", "get", "marketplaceId")
    body = _schema(generated, "SendMessageIn")["properties"]["marketplaceId"]
    assert "enum" not in query and "enum" not in body


def test_every_route_of_the_api_function_is_a_documented_operation_and_back() -> None:
    resolver = _api_app().app
    # Powertools' private route lists (aws-lambda-powertools 3.37.0, tests/unit/test_library_internals.py).
    routes = {
        (route.method.lower(), route.openapi_path) for route in resolver._static_routes + resolver._dynamic_routes
    }
    documented = {(operation.method, operation.path) for operation in api_models.OPERATIONS}

    assert routes - NOT_OPERATIONS == documented


def test_the_request_models_have_the_fields_the_api_reads() -> None:
    assert tuple(api_models.SendMessageIn.model_fields) == http_api.SEND_MESSAGE_FIELDS
    assert tuple(api_models.AttachmentIn.model_fields) == http_api.ATTACHMENT_FIELDS
    assert tuple(api_models.StageAttachmentIn.model_fields) == http_api.STAGE_ATTACHMENT_FIELDS
    assert tuple(campaign_models.CampaignIn.model_fields) == campaigns_api.CAMPAIGN_FIELDS


def test_the_sample_bodies_are_valid_for_the_documented_models_and_for_the_api() -> None:
    message = support.load_event("api/post-message.json")["body"]
    staging = support.load_event("api/post-attachment.json")["body"]

    api_models.SendMessageIn.model_validate_json(message)
    api_models.StageAttachmentIn.model_validate_json(staging)
    campaign = support.load_event("api/post-campaign.json")["body"]
    campaign_models.CampaignIn.model_validate_json(campaign)
    campaigns_api.read_campaign_post(campaign)
    http_api.read_send_message(message)
    http_api.read_stage_attachment(staging)


def _references(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_references(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_references(value) for value in node))
    return set()


def test_the_document_describes_each_operation_with_its_success_and_its_errors() -> None:
    document = served()
    json.dumps(document)  # plain JSON

    assert document["openapi"] == "3.1.0"
    schemas = document["components"]["schemas"]
    assert {ref.rsplit("/", 1)[-1] for ref in _references(document)} <= set(schemas)
    for operation in api_models.OPERATIONS:
        described = document["paths"][operation.path][operation.method]
        responses = described["responses"]
        success = responses[str(operation.status)]["content"][operation.media_type]["schema"]
        assert success == {"$ref": f"#/components/schemas/{operation.response.__name__}"}
        for code, model, _ in operation.other_successes:
            assert responses[str(code)]["content"]["application/json"]["schema"] == {
                "$ref": f"#/components/schemas/{model.__name__}"
            }
        successes = {str(operation.status)} | {str(code) for code, _, _ in operation.other_successes}
        errors = {code for code in responses if code not in successes}
        assert errors == {str(code) for code in operation.errors}
        assert "422" not in responses  # invalid input is a 400 with the error's name
        for code in errors:
            assert responses[code]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
        path_names = {part.strip("{}") for part in operation.path.split("/") if part.startswith("{")}
        in_path = {p["name"] for p in described.get("parameters", []) if p["in"] == "path"}
        assert in_path == path_names
        assert ("requestBody" in described) is (operation.request is not None)
    assert "Retry-After" in document["paths"]["/attachments"]["post"]["responses"]["503"]["headers"]


def test_the_error_statuses_documented_are_the_ones_the_api_answers_with() -> None:
    answered = {status for status, _ in http_api._CALLER_ERRORS.values()}
    answered |= {http_api.TRANSIENT_STATUS, http_api.UPSTREAM_STATUS}
    documented = {code for operation in api_models.OPERATIONS for code in operation.errors}

    assert documented == answered


# --- every limit the document states is the value the code checks (issue 13, item 5) ---------------------------


def _schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][name]
    return schema


def _parameter(document: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    found = [p for p in document["paths"][path][method].get("parameters", []) if p["name"] == name]
    assert len(found) == 1, (path, method, name)
    schema: dict[str, Any] = found[0]["schema"]
    return schema


def documented_limits(document: dict[str, Any]) -> dict[str, Any]:
    """Every limit the document states, by what it limits."""
    message = _schema(document, "SendMessageIn")
    attachment = _schema(document, "AttachmentIn")
    staging = _schema(document, "StageAttachmentIn")
    order_ids = {
        (path, method): _parameter(document, path, method, "amazonOrderId")["pattern"]
        for path, methods in document["paths"].items()
        for method in methods
        if "{amazonOrderId}" in path
    }
    per_type = {}
    for rule in message["allOf"]:
        properties = rule["then"]["properties"]
        text = properties["text"]
        per_type[tuple(rule["if"]["properties"]["messageType"]["enum"])] = (
            None
            if text == {"type": "null"}
            else (text["minLength"], text["maxLength"], "text" in rule["then"].get("required", [])),
            None
            if properties["attachments"] == {"maxItems": 0}
            else (properties["attachments"]["minItems"], properties["attachments"]["maxItems"]),
            "coverageStartDate" not in properties,
        )
    return {
        "order id": set(order_ids.values()),
        "marketplace (query)": (
            _parameter(document, "/orders/{amazonOrderId}/message-types", "get", "marketplaceId")["pattern"],
            _parameter(document, "/orders/{amazonOrderId}/message-types", "get", "marketplaceId")["enum"],
        ),
        "marketplace (body)": (
            message["properties"]["marketplaceId"]["pattern"],
            message["properties"]["marketplaceId"]["enum"],
        ),
        "message types": set(message["properties"]["messageType"]["enum"]),
        "per type": per_type,
        "text": (message["properties"]["text"]["minLength"], message["properties"]["text"]["maxLength"]),
        "attachments": message["properties"]["attachments"]["maxItems"],
        "file name length": {
            attachment["properties"]["fileName"]["maxLength"],
            staging["properties"]["fileName"]["maxLength"],
        },
        "staged key": attachment["properties"]["key"]["pattern"],
        "content types": set(staging["properties"]["contentType"]["enum"]),
        "size": (staging["properties"]["size"]["minimum"], staging["properties"]["size"]["maximum"]),
        "extensions by content type": {
            branch["properties"]["contentType"]["const"]: branch["properties"]["fileName"]["pattern"]
            for branch in staging["anyOf"]
        },
        "Idempotency-Key": (
            _parameter(document, "/orders/{amazonOrderId}/messages", "post", "Idempotency-Key")["minLength"],
            _parameter(document, "/orders/{amazonOrderId}/messages", "post", "Idempotency-Key")["maxLength"],
        ),
        "request bodies": {
            tuple(described["requestBody"]["content"])
            for methods in document["paths"].values()
            for described in methods.values()
            if "requestBody" in described
        },
    }


def checked_limits() -> dict[str, Any]:
    """The same limits, from the constants the code checks with (this deployment's region: na)."""
    by_type: dict[str, list[str]] = {}
    for extension, content_type in catalog.ATTACHMENT_CONTENT_TYPES.items():
        by_type.setdefault(content_type, []).append(extension)
    region = sorted(mid for mid, (_, served_by) in marketplaces.MARKETPLACES.items() if served_by == "na")
    texts = [kind.text for kind in catalog.MESSAGE_TYPES if kind.text is not None]
    return {
        "order id": {AMAZON_ORDER_ID_PATTERN.pattern},
        "marketplace (query)": (marketplaces.MARKETPLACE_ID_PATTERN.pattern, region),
        "marketplace (body)": (marketplaces.MARKETPLACE_ID_PATTERN.pattern, region),
        "message types": {name for kind in catalog.MESSAGE_TYPES for name in (kind.path, kind.operation)},
        "per type": {
            tuple(sorted({kind.path, kind.operation})): (
                None if kind.text is None else (kind.text.min_length, kind.text.max_length, kind.text.required),
                None if kind.attachments is None else (kind.attachments.min_count, kind.attachments.max_count),
                kind.takes_coverage_dates,
            )
            for kind in catalog.MESSAGE_TYPES
        },
        "text": (min(text.min_length for text in texts), max(text.max_length for text in texts)),
        "attachments": catalog.ATTACHMENTS_MAX_COUNT,
        "file name length": {catalog.FILE_NAME_MAX_LENGTH},
        "staged key": "^"
        + http_api.SELLER_SEGMENT_PATTERN
        + re.escape(http_api.ATTACHMENTS_PREFIX)
        + http_api.STAGED_FOLDER_PATTERN
        + "/"
        + contract_rules.file_name_pattern().removeprefix("^"),
        "content types": set(catalog.ATTACHMENT_CONTENT_TYPES.values()),
        "size": (1, catalog.ATTACHMENT_MAX_BYTES),
        "extensions by content type": {
            content_type: contract_rules.file_name_pattern(tuple(extensions))
            for content_type, extensions in by_type.items()
        },
        "Idempotency-Key": (1, http_api.IDEMPOTENCY_KEY_MAX_LENGTH),
        "request bodies": {("application/json",)},
    }


def test_every_limit_the_document_states_is_the_one_the_code_checks() -> None:
    assert documented_limits(served()) == checked_limits()


@pytest.mark.parametrize(
    ("constant", "value"),
    [
        ("FILE_NAME_MAX_LENGTH", 200),
        ("ATTACHMENTS_MAX_COUNT", 4),
        ("ATTACHMENT_MAX_BYTES", 5_000_000),
    ],
)
def test_a_limit_the_code_checks_otherwise_is_a_difference(
    monkeypatch: pytest.MonkeyPatch, constant: str, value: int
) -> None:
    """The comparison above can fail: with the catalog changed under the document, it finds the difference."""
    document = served()
    monkeypatch.setattr(catalog, constant, value)

    assert documented_limits(document) != checked_limits()


def test_a_document_that_states_another_limit_is_a_difference() -> None:
    document = served()
    _schema(document, "AttachmentIn")["properties"]["fileName"]["maxLength"] += 1

    assert documented_limits(document) != checked_limits()


def test_the_document_takes_the_marketplaces_of_the_deployments_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPAPI_REGION", "sandbox-eu")
    reset_function_caches()
    answer = _api_app().get_openapi()  # the route's own function: what GET /openapi.json answers
    assert answer.status_code == 200
    document = json.loads(answer.body)
    query = _parameter(document, "/orders/{amazonOrderId}/message-types", "get", "marketplaceId")
    body = _schema(document, "SendMessageIn")["properties"]["marketplaceId"]

    assert query["enum"] == body["enum"] == marketplaces.served_by("eu")
    assert "A1PA6795UKMFR9" in query["enum"]  # DE
    assert "ATVPDKIKX0DER" not in query["enum"]  # US: validation.check_marketplace refuses it in eu


FILE_NAMES = [
    "Invoice 1.pdf",
    "a.PDF",
    "Rechnung ä.docx",
    "x.jpeg",
    "photo.JPG",
    "n.txt",
    "رسید\u200c.png",
    "a.b.gif",
    "",
    " ",
    "a",
    "pdf",
    ".pdf",
    ".hidden.pdf",
    " a.pdf",
    "a.pdf ",
    "a.exe",
    "a.pdf.exe",
    "a/b.pdf",
    "a\\b.pdf",
    "a\nb.pdf",
    "a.pdf\n",
    "\tname.pdf",
    "a\u202egpj.pdf",
    "a\u200b.pdf",
    "a\x7f.pdf",
    "a\u0085.pdf",
    "\u00a0a.pdf",
    "x" * 251 + ".pdf",
    "x" * 252 + ".pdf",
    "a\U000e0001.pdf",
    "a\u00ad.pdf",
]


@pytest.mark.parametrize("name", FILE_NAMES)
def test_the_file_name_pattern_accepts_exactly_what_the_validator_accepts(name: str) -> None:
    schema = _schema(served(), "StageAttachmentIn")["properties"]["fileName"]
    documented = re.search(schema["pattern"], name) is not None and len(name) <= schema["maxLength"]

    assert documented is (validation.file_name_problem(name) is None)


@settings(max_examples=300, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=12), st.sampled_from([*catalog.ATTACHMENT_CONTENT_TYPES, ".PdF", ".exe", ""]))
def test_the_file_name_pattern_agrees_with_the_validator_on_any_name(stem: str, extension: str) -> None:
    name = stem + extension
    documented = re.search(contract_rules.file_name_pattern(), name) is not None

    assert documented is (validation.file_name_problem(name) is None)


def _validator(document: dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    root = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_the_sample_bodies_are_valid_for_the_document() -> None:
    document = served()

    _validator(document, "SendMessageIn").validate(json.loads(support.load_event("api/post-message.json")["body"]))
    _validator(document, "StageAttachmentIn").validate(
        json.loads(support.load_event("api/post-attachment.json")["body"])
    )


@pytest.mark.parametrize(
    ("body", "refused_for"),
    [
        ({"marketplaceId": "ATVPDKIKX0DER", "messageType": "invoice", "text": "Hello"}, "text"),
        ({"marketplaceId": "ATVPDKIKX0DER", "messageType": "unexpectedProblem"}, "text"),
        ({"marketplaceId": "ATVPDKIKX0DER", "messageType": "unexpectedProblem", "text": "x" * 2001}, "text"),
        (
            {"marketplaceId": "ATVPDKIKX0DER", "messageType": "unexpectedProblem", "text": "write me@example.com"},
            "text",
        ),
        ({"marketplaceId": "ATVPDKIKX0DER", "messageType": "unexpectedProblem", "text": "<b>hi</b>"}, "text"),
        ({"marketplaceId": "ATVPDKIKX0DER", "messageType": "unexpectedProblem", "text": "   "}, "text"),
        ({"marketplaceId": "ATVPDKIKX0DER", "messageType": "confirmCustomizationDetails"}, "text or attachments"),
        ({"marketplaceId": "ATVPDKIKX0DER", "messageType": "nope", "text": "Hello"}, "messageType"),
        ({"marketplaceId": "A1PA6795UKMFR9", "messageType": "unexpectedProblem", "text": "Hello"}, "marketplaceId"),
        (
            {
                "marketplaceId": "ATVPDKIKX0DER",
                "messageType": "unexpectedProblem",
                "text": "Hi",
                "coverageEndDate": "2026-01-31T00:00:00Z",
            },
            "coverageEndDate",
        ),
        (
            {"marketplaceId": "ATVPDKIKX0DER", "messageType": "invoice", "attachments": [{"key": "other/notes.json"}]},
            "key",
        ),
        (
            {
                "marketplaceId": "ATVPDKIKX0DER",
                "messageType": "invoice",
                "attachments": [{"key": "attachments/a.pdf"}] * 6,
            },
            "attachments",
        ),
    ],
)
def test_the_document_refuses_a_message_the_api_refuses_for_its_form(body: dict[str, Any], refused_for: str) -> None:
    assert not _validator(served(), "SendMessageIn").is_valid(body), refused_for


def test_the_document_pairs_each_content_type_with_its_extensions() -> None:
    validator = _validator(served(), "StageAttachmentIn")

    assert validator.is_valid({"fileName": "a.JPG", "contentType": "image/jpeg", "size": 1})
    assert not validator.is_valid({"fileName": "a.pdf", "contentType": "image/jpeg", "size": 1})
    assert not validator.is_valid({"fileName": "a.pdf", "contentType": "application/pdf", "size": 0})
    assert not validator.is_valid(
        {"fileName": "a.pdf", "contentType": "application/pdf", "size": catalog.ATTACHMENTS_TOTAL_BYTES_LIMIT + 1}
    )


def test_the_document_links_the_operations_that_feed_each_other() -> None:
    paths = served()["paths"]
    operation_ids = {described["operationId"] for methods in paths.values() for described in methods.values()}
    links = {
        (path, method, name): link
        for path, methods in paths.items()
        for method, described in methods.items()
        for response in described["responses"].values()
        for name, link in response.get("links", {}).items()
    }

    assert {link["operationId"] for link in links.values()} <= operation_ids
    assert links[("/attachments", "post", "SendStagedFile")]["requestBody"] == {
        "attachments": [{"key": "$response.body#/key", "fileName": "$request.body#/fileName"}]
    }
    assert links[("/orders/{amazonOrderId}/messages", "post", "RequestStatus")]["parameters"] == {
        "requestId": "$response.body#/requestId"
    }


def test_a_size_written_as_a_whole_float_is_the_integer_the_document_allows() -> None:
    """JSON Schema's integer includes 12.0 (Schemathesis sends it as valid): the API reads it as 12."""
    body = '{"fileName": "a.pdf", "contentType": "application/pdf", "size": 12.0}'

    assert _validator(served(), "StageAttachmentIn").is_valid(json.loads(body))
    assert http_api.read_stage_attachment(body).size == 12
    with pytest.raises(InvalidRequest, match="size must be an integer"):
        http_api.read_stage_attachment(body.replace("12.0", "12.5"))
