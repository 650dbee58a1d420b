"""The private internals of moto, Powertools, botocore and python-amazon-sp-api that the local stack, the package
and the tests reach into, each as it was when that code was written: a test here fails, with what moved, before
the code that relies on it misbehaves quietly. The versions checked against are those of constraints-dev.txt when
each was written; on a newer version, read the new code and update both the code and the check."""

from __future__ import annotations

import inspect
import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
from aws_lambda_powertools.shared import constants
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice
from botocore.client import BaseClient
from moto.awslambda.models import LambdaFunction
from moto.core.config import default_user_config
from moto.core.responses import BaseResponse
from moto.dynamodb.responses import DynamoHandler
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from sp_api.auth import AccessTokenClient
from sp_api.auth import access_token_client as sp_api_token_cache
from sp_api.base import Client as SpApiClient
from sp_api.base import _core as sp_api_core

from local_stack import asl_parser, containers, distributed_map, task_time

MOTO = "5.2.5"
POWERTOOLS = "3.37.0"
BOTOCORE = "1.44.8"
SP_API = "2.1.35"  # python-amazon-sp-api, package sp_api


def _parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


def _moved(library: str, version: str, what: str, user: str) -> str:
    return f"{library} changed {what} since {version}, which {user} relies on: read the new code and follow it."


# --- moto ---------------------------------------------------------------------------------------------------------


def test_moto_runs_a_lambda_function_through_invoke_lambda() -> None:
    where = "LambdaFunction._invoke_lambda(self, event) -> (payload, errored, logs)"
    assert _parameters(LambdaFunction._invoke_lambda) == ["self", "event"], _moved(
        "moto", MOTO, where, "local_stack.lambdas"
    )
    assert inspect.signature(LambdaFunction._invoke_lambda).return_annotation == "tuple[str, bool, str]", _moved(
        "moto", MOTO, where, "local_stack.lambdas"
    )
    assert "self._invoke_lambda(event=body)" in inspect.getsource(LambdaFunction.invoke), _moved(
        "moto", MOTO, "LambdaFunction.invoke (no longer calls _invoke_lambda)", "local_stack.lambdas"
    )


def test_moto_answers_every_dynamodb_request_in_call_action() -> None:
    assert _parameters(DynamoHandler.call_action) == ["self"], _moved(
        "moto", MOTO, "DynamoHandler.call_action(self)", "local_stack.atomic_dynamodb"
    )
    assert "return self.call_action()" in inspect.getsource(BaseResponse), _moved(
        "moto", MOTO, "BaseResponse's dispatch (no longer through call_action)", "local_stack.atomic_dynamodb"
    )


def test_moto_times_a_task_and_a_wait_state_as_task_time_replaces_them() -> None:
    # task_time checks the whole source of both when it installs; here before any stack runs, with its message.
    task_time._checked(ExecutionState._evaluate_with_timeout, task_time._EVALUATE_WITH_TIMEOUT_SHA256)
    task_time._checked(WaitFunction._wait_interval, task_time._WAIT_INTERVAL_SHA256)
    assert task_time.CHECKED_MOTO == MOTO


def test_moto_leaves_the_step_functions_integration_and_the_result_writer_as_distributed_map_completes_them() -> None:
    # distributed_map checks these sources when it installs; here before any stack runs, naming the one that moved.
    moved = [
        name
        for name, (function, expected) in distributed_map.ORIGINALS.items()
        if distributed_map.source_digest(function) != expected
    ]
    assert moved == [], f"moto's {moved} changed: read local_stack/distributed_map.py again"
    assert distributed_map.CHECKED_MOTO == MOTO


def test_moto_sleeps_a_retry_interval_with_the_time_module_of_retrier_decl() -> None:
    assert vars(retrier_decl).get("time") is time, _moved(
        "moto", MOTO, "retrier_decl's module global time", "LocalStack._scale_time"
    )
    assert "time.sleep(" in inspect.getsource(retrier_decl), _moved(
        "moto", MOTO, "the Retry's wait (no longer time.sleep in retrier_decl)", "LocalStack._scale_time"
    )


def test_moto_reads_whether_to_execute_state_machines_from_its_default_user_config() -> None:
    assert isinstance(default_user_config.get("stepfunctions", {}).get("execute_state_machine"), bool), _moved(
        "moto", MOTO, 'default_user_config["stepfunctions"]["execute_state_machine"]', "local_stack.serve"
    )


# --- botocore -----------------------------------------------------------------------------------------------------


def test_botocore_makes_every_client_call_through_make_api_call() -> None:
    assert _parameters(BaseClient._make_api_call) == ["self", "operation_name", "api_params"], _moved(
        "botocore",
        BOTOCORE,
        "BaseClient._make_api_call(self, operation_name, api_params)",
        "tests/recorded_calls.py and the X-Ray patch probe of tests/unit/test_cold_start_imports.py",
    )


# --- Powertools ---------------------------------------------------------------------------------------------------


def test_powertools_logger_keeps_its_keys_in_the_formatters_log_format() -> None:
    formatter = Logger(service="internals").registered_formatter
    assert isinstance(vars(formatter).get("log_format"), dict), _moved(
        "aws-lambda-powertools", POWERTOOLS, "the Logger formatter's log_format dict", "local_stack.containers"
    )
    assert containers.CHECKED_POWERTOOLS_VERSION == POWERTOOLS


