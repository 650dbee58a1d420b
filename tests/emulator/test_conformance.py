"""The emulator against Amazon's official models: its routes, its answers and its headers.

Reads the models' facts kept in the repository (``local/spapi_emulator/model_facts.json``, derived from Amazon's
models by ``make model-facts``; tests/emulator/test_model_facts.py keeps it equal to them).
Answers are validated with ``jsonschema`` (draft 4, the models' dialect) when it is installed, else with a
small structural check of ``$ref``, ``type``, ``required``, ``properties`` and ``items``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from buyer_messaging import catalog
from spapi_emulator import model_facts
from spapi_emulator.gateway import RATE_LIMIT_HEADER_STATUSES, ROUTES, api_of
from tests.emulator.conftest import GERMAN_ORDER, LIMITED_ORDER, PDF, SANDBOX_ORDER, US, Api

HTTP_METHODS = {"get", "post", "put", "delete", "patch"}
ACTIONS_SAMPLE = "fixtures/messaging-getMessagingActionsForOrder.json"


@pytest.fixture(scope="module")
def models() -> dict[str, dict[str, Any]]:
    return {api: model_facts.api_model(api) for api in model_facts.MODELS}


def _operations(model: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in model["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method.upper(), operation


def _operation(models: dict[str, dict[str, Any]], name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for model in models.values():
        for _, _, operation in _operations(model):
            if operation["operationId"] == name:
                return model, operation
    raise AssertionError(f"{name} is not in the models")


def assert_conforms(instance: Any, schema: dict[str, Any], definitions: dict[str, Any]) -> None:
    """``instance`` is valid against ``schema`` (which may ``$ref`` the model's definitions)."""
    try:
        import jsonschema  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover  (jsonschema comes with moto)
        _structural_check(instance, schema, definitions, "$")
        return
    jsonschema.Draft4Validator({**schema, "definitions": definitions}).validate(instance)


def _structural_check(instance: Any, schema: dict[str, Any], definitions: dict[str, Any], where: str) -> None:
    if "$ref" in schema:
        schema = definitions[schema["$ref"].rsplit("/", 1)[-1]]
    expected = schema.get("type")
    types: dict[str, type | tuple[type, ...]] = {
        "object": dict,
        "array": list,
        "string": str,
        "boolean": bool,
        "integer": int,
        "number": (int, float),
    }
    if expected:
        assert isinstance(instance, types[expected]), f"{where} is not {expected}"
    if isinstance(instance, dict):
        for name in schema.get("required", []):
            assert name in instance, f"{where}.{name} is required"
        for name, subschema in schema.get("properties", {}).items():
            if name in instance:
                _structural_check(instance[name], subschema, definitions, f"{where}.{name}")
    if isinstance(instance, list) and "items" in schema:
        for index, item in enumerate(instance):
            _structural_check(item, schema["items"], definitions, f"{where}[{index}]")


def _response_schema(models: dict[str, dict[str, Any]], operation_id: str, status: int) -> tuple[Any, Any]:
    model, operation = _operation(models, operation_id)
    return operation["responses"][str(status)]["schema"], model["definitions"]


# --- routes ------------------------------------------------------------------------------------------------


def test_every_route_the_emulator_serves_is_in_the_models(models: dict[str, dict[str, Any]]) -> None:
    for route in ROUTES:
        model = models[api_of(route.operation)]
        operation = model["paths"].get(route.operation.path_template, {}).get(route.operation.method.lower())
        assert operation is not None, f"{route.operation.method} {route.operation.path_template} is not in the model"
        assert operation["operationId"] == route.operation.name


def test_every_operation_of_the_models_is_served(models: dict[str, dict[str, Any]]) -> None:
    served = {(route.operation.method, route.operation.path_template) for route in ROUTES}
    for model in models.values():
        for path, method, operation in _operations(model):
            assert (method, path) in served, f"{operation['operationId']} is not served"


def test_message_paths_of_the_catalog_are_the_models(models: dict[str, dict[str, Any]]) -> None:
    for message_type in catalog.MESSAGE_TYPES:
        path = "/messaging/v1/orders/{amazonOrderId}/messages/" + message_type.path
        assert models["messaging"]["paths"][path]["post"]["operationId"] == message_type.operation


def test_message_body_fields_are_the_models_request_definitions(models: dict[str, dict[str, Any]]) -> None:
    definitions = models["messaging"]["definitions"]
    for message_type in catalog.MESSAGE_TYPES:
        properties = definitions[message_type.request_definition]["properties"]
        assert set(message_type.body_fields) == set(properties), message_type.path
    assert set(definitions["Attachment"]["required"]) == {"uploadDestinationId", "fileName"}
    assert set(definitions["Attachment"]["properties"]) == {"uploadDestinationId", "fileName"}


def test_rate_limit_header_is_where_the_models_declare_it(models: dict[str, dict[str, Any]]) -> None:
    for api, model in models.items():
        for _, _, operation in _operations(model):
            declared = {
                int(s) for s, r in operation["responses"].items() if "x-amzn-RateLimit-Limit" in r.get("headers", {})
            }
            statuses = {int(s) for s in operation["responses"]}
            # DESIGN.md: a 429 carries no rate-limit header, whatever the uploads model lists.
            assert declared - {429} == statuses & RATE_LIMIT_HEADER_STATUSES[api], operation["operationId"]


def test_every_answer_declares_a_request_id(models: dict[str, dict[str, Any]]) -> None:
    for model in models.values():
        for _, _, operation in _operations(model):
            for status, response in operation["responses"].items():
                assert "x-amzn-RequestId" in response.get("headers", {}), (operation["operationId"], status)


def test_required_query_parameters_are_required(models: dict[str, dict[str, Any]], api: Api) -> None:
    for name in ("getMessagingActionsForOrder", "createUploadDestinationForResource"):
        _, operation = _operation(models, name)
        required = [p["name"] for p in operation["parameters"] if p["in"] == "query" and p.get("required")]
        for left_out in required:
            params = {"marketplaceIds": US, "contentMD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}
            del params[left_out]
            path = (
                f"/messaging/v1/orders/{SANDBOX_ORDER}"
                if name == "getMessagingActionsForOrder"
                else f"/uploads/2020-11-01/uploadDestinations/messaging/v1/orders/{SANDBOX_ORDER}/messages/invoice"
            )
            method = "GET" if name == "getMessagingActionsForOrder" else "POST"
            response = api.session.request(method, api.base_url + path, params=params, headers=api.headers())
            assert response.status_code == 400, (name, left_out)


def test_marketplace_ids_max_items_is_one(models: dict[str, dict[str, Any]]) -> None:
    for model in models.values():
        for _, _, operation in _operations(model):
            [parameter] = [p for p in operation["parameters"] if p["name"] == "marketplaceIds"]
            assert parameter["required"] is True
            assert parameter["maxItems"] == 1


# --- answers --------------------------------------------------------------------------------------------------


def _closed(schema: Any) -> Any:
    """``schema`` with every object that lists its properties closed to others (``additionalProperties``
    false), so that an answer holding a field the model does not declare fails."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) for key, value in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema:
        closed["additionalProperties"] = False
    return closed


def _actions_in_the_models_shape(body: dict[str, Any]) -> dict[str, Any]:
    """The actions answer moved into the model's shape, checking on the way that it has Amazon's real shape.

    Amazon's answers (``fixtures/messaging-getMessagingActionsForOrder.json`` from
    amzn/selling-partner-api-samples; jlevers/selling-partner-api#544) carry each action's ``name`` and
    ``title`` at the top of the embedded action and its JSON schema directly in ``_embedded.schema``; the
    model declares ``payload.name`` (``MessagingAction``, no title) and ``_embedded.schema.payload``
    (``GetSchemaResponse``). That is the one deviation: the rest must be the model's, nothing more.
    """
    moved = copy.deepcopy(body)
    for action in moved["_embedded"]["actions"]:
        assert "payload" not in action, "Amazon's answers carry the action's name at its top, not in payload"
        name, title = action.pop("name"), action.pop("title")
        schema = action["_embedded"]["schema"]
        assert "payload" not in schema, "Amazon's answers embed the schema itself, not a GetSchemaResponse"
        assert (schema["name"], schema["title"], action["_links"]["self"]["name"]) == (name, title, name)
        action["payload"] = {"name": name}
        action["_embedded"]["schema"] = {"_links": schema.pop("_links"), "payload": schema}
    return moved


def test_actions_answer_has_amazons_real_shape_and_else_conforms(models: dict[str, dict[str, Any]], api: Api) -> None:
    response = api.get_actions()

    schema, definitions = _response_schema(models, "getMessagingActionsForOrder", 200)
    assert response.json()["_embedded"]["actions"], "the sandbox order offers actions"
    assert_conforms(_actions_in_the_models_shape(response.json()), _closed(schema), _closed(definitions))


def test_embedded_schemas_are_json_schemas_like_amazons(api: Api) -> None:
    # Amazon's embedded schemas say draft-04 but hold "required": [] (draft 4 wants it non-empty), so they
    # are checked, like the emulator's, against a later draft's meta-schema.
    jsonschema = pytest.importorskip("jsonschema")
    sample = model_facts.sample(ACTIONS_SAMPLE)
    for body in (sample, api.get_actions().json()):
        for action in body["_embedded"]["actions"]:
            jsonschema.Draft7Validator.check_schema(action["_embedded"]["schema"])


def test_embedded_schemas_have_the_shape_of_amazons_sample(models: dict[str, dict[str, Any]], api: Api) -> None:
    sample = {a["name"]: a for a in model_facts.sample(ACTIONS_SAMPLE)["_embedded"]["actions"]}
    ours = {a["name"]: a for a in api.get_actions().json()["_embedded"]["actions"]}

    for name in ("unexpectedProblem", "sendInvoice"):
        expected, actual = sample[name], ours[name]
        assert set(actual) == set(expected)
        assert set(actual["_links"]) == set(expected["_links"])
        expected_schema, actual_schema = expected["_embedded"]["schema"], actual["_embedded"]["schema"]
        assert set(actual_schema) == set(expected_schema)
        assert set(actual_schema["properties"]) == set(expected_schema["properties"])
        assert actual_schema["required"] == expected_schema["required"]
        for prop, expected_property in expected_schema["properties"].items():
            actual_property = actual_schema["properties"][prop]
            assert set(actual_property) == set(expected_property), prop
            for limit in ("minLength", "maxLength", "minItems", "maxItems", "type"):
                assert actual_property.get(limit) == expected_property.get(limit), (name, prop, limit)
        assert actual["_links"]["self"]["href"] == (
            f"/messaging/v1/orders/{SANDBOX_ORDER}/messages/{name}?marketplaceIds={US}"
        )


def test_attributes_answer_conforms(models: dict[str, dict[str, Any]], api: Api) -> None:
    schema, definitions = _response_schema(models, "GetAttributes", 200)
    assert_conforms(api.get_attributes().json(), schema, definitions)


@pytest.mark.parametrize("message_type", catalog.MESSAGE_TYPES, ids=lambda m: m.path)
def test_message_request_and_answer_conform(
    models: dict[str, dict[str, Any]], api: Api, message_type: catalog.MessageType
) -> None:
    body: dict[str, Any] = {}
    if message_type.text:
        body["text"] = "Your order is on its way."
    if message_type.attachments:
        body["attachments"] = [{"uploadDestinationId": api.uploaded(message_type.path), "fileName": "a.pdf"}]
    if message_type.takes_coverage_dates:
        body["coverageStartDate"], body["coverageEndDate"] = "2026-01-01T00:00:00Z", "2027-01-01T00:00:00.5+01:00"
    definitions = models["messaging"]["definitions"]
    assert_conforms(body, {"$ref": f"#/definitions/{message_type.request_definition}"}, definitions)

    response = api.send(message_type.path, body)

    assert response.status_code == 201
    schema, _ = _response_schema(models, message_type.operation, 201)
    assert_conforms(response.json(), schema, definitions)
    assert response.json() == {}


def test_upload_destination_answer_conforms(models: dict[str, dict[str, Any]], api: Api) -> None:
    response = api.create_destination("invoice", PDF)

    schema, definitions = _response_schema(models, "createUploadDestinationForResource", 201)
    assert response.status_code == 201  # the model's success status
    assert_conforms(response.json(), schema, definitions)
    assert set(response.json()["payload"]) == set(definitions["UploadDestination"]["properties"])


@pytest.mark.parametrize(
    ("operation", "status", "call"),
    [
        ("getMessagingActionsForOrder", 400, lambda api: api.get_actions(marketplace=None)),
        ("getMessagingActionsForOrder", 403, lambda api: api.get_actions(headers={"x-amz-access-token": "Atza|x"})),
        ("getMessagingActionsForOrder", 404, lambda api: api.get_actions(order="123-1234567-0000000")),
        ("createUnexpectedProblem", 400, lambda api: api.send("unexpectedProblem", {"text": ""})),
        (
            "createConfirmOrderDetails",
            403,
            lambda api: api.send("confirmOrderDetails", {"text": "Hi"}, order=LIMITED_ORDER),
        ),
        ("createUploadDestinationForResource", 400, lambda api: api.create_destination("invoice", order=GERMAN_ORDER)),
    ],
)
def test_error_answers_conform(
    models: dict[str, dict[str, Any]], api: Api, operation: str, status: int, call: Any
) -> None:
    response = call(api)

    assert response.status_code == status
    schema, definitions = _response_schema(models, operation, status)
    assert_conforms(response.json(), schema, definitions)
    assert_conforms(response.json()["errors"], {"$ref": "#/definitions/ErrorList"}, definitions)
    assert response.json()["errors"]


def test_throttled_answer_conforms(models: dict[str, dict[str, Any]], api: Api) -> None:
    api.emulator.inject_fault("GetAttributes", status=429)
    response = api.get_attributes()

    schema, definitions = _response_schema(models, "GetAttributes", 429)
    assert_conforms(response.json(), schema, definitions)
    assert "x-amzn-RateLimit-Limit" not in response.headers
