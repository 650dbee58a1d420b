"""What every SP-API call must get right: token, User-Agent, marketplaceIds, the order, headers, errors."""

from __future__ import annotations

import http.client
import uuid
from urllib.parse import urlsplit

import pytest

from tests.emulator.conftest import GERMAN_ORDER, SANDBOX_ORDER, US, USER_AGENT, Api, error_codes

DENIED = "Access to requested resource is denied."


def test_missing_access_token_is_403_unauthorized(api: Api) -> None:
    response = api.get_actions(headers={"x-amz-access-token": None})

    assert response.status_code == 403
    # As quoted in saleweaver/python-amazon-sp-api#58.
    assert response.json() == {
        "errors": [
            {"code": "Unauthorized", "message": DENIED, "details": "Access token is missing in the request header."}
        ]
    }
    assert "x-amzn-RateLimit-Limit" not in response.headers


def test_unknown_access_token_is_403_revoked_malformed_or_invalid(api: Api) -> None:
    response = api.get_actions(headers={"x-amz-access-token": "Atza|made-up"})

    assert response.status_code == 403
    # As quoted in amzn/selling-partner-api-models#2333.
    assert response.json() == {
        "errors": [
            {
                "code": "Unauthorized",
                "message": DENIED,
                "details": "The access token you provided is revoked, malformed or invalid.",
            }
        ]
    }


def test_bearer_authorization_header_is_not_the_access_token(api: Api) -> None:
    response = api.get_actions(headers={"x-amz-access-token": None, "Authorization": f"Bearer {api.token()}"})

    assert response.status_code == 403


def test_missing_user_agent_is_accepted_and_noted(api: Api) -> None:
    # Amazon asks for a User-Agent but answers without one (jrl84/amazon-sp-api#92).
    # requests always sends a User-Agent; http.client sends none unless told.
    parts = urlsplit(api.base_url)
    connection = http.client.HTTPConnection(str(parts.hostname), parts.port, timeout=5)
    try:
        connection.request(
            "GET",
            f"/messaging/v1/orders/{SANDBOX_ORDER}?marketplaceIds={US}",
            headers={"x-amz-access-token": api.token()},
        )
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()

    assert response.status == 200
    [call] = api.emulator.calls("getMessagingActionsForOrder")
    assert call["notes"] == ["No User-Agent header; Amazon asks for one but accepts the call."]


@pytest.mark.parametrize(
    "user_agent",
    [
        "amazon-selling-partner-api-sdk/1.13.0/python",  # Amazon's own Python SDK
        "python-sp-api-2.1.35",  # python-amazon-sp-api
        "python-requests/2.32.3",
        "App/1.0",
        "App/1.0 (Language=Python)",
    ],
)
def test_user_agent_not_of_the_recommended_form_is_accepted_and_noted(api: Api, user_agent: str) -> None:
    response = api.get_actions(headers={"User-Agent": user_agent})

    assert response.status_code == 200
    [call] = api.emulator.calls("getMessagingActionsForOrder")
    assert call["notes"] == [
        f"User-Agent {user_agent!r} is not of Amazon's recommended form AppName/Version (Language=Name/Version); "
        "Amazon accepts it."
    ]


@pytest.mark.parametrize(
    "user_agent",
    [USER_AGENT, "MyApp/2.3.1 (Language=Java/17.0.2; Platform=Linux)", "seller-tool/1.0 (Language=Python/3.13.1)"],
)
def test_documented_user_agents_are_accepted_without_a_note(api: Api, user_agent: str) -> None:
    assert api.get_actions(headers={"User-Agent": user_agent}).status_code == 200
    assert [call["notes"] for call in api.emulator.calls("getMessagingActionsForOrder")] == [[]]


def test_query_parameters_the_model_does_not_list_are_ignored_and_noted(api: Api) -> None:
    response = api.session.get(
        f"{api.base_url}/messaging/v1/orders/{SANDBOX_ORDER}",
        params={"marketplaceIds": US, "MarketplaceId": US, "marketplace_ids": US},
        headers=api.headers(),
    )

    assert response.status_code == 200
    [call] = api.emulator.calls("getMessagingActionsForOrder")
    assert call["notes"] == ["Query parameters not in the model: MarketplaceId, marketplace_ids; ignored."]


def test_missing_marketplace_ids_is_400(api: Api) -> None:
    response = api.get_actions(marketplace=None)

    assert response.status_code == 400
    assert error_codes(response) == ["InvalidInput"]
    assert "marketplaceIds" in response.json()["errors"][0]["message"]


def test_empty_marketplace_ids_is_400(api: Api) -> None:
    response = api.get_actions(marketplace="")

    assert response.status_code == 400
    assert error_codes(response) == ["InvalidInput"]


