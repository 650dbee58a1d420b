"""The local stack's API server turns HTTP requests into API Gateway's events as API Gateway does."""

from __future__ import annotations

import base64
from typing import Any

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
        Route("GET", "/", public=True),
        Route("POST", "/attachments"),
        Route("GET", "/campaigns"),
        Route("POST", "/campaigns"),
        Route("GET", "/campaigns/{campaignId}"),
        Route("GET", "/campaigns/{campaignId}/failed-rows"),
        Route("GET", "/campaigns/{campaignId}/report"),
        Route("POST", "/campaigns/{campaignId}/runs"),
        Route("GET", "/console/{name}", public=True),
        Route("GET", "/messages/{requestId}"),
        Route("GET", "/openapi.json"),
        Route("GET", "/orders/{amazonOrderId}/message-types"),
        Route("GET", "/orders/{amazonOrderId}/messages"),
        Route("POST", "/orders/{amazonOrderId}/messages"),
        Route("POST", "/resends"),
        Route("GET", "/sellers"),
    ]


def test_a_path_parameter_matches_one_whole_segment() -> None:
    route = Route("GET", "/orders/{amazonOrderId}/messages")

    assert route.matches("GET", "/orders/123-1234567-1234567/messages")
    assert not route.matches("POST", "/orders/123-1234567-1234567/messages")
    assert not route.matches("GET", "/orders//messages")
    assert not route.matches("GET", "/orders/a/b/messages")
    assert not route.matches("GET", "/orders/a/messages/")


def test_claims_reach_the_function_as_api_gateways_jwt_authorizer_hands_them() -> None:
    claims = {"sub": "u-1", "cognito:groups": ["seller-A2EXAMPLESELLER", "seller-A3OTHERSELLER"], "exp": 17, "ok": True}
    assert api_server.authorizer_claims(claims) == {
        "sub": "u-1",
        "cognito:groups": "[seller-A2EXAMPLESELLER seller-A3OTHERSELLER]",
        "exp": "17",
        "ok": "true",
    }


def test_a_signed_in_users_token_is_checked_on_console_routes_only() -> None:
    from local_stack.cognito_standin import UserPool

    pool = UserPool()
    pool.create_confirmed_user("ana@example.com", "Correct-Horse-9")
    pool.create_group("seller-A2EXAMPLESELLER")
    pool.add_user_to_group("ana@example.com", "seller-A2EXAMPLESELLER")
    token = pool.tokens_for("ana@example.com")["AuthenticationResult"]["IdToken"]

    def event(authorization: str | None) -> dict[str, Any]:
        headers = {"Authorization": authorization} if authorization else {}
        return api_server.to_event("GET", "/sellers", headers, b"", "127.0.0.1")

    console, public, iam = Route("GET", "/sellers"), Route("GET", "/", public=True), Route("GET", "/sellers", iam=True)
    signed_in = api_server.authorize(event(f"Bearer {token}"), console, pool.verify)
    assert signed_in["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"] == "[seller-A2EXAMPLESELLER]"
    assert signed_in["requestContext"]["authorizer"]["jwt"]["scopes"] is None
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert api_server.authorize(event(f"Bearer {tampered}"), console, pool.verify) == api_server.UNAUTHORIZED
    assert api_server.authorize(event(f"Bearer {token}"), iam, pool.verify) == api_server.FORBIDDEN
    assert "authorizer" not in api_server.authorize(event(f"Bearer {token}"), public, pool.verify)["requestContext"]
    # Without a token the local caller is the operator, as on the IAM API.
    assert "authorizer" not in api_server.authorize(event(None), console, pool.verify)["requestContext"]
