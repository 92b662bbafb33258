"""A route class every ConnectorHub router uses: input guards that hold for every endpoint.

PostgreSQL refuses NUL characters in text and JSONB, so a NUL anywhere in a request would
otherwise surface as a 500 from deep in the driver. It is refused up front as a malformed
request (422), as is a body larger than any real payload (413).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

MAX_BODY_BYTES = 1024 * 1024
NUL = "\x00"


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _malformed(message: str, status_code: int = 422) -> JSONResponse:
    return JSONResponse(
        {"detail": [{"type": "value_error", "loc": ["request"], "msg": message}]},
        status_code=status_code,
    )


async def _refusal(request: Request) -> JSONResponse | None:
    if NUL in request.scope.get("path", "") or NUL in unquote_plus(
        request.scope.get("query_string", b"").decode("latin-1")
    ):
        return _malformed("the URL may not contain NUL characters")
    if request.method in {"GET", "HEAD", "DELETE", "OPTIONS"}:
        return None
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return _malformed("the request body is too large", 413)
    body = await request.body()  # cached on the request: the handler reads the same bytes
    if len(body) > MAX_BODY_BYTES:
        return _malformed("the request body is too large", 413)
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        try:
            if _has_nul(json.loads(body)):
                return _malformed("strings may not contain NUL characters")
        except (ValueError, RecursionError):
            return None  # FastAPI reports the malformed JSON itself
    elif "x-www-form-urlencoded" in content_type and NUL in unquote_plus(body.decode("latin-1")):
        return _malformed("form fields may not contain NUL characters")
    return None


class GuardedRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            return await _refusal(request) or await handler(request)

        return guarded


def hub_router(**kwargs: Any) -> APIRouter:
    """An APIRouter whose routes carry the input guards."""
    return APIRouter(route_class=GuardedRoute, **kwargs)