def test_two_marketplace_ids_are_400(api: Api) -> None:
    response = api.session.get(
        f"{api.base_url}/messaging/v1/orders/{SANDBOX_ORDER}",
        params=[("marketplaceIds", US), ("marketplaceIds", "A2EUQ1WTGCTBG2")],
        headers=api.headers(),
    )

    assert response.status_code == 400
    assert error_codes(response) == ["InvalidInput"]


def test_comma_separated_marketplace_ids_are_two_and_400(api: Api) -> None:
    response = api.get_actions(marketplace=f"{US},A2EUQ1WTGCTBG2")

    assert response.status_code == 400
    assert error_codes(response) == ["InvalidInput"]


def test_malformed_marketplace_id_is_400(api: Api) -> None:
    assert api.get_actions(marketplace="amazon.com").status_code == 400


def test_marketplace_must_be_the_orders(api: Api) -> None:
    response = api.get_actions(order=GERMAN_ORDER, marketplace=US)

    assert response.status_code == 400
    assert error_codes(response) == ["InvalidInput"]
    assert f"not placed in marketplace {US}" in response.json()["errors"][0]["message"]


def test_unknown_order_is_404_not_found(api: Api) -> None:
    response = api.get_actions(order="123-1234567-0000000")

    assert response.status_code == 404
    assert error_codes(response) == ["NotFound"]


def test_malformed_order_id_is_400(api: Api) -> None:
    response = api.get_actions(order="badOrderId")

    assert response.status_code == 400
    assert error_codes(response) == ["InvalidInput"]


def test_error_bodies_have_code_message_and_details(api: Api) -> None:
    for response in (api.get_actions(marketplace=None), api.get_actions(order="123-1234567-0000000")):
        errors = response.json()["errors"]
        assert errors
        for error in errors:
            assert set(error) == {"code", "message", "details"}
            assert all(isinstance(value, str) for value in error.values())
        assert response.headers["Content-Type"].startswith("application/json")


def test_every_answer_has_a_uuid_request_id(api: Api) -> None:
    answers = [
        api.get_actions(),
        api.get_actions(marketplace=None),
        api.get_actions(headers={"x-amz-access-token": None}),
        api.get_actions(order="123-1234567-0000000"),
        api.session.post(api.emulator.token_url, data=api.token_form()),
    ]
    request_ids = [response.headers["x-amzn-RequestId"] for response in answers]

    for request_id in request_ids:
        uuid.UUID(request_id)
    assert len(set(request_ids)) == len(request_ids)


def test_success_carries_the_operations_rate_limit(api: Api) -> None:
    actions = api.get_actions()
    destination = api.create_destination("invoice")

    assert actions.headers["x-amzn-RateLimit-Limit"] == "1.0"
    assert destination.status_code == 201
    assert destination.headers["x-amzn-RateLimit-Limit"] == "10.0"


def test_hal_json_for_messaging_and_json_for_uploads(api: Api) -> None:
    assert api.get_actions().headers["Content-Type"] == "application/hal+json"
    assert api.create_destination("invoice").headers["Content-Type"] == "application/json"


def test_unknown_path_is_404_and_wrong_method_405(api: Api) -> None:
    unknown = api.session.post(
        f"{api.base_url}/messaging/v1/orders/{SANDBOX_ORDER}/messages/negativeFeedbackRemoval",
        params={"marketplaceIds": US},
        json={},
        headers=api.headers(),
    )
    wrong_method = api.session.delete(
        f"{api.base_url}/messaging/v1/orders/{SANDBOX_ORDER}", params={"marketplaceIds": US}, headers=api.headers()
    )

    assert unknown.status_code == 404
    assert error_codes(unknown) == ["NotFound"]
    assert wrong_method.status_code == 405
    assert api.emulator.calls()[-1]["operation"] == "unknown"


def test_a_failing_handler_answers_500_internal_failure(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(call: object) -> None:
        raise RuntimeError("bug")

    gateway = api.emulator._app._gateway  # the handler table, to plant a bug
    monkeypatch.setitem(gateway._handlers, "GetAttributes", broken)

    response = api.get_attributes()
    after = api.get_actions()

    assert response.status_code == 500
    assert error_codes(response) == ["InternalFailure"]
    uuid.UUID(response.headers["x-amzn-RequestId"])
    assert after.status_code == 200  # the server goes on serving


def test_calls_are_logged_with_operation_and_status(api: Api) -> None:
    api.get_actions()
    api.get_attributes(marketplace="A1PA6795UKMFR9")

    calls = api.emulator.calls()

    assert [(c["operation"], c["status"]) for c in calls] == [
        ("lwaToken", 200),
        ("getMessagingActionsForOrder", 200),
        ("GetAttributes", 400),
    ]
    assert api.emulator.calls("GetAttributes")[0]["path"] == f"/messaging/v1/orders/{SANDBOX_ORDER}/attributes"
