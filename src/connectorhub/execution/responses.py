"""Reading a step's response: size cap, status rules, Retry-After, JSONPath extraction."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from connectorhub.definition.jsonpaths import REGEX_SECONDS, PatternTooSlow, compile_path
from connectorhub.definition.model import Step
from connectorhub.kit.driver_errors import AuthFailed, FatalError, RetriableError
from connectorhub.kit.masking import SecretMask
from connectorhub.kit.outbound import retry_after_seconds

MAX_RESPONSE_BYTES = 5 * 1024 * 1024


async def read_body(response: aiohttp.ClientResponse) -> bytes:
    declared = response.content_length
    if declared is not None and declared > MAX_RESPONSE_BYTES:
        raise FatalError(f"the response is larger than {MAX_RESPONSE_BYTES // 1024 // 1024} MiB")
    chunks, size = [], 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise FatalError(
                f"the response is larger than {MAX_RESPONSE_BYTES // 1024 // 1024} MiB"
            )
        chunks.append(chunk)
    return b"".join(chunks)


EXCERPT_CHARS = 300
# Masked before it is cut: a secret across the cut would leave its first half in the clear.
_MASKED_PREFIX_BYTES = 64 * 1024


def _excerpt(payload: bytes, mask: SecretMask) -> str:
    text = mask.text(payload[:_MASKED_PREFIX_BYTES].decode("utf-8", "replace"))
    text = text[:EXCERPT_CHARS].strip()
    return f": {text}" if text else ""


def raise_for_status(
    step: Step, response: aiohttp.ClientResponse, payload: bytes, mask: SecretMask
) -> None:
    """Raises AuthFailed (401/403), RetriableError (429, 5xx) or FatalError (any other status
    not expected), each with an excerpt of the body, every secret the run knows masked in it."""
    status = response.status
    accepted = status in step.expect_status if step.expect_status else 200 <= status < 300
    if accepted:
        return
    reason = f"{step.method} {response.url.host} answered {status}"
    if status in (401, 403):
        raise AuthFailed(
            f"{reason} (credentials refused){_excerpt(payload, mask)}", status_code=status
        )
    if status == 429 or status >= 500:
        raise RetriableError(
            f"{reason}{_excerpt(payload, mask)}",
            status_code=status,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )
    expected = ", ".join(map(str, step.expect_status)) or "2xx"
    raise FatalError(f"{reason}, expected {expected}{_excerpt(payload, mask)}", status_code=status)


def extract(step: Step, response: aiohttp.ClientResponse, payload: bytes) -> dict[str, Any]:
    """CPU work on a document of up to MAX_RESPONSE_BYTES: the runner calls it off the event
    loop. Raises FatalError (not JSON, nothing matched, a filter's pattern too slow)."""
    if not step.extract:
        return {}
    try:
        document = json.loads(payload)
    except ValueError:
        raise FatalError(
            f"{response.url.host} answered {response.content_type}, not JSON, so nothing "
            "could be extracted",
            status_code=response.status,
        ) from None
    extracted = {}
    for field_name, expression in step.extract.items():
        path = compile_path(expression)
        try:
            found = path.findall(document)
        except PatternTooSlow as slow:
            raise FatalError(
                f"extract {field_name}: the pattern {slow.pattern!r} took longer than "
                f"{REGEX_SECONDS:g} s on this response (it backtracks too much): simplify it",
                status_code=response.status,
            ) from None
        if path.singular_query():
            if not found:
                raise FatalError(
                    f"extract {field_name}: {expression} matched nothing in the response",
                    status_code=response.status,
                )
            extracted[field_name] = found[0]
        else:
            extracted[field_name] = list(found)
    return extracted
