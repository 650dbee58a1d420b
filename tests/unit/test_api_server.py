"""The local stack's API server turns HTTP requests into API Gateway's events as API Gateway does."""

from __future__ import annotations

import base64

from local_stack import api_server
from local_stack.api_server import Route


def test_a_body_that_is_not_utf8_arrives_base64_encoded_whatever_its_content_type() -> None:
    event = api_server.to_event(
        "POST", "/attachments", {"Content-Type": "application/json"}, b'{"fileName": "\xff"}', "127.0.0.1"
    )

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b'{"fileName": "\xff"}'


def test_a_utf8_json_body_arrives_as_text() -> None:
    event = api_server.to_event(
        "POST", "/attachments", {"Content-Type": "application/json"}, '{"fileName": "Müller.pdf"}'.encode(), "::1"
    )

    assert (event["isBase64Encoded"], event["body"]) == (False, '{"fileName": "Müller.pdf"}')


def test_the_routes_are_the_console_apis_in_the_template() -> None:
    assert sorted(api_server.console_routes(), key=lambda route: (route.path, route.method)) == [
        Route("GET", "/"),
        Route("POST", "/attachments"),
        Route("GET", "/campaigns"),
        Route("POST", "/campaigns"),
        Route("GET", "/campaigns/{campaignId}"),
        Route("GET", "/campaigns/{campaignId}/failed-rows"),
        Route("GET", "/campaigns/{campaignId}/report"),
        Route("POST", "/campaigns/{campaignId}/runs"),
        Route("GET", "/console/{name}"),
        Route("GET", "/messages/{requestId}"),
        Route("GET", "/openapi.json"),
        Route("GET", "/orders/{amazonOrderId}/message-types"),
        Route("GET", "/orders/{amazonOrderId}/messages"),
        Route("POST", "/orders/{amazonOrderId}/messages"),
        Route("POST", "/resends"),
    ]


def test_a_path_parameter_matches_one_whole_segment() -> None:
    route = Route("GET", "/orders/{amazonOrderId}/messages")

    assert route.matches("GET", "/orders/123-1234567-1234567/messages")
    assert not route.matches("POST", "/orders/123-1234567-1234567/messages")
    assert not route.matches("GET", "/orders//messages")
    assert not route.matches("GET", "/orders/a/b/messages")
    assert not route.matches("GET", "/orders/a/messages/")
