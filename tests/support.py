"""Test support: sample events, SP-API response bodies shaped like Amazon's, and constants."""

from __future__ import annotations

import copy
import importlib.util
import json
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from buyer_messaging import catalog

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
SHARED = ROOT.parent / "shared"
SPAPI_MODELS = SHARED / "spapi-models"

ENDPOINT = "https://sellingpartnerapi-na.amazon.com"
TOKEN_URL = "https://api.amazon.com/auth/o2/token"
UPLOAD_HOST = "tortuga-prod-na.s3-external-1.amazonaws.com"
BUCKET = "buyer-messaging-123456789012-us-east-1-1a2b3c4d"
SECRET_ID = "buyer-messaging/lwa-credentials"
SELLER_SECRET_PREFIX = "buyer-messaging/sellers/"
TABLE = "buyer-messaging-workflow"
STATE_MACHINE_NAME = "SendMessageStateMachine"
CAMPAIGN_STATE_MACHINE_NAME = "CampaignStateMachine"
ORDER_ID = "123-1234567-1234567"
MARKETPLACE_ID = "ATVPDKIKX0DER"
CREDENTIALS = {
    "clientId": "amzn1.application-oa2-client.test",
    "clientSecret": "test-client-secret-xyz",
    "refreshToken": "Atzr|test-refresh-token-abc",
}


def workflow_table_definition() -> dict[str, Any]:
    """KeySchema, AttributeDefinitions and GlobalSecondaryIndexes of the template's WorkflowTable, so the
    unit tests' table is the deployed one."""
    from local_stack.template import Template

    properties = Template.load(ROOT / "template.yaml").resources["WorkflowTable"]["Properties"]
    return {name: properties[name] for name in ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes")}


# The template's functions (logical ids) the state machine invokes, in the order of its states.
WORKFLOW_FUNCTIONS = (
    "ListActionsFunction",
    "HashAttachmentFunction",
    "CreateDestinationFunction",
    "UploadAttachmentFunction",
    "SendMessageFunction",
    "RecordOutcomeFunction",
)


@cache
def function_module(function: str) -> ModuleType:
    """functions/<function>/app.py, imported once under a module name of its own (every handler file is app.py)."""
    spec = importlib.util.spec_from_file_location(f"handler_{function}_app", ROOT / "functions" / function / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_event(relative: str) -> Any:
    """A sample from events/, as the function would receive it (a fresh copy each call)."""
    return copy.deepcopy(json.loads((EVENTS / relative).read_text(encoding="utf-8")))


def text_schema(name: str, max_length: int) -> dict[str, Any]:
    return {
        "type": "object",
        "name": name,
        "title": f"{name} title",
        "description": f"{name} description",
        "disabled": False,
        "disabledReason": None,
        "properties": {
            "rawMessageBody": {
                "type": "string",
                "title": "Explain why you are contacting",
                "description": f"{max_length} character limit.",
                "x-ui-field-type": "text",
                "minLength": 1,
                "maxLength": max_length,
            }
        },
        "required": ["rawMessageBody"],
        "$schema": "http://json-schema.org/draft-04/schema#",
    }


def schema_for(message_type: catalog.MessageType) -> dict[str, Any]:
    """A schema like the ones Amazon embeds, built from the catalog's rules for the type."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    if message_type.text is not None:
        properties["rawMessageBody"] = text_schema(message_type.path, message_type.text.max_length)["properties"][
            "rawMessageBody"
        ]
        if message_type.text.required:
            required.append("rawMessageBody")
    if message_type.attachments is not None:
        properties["attachments"] = {
            "type": "array",
            "items": {"type": "object", "properties": {"fileName": {"type": "string"}, "id": {"type": "string"}}},
            "title": "Add attachment",
            "description": "You can upload text files, PDFs, Word documents, and these image file types: .jpg, "
            ".gif, and .png. The total size of attachments must be less than 10 MB.",
            "x-ui-field-type": "attachments",
            "minItems": message_type.attachments.min_count,
            "maxItems": message_type.attachments.max_count,
        }
        if message_type.attachments.min_count:
            required.append("attachments")
    return {
        "type": "object",
        "name": message_type.operation,
        "title": message_type.title,
        "description": message_type.description,
        "disabled": False,
        "disabledReason": None,
        "properties": properties,
        "required": required,
        "$schema": "http://json-schema.org/draft-04/schema#",
    }


def actions_body(
    names: list[str],
    *,
    order_id: str = ORDER_ID,
    marketplace_id: str = MARKETPLACE_ID,
    schemas: dict[str, dict[str, Any]] | None = None,
    model_shape: bool = False,
) -> dict[str, Any]:
    """A getMessagingActionsForOrder answer listing ``names`` (as Amazon spells them).

    In the shape Amazon answers (``name`` and ``title`` on the action, the schema itself in
    ``_embedded.schema``), or with ``model_shape`` in the shape of Amazon's model (``payload.name``, the
    schema in ``_embedded.schema.payload`` beside the schema's ``_links``).
    """
    schemas = schemas or {}
    base = f"/messaging/v1/orders/{order_id}"
    links = [{"href": f"{base}/messages/{name}?marketplaceIds={marketplace_id}", "name": name} for name in names]
    embedded = []
    for name in names:
        message_type = catalog.find_message_type(name)
        schema = schemas.get(name) or (
            schema_for(message_type) if message_type else {"type": "object", "name": name, "properties": {}}
        )
        action_links = {
            "self": {"href": f"{base}/messages/{name}?marketplaceIds={marketplace_id}", "name": name},
            "schema": {"href": f"{base}/messages/{name}/schema", "name": name},
        }
        if model_shape:
            schema_response = {"_links": {"self": action_links["schema"]}, "payload": schema}
            embedded.append(
                {"_links": action_links, "_embedded": {"schema": schema_response}, "payload": {"name": name}}
            )
        else:
            embedded.append(
                {
                    "_links": action_links,
                    "_embedded": {"schema": schema},
                    "name": name,
                    "title": schema.get("title", name),
                }
            )
    return {
        "_links": {"actions": links, "self": {"href": f"{base}?marketplaceIds={marketplace_id}"}},
        "_embedded": {"actions": embedded},
    }