def test_powertools_metrics_delegate_to_a_cloudwatch_emf_provider() -> None:
    metrics = Metrics(namespace="Internals", service="internals")
    assert isinstance(metrics.provider, AmazonCloudWatchEMFProvider), _moved(
        "aws-lambda-powertools", POWERTOOLS, "Metrics.provider", "local_stack.containers"
    )
    for name in ("namespace", "service", "default_dimensions", "function_name"):
        assert hasattr(metrics.provider, name), _moved(
            "aws-lambda-powertools", POWERTOOLS, f"AmazonCloudWatchEMFProvider.{name}", "local_stack.containers"
        )
    assert "self.provider.add_metric(" in inspect.getsource(Metrics.add_metric), _moved(
        "aws-lambda-powertools", POWERTOOLS, "Metrics.add_metric (no longer the provider's)", "local_stack.containers"
    )


def test_powertools_decides_whether_to_trace_as_observability_mirrors_it() -> None:
    user = "buyer_messaging.observability.tracing_enabled"
    names = {
        "TRACER_DISABLED_ENV": "POWERTOOLS_TRACE_DISABLED",
        "LAMBDA_TASK_ROOT_ENV": "LAMBDA_TASK_ROOT",
        "SAM_LOCAL_ENV": "AWS_SAM_LOCAL",
        "CHALICE_LOCAL_ENV": "AWS_CHALICE_CLI_MODE",
    }
    for constant, variable in names.items():
        assert getattr(constants, constant, None) == variable, _moved(
            "aws-lambda-powertools", POWERTOOLS, f"shared.constants.{constant}", user
        )
    assert _parameters(resolve_truthy_env_var_choice) == ["env", "choice"], _moved(
        "aws-lambda-powertools", POWERTOOLS, "shared.functions.resolve_truthy_env_var_choice(env, choice)", user
    )
    assert _parameters(Tracer._is_tracer_disabled) == [], _moved(
        "aws-lambda-powertools", POWERTOOLS, "Tracer._is_tracer_disabled()", "tests/unit/test_cold_start_imports.py"
    )


def test_powertools_resolver_keeps_its_routes_in_static_and_dynamic_lists() -> None:
    resolver = APIGatewayHttpResolver()

    @resolver.get("/fixed")
    def fixed() -> dict[str, str]:
        return {}

    @resolver.get("/items/<item>")
    def item(item: str) -> dict[str, str]:
        return {}

    routes = getattr(resolver, "_static_routes", None), getattr(resolver, "_dynamic_routes", None)
    assert all(isinstance(found, list) for found in routes), _moved(
        "aws-lambda-powertools", POWERTOOLS, "the resolver's _static_routes and _dynamic_routes", "test_api_contract"
    )
    static, dynamic = routes
    assert [(route.method, route.openapi_path) for route in [*static, *dynamic]] == [
        ("GET", "/fixed"),
        ("GET", "/items/{item}"),
    ], _moved("aws-lambda-powertools", POWERTOOLS, "Route.method and Route.openapi_path", "test_api_contract")


# --- python-amazon-sp-api -----------------------------------------------------------------------------------------
# tests/emulator/test_third_party_clients.py points the library at the emulator as its users point it at a test
# endpoint; each thing it reaches that the library does not document is checked here.


def test_sp_api_builds_the_lwa_url_from_its_token_clients_class_attributes() -> None:
    """The test's token client is a subclass with the emulator's ``scheme`` and ``host``."""
    source = inspect.getsource(AccessTokenClient.get_auth)
    assert "request_url = self.scheme + self.host + self.path" in source, _moved(
        "python-amazon-sp-api", SP_API, "AccessTokenClient.get_auth's LWA URL (scheme + host + path)", "the test"
    )
    assert (AccessTokenClient.scheme, AccessTokenClient.host, AccessTokenClient.path) == (
        "https://",
        "api.amazon.com",
        "/auth/o2/token",
    ), _moved("python-amazon-sp-api", SP_API, "AccessTokenClient's scheme, host and path", "the test")


def test_sp_api_caches_access_tokens_in_its_module_cache() -> None:
    """The test clears ``access_token_client.cache`` around each test: each emulator issues new tokens."""
    assert hasattr(sp_api_token_cache.cache, "clear"), _moved(
        "python-amazon-sp-api", SP_API, "access_token_client.cache", "the test's fixture"
    )
    assert "cache[cache_key] = access_token" in inspect.getsource(AccessTokenClient.get_auth), _moved(
        "python-amazon-sp-api", SP_API, "where AccessTokenClient.get_auth caches a token", "the test's fixture"
    )


def test_sp_api_clients_call_their_endpoint_attribute_through_request() -> None:
    """The test sets ``client.endpoint`` to the emulator and calls ``Upload._request(path, params=...)`` with
    ``params["method"]`` (``upload_document`` encodes the digest twice)."""
    assert _parameters(SpApiClient._request)[:3] == ["self", "path", "data"], _moved(
        "python-amazon-sp-api", SP_API, "Client._request(self, path, *, data, params, ...)", "the test"
    )
    assert "params" in _parameters(SpApiClient._request)
    source = inspect.getsource(SpApiClient._request)
    assert "endpoint=self.endpoint" in source and "resolve_method(params, data)" in source, _moved(
        "python-amazon-sp-api", SP_API, "Client._request's endpoint and method", "the test"
    )
    assert sp_api_core.resolve_method({"method": "POST", "a": "b"}, None) == ("POST", {"a": "b"}, {}), _moved(
        "python-amazon-sp-api", SP_API, "resolve_method (params['method'])", "the test"
    )


def test_moto_keeps_the_asl_parsers_scopes_in_a_class_attribute_that_asl_parser_gives_each_parse() -> None:
    assert isinstance(vars(Preprocessor).get(asl_parser.SHARED_ATTRIBUTE), list), _moved(
        "moto",
        MOTO,
        f"Preprocessor.{asl_parser.SHARED_ATTRIBUTE} (no longer a class-level list)",
        "local_stack.asl_parser",
    )
    assert asl_parser.CHECKED_MOTO == MOTO
