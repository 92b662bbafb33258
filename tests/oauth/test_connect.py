"""Connect: the authorize redirect, the callback's checks (state single use, bound to the user
and browser session, expiring; PKCE; scopes) and what is stored, against a real local
authorization server."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import update

from connectorhub.oauth import service as oauth_service
from connectorhub.tenant.models import Membership, Role
from tests.fixtures.browser_session import sign_in
from tests.oauth.conftest import add_x, at_provider, connect, local, query, start

pytestmark = pytest.mark.both_backends


async def installed(client, ws, cid: str) -> dict:
    return (await client.get(f"/api/installed/{cid}", headers=ws.owner.headers)).json()


async def test_connect_seals_the_tokens_and_records_the_grant(client, workspace, x_app):
    cid = await add_x(client, workspace)
    authorize_url, _ = await start(client, workspace.owner, f"connector/{cid}")
    asked = query(authorize_url)
    assert authorize_url.startswith(x_app.authorize_url + "?")
    assert asked["response_type"] == "code" and asked["client_id"] == "x-app"
    assert asked["redirect_uri"] == "http://testserver/oauth/callback"
    assert asked["scope"] == "tweet.read tweet.write users.read media.write offline.access"
    assert asked["code_challenge_method"] == "S256" and len(asked["state"]) >= 40
    back = await at_provider(authorize_url)
    answered = await client.get(local(back))
    assert answered.status_code == 303
    assert answered.headers["location"] == f"/connectors/installed?search=X&connected={cid}"
    # The code was exchanged with the client's Basic credentials and the PKCE verifier.
    exchange = x_app.token_requests[-1]
    assert exchange["form"]["grant_type"] == "authorization_code"
    assert exchange["authorization"] == "Basic " + base64.b64encode(b"x-app:x-secret").decode()
    verifier = exchange["form"]["code_verifier"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert challenge.decode() == asked["code_challenge"]
    shown = await installed(client, workspace, cid)
    # The tokens are secrets; when they expire is not (the entry says `secret: false`).
    assert shown["auth"] == {"access_token": "********", "refresh_token": "********",
                             "expires_at": shown["auth"]["expires_at"]}  # fmt: skip
    assert datetime.fromisoformat(shown["auth"]["expires_at"]).tzinfo is not None
    assert shown["account"] == {"id": "2244994945", "name": "Test User", "handle": "testuser"}
    grant = shown["oauth"]
    assert (
        grant["state"] == "ok" and grant["refreshable"] is True and grant["provider"] == "twitter"
    )
    assert grant["scopes"] == [
        "tweet.read",
        "tweet.write",
        "users.read",
        "media.write",
        "offline.access",
    ]
    assert shown["status"] == "inactive" and shown["last_test"]["ok"] is True
    # No token in any response, and the card says who it is connected as.
    page = await client.get(answered.headers["location"])
    assert "X is connected to X as testuser. Activate it to use it." in page.text
    for token in x_app.issued_access_tokens:
        assert token not in page.text and token not in str(shown)


async def test_a_replayed_state_is_refused_and_changes_nothing(client, workspace, x_app):
    cid = await add_x(client, workspace)
    authorize_url, _ = await start(client, workspace.owner, f"connector/{cid}")
    back = local(await at_provider(authorize_url))
    assert (await client.get(back)).status_code == 303
    before = await installed(client, workspace, cid)
    again = await client.get(back)
    assert again.status_code == 400
    assert "Already used" in again.text and "can be used once" in again.text
    assert x_app.code_exchanges == 1
    assert await installed(client, workspace, cid) == before


async def test_an_unknown_or_missing_state_is_refused(client, workspace, x_app):
    await sign_in(client, workspace.owner)
    unknown = await client.get("/oauth/callback?code=abc&state=made-up")
    assert unknown.status_code == 400 and "unknown to ConnectorHub" in unknown.text
    missing = await client.get("/oauth/callback?code=abc")
    assert missing.status_code == 400 and "without the state" in missing.text
    assert x_app.token_requests == []


async def test_a_state_from_another_session_is_refused(hub, app, client, workspace, x_app):
    cid = await add_x(client, workspace)
    authorize_url, _ = await start(client, workspace.owner, f"connector/{cid}")
    back = local(await at_provider(authorize_url))
    # The same user signed in in another browser: not the session that pressed Connect.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        await sign_in(other, workspace.owner)
        refused = await other.get(back)
    assert (
        refused.status_code == 400 and "another user or in another browser session" in refused.text
    )
    assert x_app.code_exchanges == 0
    assert (await installed(client, workspace, cid))["auth"] == {}
    # Spent by that attempt: the right browser cannot use it afterwards either.
    assert "Already used" in (await client.get(back)).text


async def test_an_expired_state_is_refused(client, workspace, x_app, monkeypatch):
    monkeypatch.setattr(oauth_service, "STATE_LIFETIME", timedelta(seconds=-1))
    cid = await add_x(client, workspace)
    authorize_url, _ = await start(client, workspace.owner, f"connector/{cid}")
    refused = await client.get(local(await at_provider(authorize_url)))
    assert refused.status_code == 400 and "Expired" in refused.text
    assert x_app.code_exchanges == 0


async def test_consent_denied_stores_nothing(client, workspace, x_app):
    x_app.auto_approve = False
    cid = await add_x(client, workspace)
    authorize_url, _ = await start(client, workspace.owner, f"connector/{cid}")
    state = query(authorize_url)["state"]
    refused = await client.get(f"/oauth/callback?error=access_denied&state={state}")
    assert refused.status_code == 400
    assert (
        "Access was declined at X." in refused.text
        and "press Connect again" in refused.text.replace("Press", "press")
    )
    assert (await installed(client, workspace, cid))["auth"] == {}


async def test_a_missing_scope_is_refused(client, workspace, x_app):
    x_app.granted_scope = "tweet.read users.read"
    cid = await add_x(client, workspace)
    refused = await connect(client, workspace.owner, f"connector/{cid}")
    assert refused.status_code == 400
    assert "without tweet.write, which ConnectorHub needs" in refused.text
    assert (await installed(client, workspace, cid))["auth"] == {}


async def test_a_token_endpoint_error_is_said_and_stores_nothing(client, workspace, x_app):
    x_app.token_error = (503, {"error": "temporarily_unavailable", "error_description": "down"})
    cid = await add_x(client, workspace)
    refused = await connect(client, workspace.owner, f"connector/{cid}")
    assert refused.status_code == 400
    assert (
        "token endpoint refused the code" in refused.text
        and "temporarily_unavailable: down" in refused.text
    )
    assert (await installed(client, workspace, cid))["auth"] == {}


async def test_the_api_start_returns_the_authorize_url(client, workspace, x_app):
    cid = await add_x(client, workspace)
    started = await client.post(
        f"/api/connectors/{cid}/oauth/start", headers=workspace.owner.headers
    )
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["callback_url"] == "http://testserver/oauth/callback"
    assert query(body["authorize_url"])["client_id"] == "x-app"
    # The user finishes in a browser signed in as themselves (any session of theirs).
    await sign_in(client, workspace.owner)
    answered = await client.get(local(await at_provider(body["authorize_url"])))
    assert answered.status_code == 303
    assert (await installed(client, workspace, cid))["oauth"]["state"] == "ok"


async def test_without_an_app_connect_is_refused_with_what_to_set(client, workspace, provider):
    cid = await add_x(client, workspace)
    started = await client.post(
        f"/api/connectors/{cid}/oauth/start", headers=workspace.owner.headers
    )
    assert started.status_code == 409
    assert "CONNECTORHUB_OAUTH_TWITTER_CLIENT_ID" in started.json()["detail"]
    wordpress = await client.post(
        "/api/connectors", headers=workspace.owner.headers,
        json={"catalog_key": "wordpress", "name": "WP", "auth": {},
              "config": {"base_url": "https://example.com", "site_label": "Blog"}},
    )  # fmt: skip
    refused = await client.post(f"/api/connectors/{wordpress.json()['id']}/oauth/start",
                                headers=workspace.owner.headers)  # fmt: skip
    assert refused.status_code == 400 and "paste its tokens" in refused.json()["detail"]


async def test_another_workspaces_connector_is_not_found(client, workspace, other_workspace, x_app):
    cid = await add_x(client, workspace)
    started = await client.post(
        f"/api/connectors/{cid}/oauth/start", headers=other_workspace.owner.headers
    )
    assert started.status_code == 404


async def test_the_add_flow_goes_on_to_connect(client, workspace, x_app):
    csrf = await sign_in(client, workspace.owner)
    added = await client.post(
        "/connectors/add/twitter", headers={"HX-Request": "true", "X-CSRF-Token": csrf},
        data={"name": "X added", "config.account_label": "@acme"},
    )  # fmt: skip
    assert added.status_code == 200, added.text
    target = added.headers["HX-Redirect"]
    assert target.startswith("/oauth/connect/connector/")
    page = await client.get(target)
    assert "Not connected yet" in page.text and "Connect with X" in page.text
    assert (
        "Asks for: tweet.read, tweet.write, users.read, media.write, offline.access." in page.text
    )


async def test_a_state_is_refused_to_another_user_and_to_a_demoted_one(
    app, client, workspace, x_app
):
    cid = await add_x(client, workspace)
    authorize_url, _ = await start(client, workspace.owner, f"connector/{cid}")
    back = local(await at_provider(authorize_url))
    someone = await workspace.member(Role.admin)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        await sign_in(other, someone)
        refused = await other.get(back)
    assert refused.status_code == 400 and "another user" in refused.text
    # An admin demoted to member between Connect and the callback.
    started = await client.post(f"/api/connectors/{cid}/oauth/start", headers=someone.headers)
    async with workspace.hub.work.workspace(workspace.slug, "test") as scope:
        await scope.session.execute(update(Membership).where(Membership.user_id == someone.user_id)
                              .values(role=Role.member.value))  # fmt: skip
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        await sign_in(other, someone)
        refused = await other.get(local(await at_provider(started.json()["authorize_url"])))
    assert refused.status_code == 400 and "no longer an admin" in refused.text
    assert x_app.code_exchanges == 0
    assert (await installed(client, workspace, cid))["auth"] == {}
