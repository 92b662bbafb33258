"""The token endpoint: exchanging a code, refreshing a token. Answers are classified the way
the drivers' are: a dead grant (`invalid_grant`) is GrantRevoked, a refused client is Fatal
(the operator's app, not the user's grant), 5xx and network trouble Retriable."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from connectorhub.kit.driver_errors import AuthFailed, FatalError, RetriableError
from connectorhub.kit.models import utcnow
from connectorhub.kit.outbound import Outbound, retry_after_seconds
from connectorhub.kit.ssrf import BlockedAddress
from connectorhub.oauth.grant import TokenSet, token_set
from connectorhub.oauth.providers import Provider

TIMEOUT = aiohttp.ClientTimeout(total=30)


class GrantRevoked(AuthFailed):
    """The provider will never honour this grant again: the user must connect again."""


def _client_auth(provider: Provider, form: dict[str, str]) -> dict[str, str]:
    """Headers for the client's authentication; the form is completed in place."""
    assert provider.client_id, "the provider has no OAuth app configured"
    if provider.auth_method == "client_secret_basic":
        pair = (
            f"{quote(provider.client_id, safe='')}:{quote(provider.client_secret or '', safe='')}"
        )
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    form["client_id"] = provider.client_id
    if provider.auth_method == "client_secret_post":
        form["client_secret"] = provider.client_secret or ""
    return {}


def _described(answer: Any) -> str:
    if isinstance(answer, dict):
        parts = [str(answer.get(k)) for k in ("error", "error_description") if answer.get(k)]
        if parts:
            return ": ".join(parts)
    return ""


async def _post(outbound: Outbound, provider: Provider, form: dict[str, str]) -> TokenSet:
    headers = {"Accept": "application/json", **_client_auth(provider, form)}
    host = urlsplit(provider.token_url).hostname
    try:
        outbound.policy.check_url(provider.token_url)
    except BlockedAddress as error:
        raise FatalError(f"{provider.name}'s token endpoint: {error}") from None
    try:
        async with outbound.session.post(
            provider.token_url, data=form, headers=headers, timeout=TIMEOUT, allow_redirects=False
        ) as response:
            status, body = response.status, await response.read()
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    except aiohttp.ClientConnectorError as error:
        raise RetriableError(
            f"could not reach {provider.name}'s token endpoint ({host}): {error.os_error}"
        ) from None
    except (TimeoutError, aiohttp.ClientError) as error:
        raise RetriableError(
            f"{provider.name}'s token endpoint did not answer: {error!r}"
        ) from None
    try:
        answer = json.loads(body) if body else {}
    except ValueError:
        answer = None
    # A 200 that is not JSON may hold the tokens themselves: never echoed into messages.
    said = _described(answer) or (
        "an answer that is not JSON" if status == 200 else body[:200].decode("utf-8", "replace")
    )
    if status == 429 or status >= 500:
        raise RetriableError(
            f"{provider.name}'s token endpoint answered {status}: {said}",
            status_code=status,
            retry_after=retry_after,
        )
    if status != 200 or not isinstance(answer, dict) or "error" in answer:
        error = answer.get("error") if isinstance(answer, dict) else None
        if error in provider.dead_grant_errors:
            raise GrantRevoked(
                f"{provider.name} no longer accepts this connection ({said})", status_code=status
            )
        if error == "invalid_client" or status == 401:
            raise FatalError(
                f"{provider.name} refused ConnectorHub's OAuth app ({said}): the "
                "operator's client id or secret is wrong",
                status_code=status,
            )
        raise FatalError(
            f"{provider.name}'s token endpoint answered {status}: {said}", status_code=status
        )
    try:
        return token_set(answer, utcnow(), provider.scope_separator)
    except (TypeError, ValueError) as odd:
        raise FatalError(f"{provider.name}'s token endpoint answered oddly: {odd}") from None


async def exchange_code(
    outbound: Outbound,
    provider: Provider,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str | None,
) -> TokenSet:
    """RFC 6749 4.1.3 (+ RFC 7636 PKCE). Raises GrantRevoked (a bad or used code), FatalError,
    RetriableError."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier:
        form["code_verifier"] = code_verifier
    return await _post(outbound, provider, form)


async def refresh(outbound: Outbound, provider: Provider, refresh_token: str) -> TokenSet:
    """RFC 6749 6. Raises GrantRevoked, FatalError, RetriableError."""
    return await _post(
        outbound, provider, {"grant_type": "refresh_token", "refresh_token": refresh_token}
    )
