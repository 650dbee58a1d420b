"""The rules of a message type for one order, and the JSON schema Amazon embeds for them.

The catalog (:mod:`buyer_messaging.catalog`) states each type's text and attachment rules; an order's
seed may tighten them (``schemaOverrides``), never loosen them: the emulator must not accept what
Amazon's model refuses. The same :class:`Rules` object produces the schema shown in
``getMessagingActionsForOrder`` and drives the validation of the message, so the two cannot disagree.

The embedded schema has the shape of Amazon's (``spapi-models/fixtures/``,
from amzn/selling-partner-api-samples): ``type``, ``name``, ``title``, ``description``, ``disabled``,
``disabledReason``, ``properties.rawMessageBody`` / ``properties.attachments``, ``required``,
``$schema`` (draft-04) and ``_links.self``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from buyer_messaging import catalog
from buyer_messaging.catalog import AttachmentRule, MessageType, TextRule

JSON_SCHEMA_DRAFT_04 = "http://json-schema.org/draft-04/schema#"
TEXT_PROPERTY = "rawMessageBody"
ATTACHMENTS_PROPERTY = "attachments"

# What a seed's schemaOverrides may set, per property of the embedded schema.
OVERRIDABLE_KEYWORDS: Mapping[str, frozenset[str]] = {
    TEXT_PROPERTY: frozenset({"minLength", "maxLength", "title", "description"}),
    ATTACHMENTS_PROPERTY: frozenset({"minItems", "maxItems", "title", "description"}),
}

# Amazon names the invoice action by its operation ("sendInvoice") in _links.actions and in the
# embedded action (spapi-models/fixtures/messaging-getMessagingActionsForOrder.json); every other
# action is named by the last segment of its operation's path.
_NAMED_BY_OPERATION = frozenset({"invoice"})


class OverrideError(ValueError):
    """A schemaOverrides entry that is malformed or would loosen Amazon's rules."""


def link_name(message_type: MessageType) -> str:
    """The action's name in ``_links.actions[].name`` and ``_embedded.actions[].name``."""
    return message_type.operation if message_type.path in _NAMED_BY_OPERATION else message_type.path


@dataclass(frozen=True, slots=True)
class Rules:
    """A message type's rules in force for one order: the catalog's, tightened by the seed's overrides."""

    message_type: MessageType
    text: TextRule | None
    attachments: AttachmentRule | None
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def rules_for(message_type: MessageType, overrides: Mapping[str, Any] | None = None) -> Rules:
    """The rules of ``message_type`` with ``overrides`` (a seed's ``schemaOverrides[type]``) applied.

    Raises :class:`OverrideError` for an override of a property the type does not have, an unknown
    keyword, a limit that is not an integer, or a limit looser than the catalog's.
    """
    overrides = overrides or {}
    checked: dict[str, Mapping[str, Any]] = {}
    for property_name, keywords in overrides.items():
        allowed = OVERRIDABLE_KEYWORDS.get(property_name)
        has_property = (property_name == TEXT_PROPERTY and message_type.text is not None) or (
            property_name == ATTACHMENTS_PROPERTY and message_type.attachments is not None
        )
        if allowed is None or not has_property:
            raise OverrideError(f"{message_type.path} has no property {property_name!r} to override.")
        if not isinstance(keywords, Mapping):
            raise OverrideError(f"the override of {message_type.path}.{property_name} must be an object.")
        unknown = sorted(set(keywords) - allowed)
        if unknown:
            raise OverrideError(
                f"{message_type.path}.{property_name} overrides only {', '.join(sorted(allowed))}; not {unknown}."
            )
        checked[property_name] = dict(keywords)
    return Rules(
        message_type=message_type,
        text=_tightened_text(message_type, checked.get(TEXT_PROPERTY, {})),
        attachments=_tightened_attachments(message_type, checked.get(ATTACHMENTS_PROPERTY, {})),
        overrides=checked,
    )


def _tightened_text(message_type: MessageType, keywords: Mapping[str, Any]) -> TextRule | None:
    rule = message_type.text
    if rule is None:
        return None
    minimum = _limit(keywords, "minLength", rule.min_length, message_type)
    maximum = _limit(keywords, "maxLength", rule.max_length, message_type)
    if minimum < rule.min_length or maximum > rule.max_length or minimum > maximum:
        raise OverrideError(
            f"{message_type.path}.{TEXT_PROPERTY} may only tighten Amazon's {rule.min_length}..{rule.max_length} "
            f"characters, not set {minimum}..{maximum}."
        )
    return TextRule(min_length=minimum, max_length=maximum, required=rule.required)


