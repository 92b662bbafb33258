"""Every status an API operation can answer, in the OpenAPI document, derived from the route.

FastAPI documents what a route declares; the statuses that come from what a route is built of
are added here, once, for every ConnectorHub route (GuardedRoute):

- the errors its dependencies declare with `exceptions.raises` (401 from the token, 403 from a
  role above viewer), with their default message;
- 404 when it has a path parameter (the object it names may not exist, or be another
  workspace's);
- 422 when it takes parameters or a body, and 413 when it takes a body (the route guard);
- every 4xx a route declares by hand gets the project's error shape as its content.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.constants import REF_PREFIX
from fastapi.openapi.utils import validation_error_definition, validation_error_response_definition
from fastapi.routing import RouteContext, iter_route_contexts
from starlette.routing import BaseRoute

from connectorhub.exceptions import NotFound
from connectorhub.kit.routing import MAX_BODY_BYTES, GuardedRoute

ERROR = {
    "title": "Error",
    "type": "object",
    "properties": {"detail": {"title": "Detail", "type": "string"}},
    "required": ["detail"],
}
ERROR_MAP = {
    "title": "ErrorMap",
    "type": "object",
    "description": 'A refusal; schema-invalid input names each field: `{"errors": {path: [...]}}`.',
    "properties": {
        "detail": {"title": "Detail", "type": "string"},
        "errors": {
            "title": "Errors",
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["detail"],
}
SCHEMAS = {
    "Error": ERROR,
    "ErrorMap": ERROR_MAP,
    "ValidationError": validation_error_definition,
    "HTTPValidationError": validation_error_response_definition,
}
# The body of each status: the error map for 400, FastAPI's shape for what the guard and
# validation refuse, `{"detail": message}` for the rest (exceptions.hub_error_handler).
SHAPE = {400: "ErrorMap", 413: "HTTPValidationError", 422: "HTTPValidationError"}


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def route_statuses(route: RouteContext | GuardedRoute) -> dict[int, str]:
    """Status → description for what `route` answers because of what it is built of."""
    statuses: dict[int, str] = {}
    parts = list(_walk(route.dependant))
    for part in parts:
        for error in getattr(part.call, "hub_errors", ()):
            statuses.setdefault(error.status_code, error.default_message)
    if any(part.path_params for part in parts):
        statuses[404] = NotFound.default_message
    has_body = route.body_field is not None
    if has_body or any(part.query_params or part.header_params or part.path_params
                       or part.cookie_params for part in parts):  # fmt: skip
        statuses[422] = "Malformed request (a NUL character, a value of the wrong type)"
    if has_body:
        statuses[413] = f"The request body is over {MAX_BODY_BYTES // (1024 * 1024)} MiB"
    return statuses


def document_statuses(schema: dict[str, Any], routes: list[BaseRoute]) -> dict[str, Any]:
    """Add to `schema` (in place) the statuses of each ConnectorHub route; returns it."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in SCHEMAS.items():
        components.setdefault(name, definition)
    # Included routers are expanded lazily (FastAPI ≥ 0.16x): walk the routes as get_openapi does.
    for route in iter_route_contexts(routes):
        if not isinstance(route.original_route, GuardedRoute) or not route.include_in_schema:
            continue
        operations = schema.get("paths", {}).get(route.path_format, {})
        for method in route.methods:
            operation = operations.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in route_statuses(route).items():
                responses.setdefault(str(status), {"description": description})
            for status, response in responses.items():
                if not status.startswith("4"):
                    continue
                shape = SHAPE.get(int(status), "Error")
                response.setdefault(
                    "content", {"application/json": {"schema": {"$ref": REF_PREFIX + shape}}}
                )
            operation["responses"] = dict(sorted(responses.items()))
    return schema


def install_openapi_statuses(app: FastAPI) -> None:
    """Have `app`'s OpenAPI document list every status its ConnectorHub routes answer."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        return document_statuses(build(), app.routes)

    app.openapi = openapi  # type: ignore[method-assign]
