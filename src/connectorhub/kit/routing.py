"""A route class every ConnectorHub router uses: input guards that hold for every endpoint.

PostgreSQL refuses NUL characters in text and JSONB, so a NUL anywhere in a request would
otherwise surface as a 500 from deep in the driver. It is refused up front as a malformed
request (422), as is a body larger than any real payload (413).

A JSON body is parsed here, once, strictly, and the handler gets that same value: it must be
UTF-8 (RFC 8259), and `NaN`, `Infinity` or a number beyond a float (`1e999`) are refused (422)
rather than stored as `null`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Request, Response, params
from fastapi.datastructures import DefaultPlaceholder
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


class _Unrepresentable(ValueError):
    """Valid JSON syntax for Python's parser, but no JSON value a client could mean."""


def _no_constant(name: str) -> Any:
    raise _Unrepresentable(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _Unrepresentable(f"{text[:40]} is beyond the range of a number")
    return value


def strict_json(body: bytes) -> Any:
    """The JSON value of `body`. Raises UnicodeDecodeError unless it is UTF-8,
    json.JSONDecodeError on bad syntax, and ValueError for NaN, Infinity, numbers past a float,
    and integers of more digits than Python converts."""
    return json.loads(body.decode("utf-8"), parse_constant=_no_constant, parse_float=_finite)


def _parsed_as_json(content_type: str, *, untyped: bool) -> bool:
    """Whether FastAPI reads a body of this type as JSON (a body with no type when `untyped`)."""
    media = content_type.split(";", 1)[0].strip()
    if not media:
        return untyped
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _json_refusal(request: Request, body: bytes) -> JSONResponse | None:
    try:
        value = strict_json(body)
    except UnicodeDecodeError:
        return _malformed("the JSON body is not UTF-8")
    except RecursionError:
        return _malformed("the JSON body is nested too deeply")
    except json.JSONDecodeError as exc:
        return JSONResponse(
            {
                "detail": [
                    {"type": "json_invalid", "loc": ["body", exc.pos], "msg": "JSON decode error"}
                ]
            },
            status_code=422,
        )
    except ValueError as exc:  # _Unrepresentable, or an integer of too many digits
        return _malformed(str(exc) if isinstance(exc, _Unrepresentable) else "a number is too long")
    if _has_nul(value):
        return _malformed("strings may not contain NUL characters or unpaired surrogates")
    request._json = value  # Starlette's cache: FastAPI validates this value, not a second parse
    return None


def _malformed(message: str, status_code: int = 422) -> JSONResponse:
    return JSONResponse(
        {"detail": [{"type": "value_error", "loc": ["request"], "msg": message}]},
        status_code=status_code,
    )


async def _refusal(
    request: Request, *, reads_json: bool, untyped_json: bool
) -> JSONResponse | None:
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
    if reads_json and body and _parsed_as_json(content_type, untyped=untyped_json):
        return _json_refusal(request, body)
    if "x-www-form-urlencoded" in content_type:
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
        # Only a route with a (non-form) body field has FastAPI parse the body as JSON; one with
        # no Content-Type too unless the route is strict about it (FastAPI's default).
        reads_json = self.body_field is not None and not any(
            isinstance(param.field_info, params.Form) for param in self.dependant.body_params
        )
        strict = self.strict_content_type
        untyped_json = not (strict.value if isinstance(strict, DefaultPlaceholder) else strict)

        async def guarded(request: Request) -> Response:
            refused = await _refusal(request, reads_json=reads_json, untyped_json=untyped_json)
            return refused or await handler(request)

        return guarded


def hub_router(**kwargs: Any) -> APIRouter:
    """An APIRouter whose routes carry the input guards."""
    return APIRouter(route_class=GuardedRoute, **kwargs)