def _tightened_attachments(message_type: MessageType, keywords: Mapping[str, Any]) -> AttachmentRule | None:
    rule = message_type.attachments
    if rule is None:
        return None
    minimum = _limit(keywords, "minItems", rule.min_count, message_type)
    maximum = _limit(keywords, "maxItems", rule.max_count, message_type)
    if minimum < rule.min_count or maximum > rule.max_count or minimum > maximum:
        raise OverrideError(
            f"{message_type.path}.{ATTACHMENTS_PROPERTY} may only tighten Amazon's {rule.min_count}..{rule.max_count} "
            f"files, not set {minimum}..{maximum}."
        )
    return AttachmentRule(min_count=minimum, max_count=maximum)


def _limit(keywords: Mapping[str, Any], name: str, default: int, message_type: MessageType) -> int:
    value = keywords.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise OverrideError(f"{message_type.path}: {name} must be an integer, not {value!r}.")
    return value


def attachments_description() -> str:
    """The prose Amazon puts in the attachments schema: the file types and the total size."""
    limit = catalog.ATTACHMENTS_TOTAL_BYTES_LIMIT
    size = f"{limit // 1_000_000} MB" if limit % 1_000_000 == 0 else f"{limit:,} bytes"
    types = ", ".join(catalog.ATTACHMENT_CONTENT_TYPES)
    return f"You can upload these file types: {types}. The total size of attachments must be less than {size}."


def embedded_schema(rules: Rules, amazon_order_id: str) -> dict[str, Any]:
    """``_embedded.actions[]._embedded.schema`` for one action of one order."""
    name = link_name(rules.message_type)
    properties: dict[str, Any] = {}
    required: list[str] = []
    if rules.text is not None:
        properties[TEXT_PROPERTY] = {
            "type": "string",
            "title": "Message",
            "description": f"{rules.text.max_length} character limit. Only links related to the order are "
            "allowed, no HTML or email addresses.",
            "x-ui-field-type": "text",
            "minLength": rules.text.min_length,
            "maxLength": rules.text.max_length,
            **_texts(rules.overrides.get(TEXT_PROPERTY, {})),
        }
        if rules.text.required:
            required.append(TEXT_PROPERTY)
    if rules.attachments is not None:
        properties[ATTACHMENTS_PROPERTY] = {
            "type": "array",
            "items": {
                "type": "object",
                "required": [],
                "properties": {"fileName": {"type": "string"}, "id": {"type": "string"}},
            },
            "title": "Add attachment",
            "description": attachments_description(),
            "x-ui-field-type": "attachments",
            "minItems": rules.attachments.min_count,
            "maxItems": rules.attachments.max_count,
            **_texts(rules.overrides.get(ATTACHMENTS_PROPERTY, {})),
        }
        if rules.attachments.min_count > 0:
            required.append(ATTACHMENTS_PROPERTY)
    if rules.message_type.takes_coverage_dates:
        for date_field, title in (("coverageStartDate", "Coverage start"), ("coverageEndDate", "Coverage end")):
            properties[date_field] = {"type": "string", "format": "date-time", "title": title}
    href = f"/messaging/v1/orders/{amazon_order_id}/messages/{name}/schema"
    return {
        "_links": {"self": {"href": href, "name": name}},
        "type": "object",
        "name": name,
        "title": rules.message_type.title,
        "description": rules.message_type.description,
        "disabled": False,
        "disabledReason": None,
        "properties": properties,
        "required": required,
        "$schema": JSON_SCHEMA_DRAFT_04,
        "x-ui-hidden": False,
    }


def _texts(keywords: Mapping[str, Any]) -> dict[str, Any]:
    """The prose keywords of an override (the limits are already in the rule)."""
    return {key: keywords[key] for key in ("title", "description") if key in keywords}


def action_link(message_type: MessageType, amazon_order_id: str, marketplace_id: str) -> dict[str, str]:
    """``_links.actions[]``: where the action is and what it is called."""
    name = link_name(message_type)
    return {
        "href": f"/messaging/v1/orders/{amazon_order_id}/messages/{name}?marketplaceIds={marketplace_id}",
        "name": name,
    }


def embedded_action(rules: Rules, amazon_order_id: str, marketplace_id: str) -> dict[str, Any]:
    """``_embedded.actions[]``: the action's links, its schema, name and title, in the shape Amazon answers
    (name and title on the action, the schema itself in ``_embedded.schema``), not the model's ``payload``
    shape; ``tests/emulator/test_conformance.py`` checks this one deviation from the model explicitly."""
    name = link_name(rules.message_type)
    return {
        "_links": {
            "schema": {"href": f"/messaging/v1/orders/{amazon_order_id}/messages/{name}/schema", "name": name},
            "self": action_link(rules.message_type, amazon_order_id, marketplace_id),
        },
        "_embedded": {"schema": embedded_schema(rules, amazon_order_id)},
        "name": name,
        "title": rules.message_type.title,
    }
