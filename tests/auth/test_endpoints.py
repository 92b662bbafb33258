"""API tokens: shown once, hashed at rest, scoped, revocable, expiring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from connectorhub.auth.models import ApiToken
from connectorhub.auth.service import hash_token
from connectorhub.db import bind_tenant
from connectorhub.tenant.models import Role


async def test_missing_or_bad_tokens_are_401(client):
    assert (await client.get("/api/installed")).status_code == 401
    for value in ["Bearer nope", "Bearer chub_" + "x" * 43, "Basic Zm9vOmJhcg=="]:
        response = await client.get("/api/installed", headers={"Authorization": value})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.both_backends
async def test_me(client, workspace):
    me = (await client.get("/api/me", headers=workspace.owner.headers)).json()
    assert (
        me["email"] == workspace.owner.email
        and me["workspace"] == workspace.slug
        and me["role"] == "owner"
    )


async def test_token_is_shown_once_and_stored_hashed(client, workspace, hub):
    created = await client.post("/api/tokens", json={"name": "ci"}, headers=workspace.owner.headers)
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("chub_") and created.json()["prefix"] == token[:11]
    listed = await client.get("/api/tokens", headers=workspace.owner.headers)
    assert token not in listed.text and "ci" in [t["name"] for t in listed.json()]
    async with hub.sessionmaker() as session, session.begin():
        await bind_tenant(session, workspace.slug)
        row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
        assert row is not None and token not in (row.token_hash, row.prefix)
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200


async def test_revoked_token_stops_working(client, workspace):
    created = (
        await client.post("/api/tokens", json={"name": "temp"}, headers=workspace.owner.headers)
    ).json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert (
        await client.delete(f"/api/tokens/{created['id']}", headers=workspace.owner.headers)
    ).status_code == 204
    assert (await client.get("/api/me", headers=headers)).status_code == 401


@pytest.mark.both_backends
async def test_expired_token_is_refused(client, workspace, hub):
    created = (
        await client.post(
            "/api/tokens",
            json={"name": "short", "expires_in_days": 1},
            headers=workspace.owner.headers,
        )
    ).json()
    async with hub.sessionmaker() as session, session.begin():
        await bind_tenant(session, workspace.slug)
        row = await session.get(ApiToken, __import__("uuid").UUID(created["id"]))
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert (
        await client.get("/api/me", headers={"Authorization": f"Bearer {created['token']}"})
    ).status_code == 401


async def test_read_only_token_cannot_write_even_for_an_owner(client, workspace):
    reader = await workspace.member(Role.owner, scopes=("read",))
    body = {"catalog_key": "http", "name": "X", "config": {"base_url": "https://a.example"}}
    assert (await client.get("/api/installed", headers=reader.headers)).status_code == 200
    assert (
        await client.post("/api/connectors", json=body, headers=reader.headers)
    ).status_code == 403
    minted = await client.post("/api/tokens", json={"name": "escalate"}, headers=reader.headers)
    assert minted.status_code == 403  # a viewer-level caller cannot mint tokens


async def test_members_revoke_only_their_own_tokens(client, workspace):
    member = await workspace.member(Role.member)
    owners = (
        await client.post("/api/tokens", json={"name": "owner's"}, headers=workspace.owner.headers)
    ).json()
    assert (
        await client.delete(f"/api/tokens/{owners['id']}", headers=member.headers)
    ).status_code == 404
    mine = (await client.post("/api/tokens", json={"name": "mine"}, headers=member.headers)).json()
    assert (
        await client.delete(f"/api/tokens/{mine['id']}", headers=member.headers)
    ).status_code == 204


@pytest.mark.both_backends
async def test_another_workspaces_token_is_404(client, workspace, other_workspace):
    theirs = (
        await client.post("/api/tokens", json={"name": "t"}, headers=other_workspace.owner.headers)
    ).json()
    assert (
        await client.delete(f"/api/tokens/{theirs['id']}", headers=workspace.owner.headers)
    ).status_code == 404
    assert (
        theirs["id"] not in (await client.get("/api/tokens", headers=workspace.owner.headers)).text
    )
