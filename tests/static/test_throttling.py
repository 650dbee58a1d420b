"""Throttling of both HTTP APIs and the API function's reserved concurrency (issue 14, item 1), read from the
SAM-translated template: the stages and routes as CloudFormation deploys them.

Without them a flood of unauthenticated requests to the console's public routes invoked the API function at any
rate, on the account's shared Lambda concurrency, and starved the workflow's own functions.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.test_console_files import console_route_fetches

pytestmark = pytest.mark.static

APIS = ("MachineApi", "ConsoleApi")
# The console's static files and the OAuth routes a seller's browser opens (OnboardSellerFunction): the only
# routes without an authorizer.
PUBLIC_ROUTES = {"GET /", "GET /console/{name}", "GET /oauth/authorize", "GET /oauth/callback"}
# The functions behind the HTTP APIs.
API_FUNCTIONS = ("ApiFunction", "OnboardSellerFunction")
LIMITS = ("ThrottlingRateLimit", "ThrottlingBurstLimit")


def parameter_default(template: dict[str, Any], value: Any) -> float:
    """A limit's value as deployed with the defaults (a Ref of a parameter, or a number)."""
    if isinstance(value, dict):
        parameter = template["Parameters"][value["Ref"]]
        assert parameter["Type"] == "Number", value
        return float(parameter["Default"])
    return float(value)


def routes(transformed: dict[str, Any], api: str) -> dict[str, list[str]]:
    """Every route of the API ("GET /path") and its authorizers, from the OpenAPI body SAM generates."""
    paths = transformed[api]["Properties"]["Body"]["paths"]
    found = {}
    for path, methods in paths.items():
        for method, operation in methods.items():
            authorizers = [name for requirement in operation.get("security", []) for name in requirement]
            found[f"{method.upper()} {path}"] = authorizers
    return found


def stage_of(transformed: dict[str, Any], api: str) -> dict[str, Any]:
    (stage,) = [
        resource["Properties"]
        for resource in transformed.values()
        if resource["Type"] == "AWS::ApiGatewayV2::Stage" and resource["Properties"]["ApiId"] == {"Ref": api}
    ]
    return stage


def effective_limits(template: dict[str, Any], stage: dict[str, Any], route: str) -> dict[str, float]:
    """What API Gateway applies to the route: its own settings, else the stage's default route settings."""
    settings = {**stage.get("DefaultRouteSettings", {}), **stage.get("RouteSettings", {}).get(route, {})}
    return {limit: parameter_default(template, settings[limit]) for limit in LIMITS if limit in settings}


@pytest.mark.parametrize("api", APIS)
def test_every_route_of_both_apis_is_throttled(template: dict[str, Any], transformed: dict[str, Any], api: str) -> None:
    stage = stage_of(transformed, api)
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
    }
    found = routes(transformed, api)
    events = [
        event
        for function in API_FUNCTIONS
        for event in template["Resources"][function]["Properties"]["Events"].values()
        if event["Type"] == "HttpApi"
    ]
    assert set(found) == {
        f"{event['Properties']['Method']} {event['Properties']['Path']}"
        for event in events
        if event["Properties"]["ApiId"] == {"Ref": api}
    }
    for route in found:
        limits = effective_limits(template, stage, route)
        assert set(limits) == set(LIMITS), route
        assert all(value > 0 for value in limits.values()), (route, limits)
    # Route settings for a route the API does not have would fail the deployment.
    assert set(stage.get("RouteSettings", {})) <= set(found)


def test_the_public_routes_are_the_unauthenticated_ones_and_are_throttled_lower(
    template: dict[str, Any], transformed: dict[str, Any]
) -> None:
    for api in APIS:
        unauthenticated = {route for route, authorizers in routes(transformed, api).items() if authorizers == ["NONE"]}
        assert unauthenticated == (PUBLIC_ROUTES if api == "ConsoleApi" else set()), api
    stage = stage_of(transformed, "ConsoleApi")
    assert set(stage["RouteSettings"]) == PUBLIC_ROUTES
    default = effective_limits(template, stage, "GET /openapi.json")
    assert default == {"ThrottlingRateLimit": 10.0, "ThrottlingBurstLimit": 45.0}
    for route in PUBLIC_ROUTES:
        public = effective_limits(template, stage, route)
        assert public == {"ThrottlingRateLimit": 7.0, "ThrottlingBurstLimit": 42.0}, route
        assert all(public[limit] < default[limit] for limit in LIMITS), route
        # A page load fetches its files from GET /console/{name} at once: three people opening the console
        # together are never throttled, and the bucket holds the next page load again within two seconds.
        assert public["ThrottlingBurstLimit"] >= 3 * len(console_route_fetches())
        assert public["ThrottlingRateLimit"] * 2 >= len(console_route_fetches())


def test_the_api_function_has_reserved_concurrency(template: dict[str, Any], transformed: dict[str, Any]) -> None:
    reserved = transformed["ApiFunction"]["Properties"]["ReservedConcurrentExecutions"]
    # 0 would stop the function altogether: an operator's 0 means "reserve none" instead.
    assert reserved == {
        "Fn::If": ["ApiConcurrencyReserved", {"Ref": "ApiReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }
    assert template["Conditions"]["ApiConcurrencyReserved"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ApiReservedConcurrency"}, 0]}]
    }
    parameter = template["Parameters"]["ApiReservedConcurrency"]
    assert (parameter["Type"], parameter["Default"], parameter["MinValue"]) == ("Number", 10, 0)
    # Lambda keeps 100 of the account's executions unreserved: the reason for the default is stated.
    assert "fewer than 100 of the account's executions unreserved" in " ".join(parameter["Description"].split())
    # The reservation is the API's ceiling at its default rate: about a second per request.
    assert parameter["Default"] == template["Parameters"]["ApiThrottlingRateLimit"]["Default"]
    # The workflow's own functions reserve nothing: they draw on what the API cannot take from them.
    others = [
        logical_id
        for logical_id, resource in transformed.items()
        if resource["Type"] == "AWS::Lambda::Function" and "ReservedConcurrentExecutions" in resource["Properties"]
    ]
    assert others == ["ApiFunction"]


# Each API's one authorizer (issue 14, "Build": every route's authorizer).
AUTHORIZERS = {"MachineApi": "AWS_IAM", "ConsoleApi": "ConsoleUsers"}


@pytest.mark.parametrize("api", APIS)
def test_every_route_has_its_apis_authorizer_but_the_public_ones(transformed: dict[str, Any], api: str) -> None:
    """A route without a security requirement would be as open as a NONE one without saying so: every route names
    the API's authorizer, the console's public routes (its static files, the OAuth routes) NONE, and nothing else."""
    found = routes(transformed, api)
    public = PUBLIC_ROUTES if api == "ConsoleApi" else set()
    assert {route: authorizers for route, authorizers in found.items() if route not in public} == {
        route: [AUTHORIZERS[api]] for route in found if route not in public
    }
    assert {route: found[route] for route in public} == {route: ["NONE"] for route in public}
    schemes = transformed[api]["Properties"]["Body"]["components"]["securitySchemes"]
    assert set(schemes) == {AUTHORIZERS[api]}
    if api == "MachineApi":
        assert schemes["AWS_IAM"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    else:
        authorizer = schemes["ConsoleUsers"]["x-amazon-apigateway-authorizer"]
        assert authorizer["type"] == "jwt"
        assert authorizer["jwtConfiguration"]["audience"] == [{"Ref": "ConsoleUserPoolClient"}]
        assert authorizer["jwtConfiguration"]["issuer"] == {
            "Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${ConsoleUserPool}"
        }
