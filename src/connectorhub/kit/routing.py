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


def _unstorable(text: str) -> bool:
    """NUL, or an unpaired surrogate: PostgreSQL stores neither in text or JSONB."""
    if NUL in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return _unstorable(value)
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
    # Count while reading, so a chunked body without Content-Length cannot grow without bound.
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return _malformed("the request body is too large", 413)
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # Starlette's cache: the handler reads these same bytes
    content_type = request.headers.get("content-type", "").lower()
    if "json" in content_type:
        try:
            if _has_nul(json.loads(body)):
                return _malformed("strings may not contain NUL characters or unpaired surrogates")
        except RecursionError:
            return _malformed("the JSON body is nested too deeply")
        except ValueError:
            return None  # FastAPI reports the malformed JSON itself
    elif "x-www-form-urlencoded" in content_type:
        if _unstorable(
            unquote_plus(body.decode("utf-8", "surrogateescape"), errors="surrogateescape")
        ):
            return _malformed("form fields may not contain NUL characters")
    elif b"\x00" in body or "%00" in body.decode("latin-1"):
        return _malformed("the request body may not contain NUL characters")
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
