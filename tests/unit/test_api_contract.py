"""The API's documented contract (api_models) and what the API function does are the same API."""

from __future__ import annotations

import json
from typing import Any

from buyer_messaging import api_models, http_api
from tests import support

# Served by the API function but not operations of the API: the console's files and the document itself.
NOT_OPERATIONS = {("get", "/"), ("get", "/console/{name}"), ("get", "/openapi.json")}


def _api_app() -> Any:
    return support.function_module("api")


def test_every_route_of_the_api_function_is_a_documented_operation_and_back() -> None:
    resolver = _api_app().app
    routes = {
        (route.method.lower(), route.openapi_path) for route in resolver._static_routes + resolver._dynamic_routes
    }
    documented = {(operation.method, operation.path) for operation in api_models.OPERATIONS}

    assert routes - NOT_OPERATIONS == documented


def test_the_request_models_have_the_fields_the_api_reads() -> None:
    assert tuple(api_models.SendMessageIn.model_fields) == http_api.SEND_MESSAGE_FIELDS
    assert tuple(api_models.AttachmentIn.model_fields) == http_api.ATTACHMENT_FIELDS
    assert tuple(api_models.StageAttachmentIn.model_fields) == http_api.STAGE_ATTACHMENT_FIELDS


def test_the_sample_bodies_are_valid_for_the_documented_models_and_for_the_api() -> None:
    message = support.load_event("api/post-message.json")["body"]
    staging = support.load_event("api/post-attachment.json")["body"]

    api_models.SendMessageIn.model_validate_json(message)
    api_models.StageAttachmentIn.model_validate_json(staging)
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
    document = api_models.openapi_document()
    json.dumps(document)  # plain JSON

    assert document["openapi"] == "3.1.0"
    schemas = document["components"]["schemas"]
    assert {ref.rsplit("/", 1)[-1] for ref in _references(document)} <= set(schemas)
    for operation in api_models.OPERATIONS:
        described = document["paths"][operation.path][operation.method]
        responses = described["responses"]
        success = responses[str(operation.status)]["content"]["application/json"]["schema"]
        assert success == {"$ref": f"#/components/schemas/{operation.response.__name__}"}
        errors = {code for code in responses if code != str(operation.status)}
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
