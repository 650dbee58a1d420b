"""Messaging API operations: available actions with their schemas, buyer attributes, sending."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from buyer_messaging import catalog
from buyer_messaging.catalog import MessageType
from buyer_messaging.fields import json_type
from buyer_messaging.spapi import SpApiClient


@dataclass(frozen=True, slots=True)
class AvailableAction:
    """One entry of ``getMessagingActionsForOrder``: a message type the order allows now."""

    name: str  # as Amazon spells it in _links.actions[].name (path or operation name)
    message_type: MessageType | None  # None: an action this product does not send (e.g. updateFeedback)
    title: str
    schema: Mapping[str, Any]  # the JSON schema Amazon embeds; empty when schema_problem says why not
    # Why the action's schema could not be read (missing, not an object, an unknown shape): its limits for
    # this order, and whether it is disabled, are unknown. None when the schema was read.
    schema_problem: str | None = None

    @property
    def disabled(self) -> bool:
        return bool(self.schema.get("disabled"))

    @property
    def disabled_reason(self) -> str | None:
        reason = self.schema.get("disabledReason")
        return str(reason) if reason else None


def get_messaging_actions(client: SpApiClient, amazon_order_id: str, marketplace_id: str) -> list[AvailableAction]:
    """The message types Amazon allows for the order now, each with its embedded schema."""
    operation = catalog.operation("getMessagingActionsForOrder")
    response = client.call(
        operation.name,
        operation.method,
        operation.path_template.format(amazonOrderId=amazon_order_id),
        params={"marketplaceIds": marketplace_id},
    )
    return parse_actions(response.body)


def parse_actions(body: Mapping[str, Any]) -> list[AvailableAction]:
    """Actions from ``_links.actions`` (what is allowed) joined with ``_embedded.actions`` (their schemas).

    Two shapes of the embedded action are read. What Amazon answers (``fixtures/`` from
    amzn/selling-partner-api-samples; users' answers in jlevers/selling-partner-api#544 and, for the
    same HAL answer of the Solicitations API, amzn/selling-partner-api-models#187): ``name`` and ``title``
    at the top of the action, the JSON schema itself in ``_embedded.schema``. What Amazon's model declares
    (``GetMessagingActionResponse``, ``GetSchemaResponse``): ``payload.name``, and the schema in
    ``_embedded.schema.payload``. An action whose schema is in neither shape keeps a ``schema_problem``
    instead of passing for a schema without limits.
    """
    embedded = _list(_mapping(body.get("_embedded")).get("actions"))
    schemas: dict[str, tuple[Mapping[str, Any], str | None]] = {}
    titles: dict[str, str] = {}
    for action in embedded:
        action_map = _mapping(action)
        name = _action_name(action_map)
        if not name:
            continue
        schema, problem = read_schema(action_map)
        key = _key(name)
        schemas[key] = (schema, problem)
        titles[key] = str(action_map.get("title") or schema.get("title") or name)
    names = [str(_mapping(link).get("name", "")) for link in _list(_mapping(body.get("_links")).get("actions"))]
    if not names:
        names = [_action_name(_mapping(action)) for action in embedded]
    actions = []
    seen: set[str] = set()
    for name in names:
        if not name or _key(name) in seen:
            continue
        seen.add(_key(name))
        schema, problem = schemas.get(_key(name), ({}, "Amazon's answer embeds no schema for it"))
        actions.append(
            AvailableAction(
                name=name,
                message_type=catalog.find_message_type(name),
                title=titles.get(_key(name), name),
                schema=schema,
                schema_problem=problem,
            )
        )
    return actions


def _action_name(action: Mapping[str, Any]) -> str:
    """The embedded action's name: at its top (Amazon's answers) or in ``payload`` (Amazon's model)."""
    name = action.get("name")
    if not isinstance(name, str) or not name:
        name = _mapping(action.get("payload")).get("name")
    return name if isinstance(name, str) else ""


def read_schema(action: Mapping[str, Any]) -> tuple[Mapping[str, Any], str | None]:
    """The JSON schema of one embedded action and None, or an empty schema and why it cannot be read."""
    embedded = action.get("_embedded")
    if not isinstance(embedded, Mapping) or "schema" not in embedded:
        return {}, "Amazon's answer embeds no schema for it"
    schema = embedded["schema"]
    if isinstance(schema, Mapping) and "payload" in schema:  # the model's GetSchemaResponse
        schema = schema["payload"]
    if not isinstance(schema, Mapping):
        return {}, f"its embedded schema is {json_type(schema)}, not a JSON object"
    properties, required = schema.get("properties"), schema.get("required", [])
    if not isinstance(properties, Mapping):
        keys = ", ".join(sorted(str(key) for key in schema)) or "none"
        return {}, f"its embedded schema has no 'properties' object (keys: {keys})"
    if not isinstance(required, list) or any(not isinstance(item, Mapping) for item in properties.values()):
        return {}, "its embedded schema's 'properties' or 'required' are not JSON Schema"
    return schema, None


def _key(name: str) -> str:
    """One key for both spellings of a type (``sendInvoice`` and ``invoice``)."""
    message_type = catalog.find_message_type(name)
    return message_type.path if message_type else name.lower()


def find_action(actions: Sequence[AvailableAction], message_type: MessageType) -> AvailableAction | None:
    for action in actions:
        if action.message_type is message_type:
            return action
    return None


def get_buyer_locale(client: SpApiClient, amazon_order_id: str, marketplace_id: str) -> str | None:
    """The buyer's language of preference (``en-US``), in which the seller should write."""
    operation = catalog.operation("GetAttributes")
    response = client.call(
        operation.name,
        operation.method,
        operation.path_template.format(amazonOrderId=amazon_order_id),
        params={"marketplaceIds": marketplace_id},
    )
    locale = _mapping(response.body.get("buyer")).get("locale")
    return str(locale) if locale else None


def build_message_body(
    message_type: MessageType,
    *,
    text: str | None,
    attachments: Sequence[tuple[str, str]],
    coverage_start_date: str | None = None,
    coverage_end_date: str | None = None,
) -> dict[str, Any]:
    """The operation's JSON body; ``attachments`` are (uploadDestinationId, fileName) pairs."""
    body: dict[str, Any] = {}
    if message_type.text is not None and text is not None:
        body["text"] = text
    if message_type.attachments is not None and attachments:
        body["attachments"] = [
            {"uploadDestinationId": destination_id, "fileName": file_name} for destination_id, file_name in attachments
        ]
    if message_type.takes_coverage_dates:
        if coverage_start_date:
            body["coverageStartDate"] = coverage_start_date
        if coverage_end_date:
            body["coverageEndDate"] = coverage_end_date
    return body


def send_message(
    client: SpApiClient,
    message_type: MessageType,
    amazon_order_id: str,
    marketplace_id: str,
    body: Mapping[str, Any],
) -> str | None:
    """Call the type's operation; Amazon answers 201 and emails the buyer. Returns Amazon's request id."""
    response = client.call(
        message_type.operation,
        "POST",
        message_type.send_path(amazon_order_id),
        params={"marketplaceIds": marketplace_id},
        json_body=body,
        at_most_once=True,
    )
    return response.request_id


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
