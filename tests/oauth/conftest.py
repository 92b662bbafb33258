"""OAuth tests: a real authorization server on loopback (tests/fixtures/oauth_server.py) that
also plays X's API (`/2/users/me`, and `/2/tweets` guarded by its bearer tokens)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import httpx
import pytest

from connectorhub.config import OAuthApp
from tests.fixtures.browser_session import sign_in
from tests.fixtures.factories import Member
from tests.fixtures.oauth_server import OAuthServer, oauth_server

TWEET = {"data": {"id": "1445880548472328192", "text": "Hello"}}


@pytest.fixture
async def provider() -> AsyncIterator[OAuthServer]:
    async with oauth_server() as server:
        server.add_client("x-app", secret="x-secret", auth_method="client_secret_basic")
        server.auto_approve = True
        server.protect("/2/tweets", TWEET, method="POST", status=201)
        yield server


def app_settings(server: OAuthServer, client_id: str = "x-app", secret: str | None = "x-secret"):
    return {"twitter": OAuthApp(client_id=client_id, client_secret=secret,
                                authorize_url=server.authorize_url, token_url=server.token_url)}  # fmt: skip


@pytest.fixture
def x_app(hub, provider, monkeypatch) -> OAuthServer:
    """The operator registered an X app (at the local server); X's API is that server too."""
    monkeypatch.setattr(hub.settings, "oauth_apps", app_settings(provider))
    monkeypatch.setattr(hub.settings, "x_api_url", provider.url)
    return provider


async def add_x(client: httpx.AsyncClient, ws, name: str = "X", auth: dict | None = None) -> str:
    created = await client.post(
        "/api/connectors", headers=ws.owner.headers,
        json={"catalog_key": "twitter", "name": name, "config": {"account_label": "@acme"},
              "auth": auth or {}},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def start(client: httpx.AsyncClient, member: Member, target: str) -> tuple[str, str]:
    """Sign in and press Connect; returns the authorize URL and the CSRF token."""
    csrf = await sign_in(client, member)
    pressed = await client.post(f"/oauth/connect/{target}", data={"csrf_token": csrf})
    assert pressed.status_code == 303, pressed.text
    return pressed.headers["location"], csrf


async def at_provider(authorize_url: str) -> str:
    """The browser at the provider (auto-approving): where it is sent back to."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(authorize_url, allow_redirects=False) as answer,
    ):
        assert answer.status in (302, 303), await answer.text()
        return answer.headers["Location"]


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def connect(client: httpx.AsyncClient, member: Member, target: str) -> httpx.Response:
    """The whole flow; returns the callback's answer."""
    authorize_url, _ = await start(client, member, target)
    return await client.get(local(await at_provider(authorize_url)))
