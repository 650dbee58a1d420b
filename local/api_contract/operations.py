"""The OpenAPI document's operations: what each route takes and answers, and its links (api_models and
campaign_models describe the API's routes with these)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

JSON = "application/json"
CSV = "text/csv"
REF_TEMPLATE = "#/components/schemas/{model}"


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    location: str  # path, query or header
    description: str
    required: bool = True
    schema: Callable[[], dict[str, Any]] = lambda: {"type": "string"}


@dataclass(frozen=True, slots=True)
class Link:
    """An OpenAPI link: how an answer's values feed another operation (Schemathesis follows them)."""

    name: str
    operation_id: str
    description: str
    parameters: tuple[tuple[str, str], ...] = ()
    request_body: dict[str, Any] | None = None  # merged into the body the client writes

    def to_dict(self) -> dict[str, Any]:
        link: dict[str, Any] = {"operationId": self.operation_id, "description": self.description}
        if self.parameters:
            link["parameters"] = dict(self.parameters)
        if self.request_body is not None:
            link["requestBody"] = self.request_body
        return link


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str  # OpenAPI's form: /messages/{requestId}
    summary: str
    status: int
    response: type[BaseModel]
    errors: tuple[int, ...]
    parameters: tuple[Parameter, ...] = ()
    request: type[BaseModel] | None = None
    response_headers: tuple[tuple[str, str], ...] = ()
    links: tuple[Link, ...] = ()
    media_type: str = JSON  # of the success answer; errors are always JSON (ErrorOut)
    # Another success an option of the request chooses (POST /campaigns' dryRun): (status, model, description).
    other_successes: tuple[tuple[int, type[BaseModel], str], ...] = ()
