"""Keeping tokens alive, against a real local authorization server: renewed ahead of expiry
once however many want it, rotated refresh tokens kept, one renewal and one retry on a 401,
dead grants stopped and notified once, the periodic job, and oauth2 workspace credentials."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from connectorhub.oauth.repository import TokenHolderRepository
from connectorhub.oauth.tasks import keep_tokens_alive
from connectorhub.tenant.models import Role
from tests.connector.test_unreadable import REASON, flip_a_byte
from tests.execution.test_endpoints import execute, http_connector, install
from tests.fixtures.browser_session import sign_in
from tests.oauth.conftest import TWEET, add_x, at_provider, connect, local, query
from tests.template.test_endpoints import make_platform_admin

pytestmark = pytest.mark.both_backends


async def connected_x(client, ws, provider, *, lifetime: int, name: str = "X") -> str:
    """An active X connector whose token lives `lifetime` seconds (later ones live an hour)."""
    provider.access_token_lifetime = lifetime
    cid = await add_x(client, ws, name)
    assert (await connect(client, ws.owner, f"connector/{cid}")).status_code == 303
    activated = await client.patch(f"/api/connectors/{cid}", json={"status": "active"},
                                   headers=ws.owner.headers)  # fmt: skip
    assert activated.status_code == 200, activated.text
    provider.access_token_lifetime = 3600
    return cid


async def publish(client, ws, cid: str, text: str = "Hello"):
    return await client.post(f"/api/connectors/{cid}/publish", json={"text": text},
                             headers=ws.owner.headers)  # fmt: skip


async def notifications(client, ws, kind: str) -> list[dict]:
    items = (await client.get("/api/notifications", headers=ws.owner.headers)).json()["items"]
    return [n for n in items if n["kind"] == kind]


def bearers(provider, path: str) -> list[str]:
    return [hit.headers.get("Authorization", "") for hit in provider.hits_to(path)]


async def test_fifty_publishes_with_an_expired_token_cause_one_refresh(client, workspace, x_app):
    cid = await connected_x(client, workspace, x_app, lifetime=1)
    await asyncio.sleep(1.1)  # expired, here and at the provider
    x_app.token_delay = 0.3  # everyone arrives while the one refresh is under way
    answers = await asyncio.gather(
        *(publish(client, workspace, cid, f"Post {n}") for n in range(50))
    )
    assert [a.status_code for a in answers] == [201] * 50, answers[0].text
    assert {a.json()["provider_post_id"] for a in answers} == {TWEET["data"]["id"]}
    assert x_app.refreshes == 1
    fresh = f"Bearer {x_app.issued_access_tokens[-1]}"
    assert bearers(x_app, "/2/tweets") == [fresh] * 50


def stop_the_providers_clock(provider) -> None:
    """Its tokens stay good however slow this machine is (a one-second token used more than a
    second after it was issued would be refused, and the 401 renew it once more), while
    ConnectorHub goes by the lifetime it was told."""
    stopped = provider.now()
    provider.now = lambda: stopped


async def test_the_rotated_refresh_token_is_the_one_used_next(client, workspace, x_app):
    cid = await connected_x(client, workspace, x_app, lifetime=1)
    x_app.access_token_lifetime = 1
    stop_the_providers_clock(x_app)  # renewed ahead each time, never after a refusal
    await asyncio.sleep(1.1)
    assert (await publish(client, workspace, cid, "one")).status_code == 201
    await asyncio.sleep(1.1)
    # The provider spends each refresh token once and would revoke everything on a reuse.
    assert (await publish(client, workspace, cid, "two")).status_code == 201
    refreshes = [
        r["form"] for r in x_app.token_requests if r["form"]["grant_type"] == "refresh_token"
    ]
    assert len(refreshes) == 2 and refreshes[0]["refresh_token"] != refreshes[1]["refresh_token"]
    assert x_app.refreshes == 2


async def test_a_dead_grant_stops_refreshing_and_notifies_once(hub, client, workspace, x_app):
    cid = await connected_x(client, workspace, x_app, lifetime=1)
    x_app.revoke_all()  # the user revoked the app at X
    await asyncio.sleep(1.1)
    first = await publish(client, workspace, cid)
    assert first.status_code == 409
    assert first.json()["publication"]["error"].startswith("reconnect needed: X no longer accepts")
    shown = (await client.get(f"/api/installed/{cid}", headers=workspace.owner.headers)).json()
    assert shown["status"] == "error" and shown["status_reason"].startswith("reconnect needed")
    assert shown["oauth"]["state"] == "reconnect_needed"
    spent = x_app.token_requests[-1]["form"]["refresh_token"]
    asked = len(x_app.token_requests)
    second = await publish(client, workspace, cid)
    assert second.status_code == 409 and "the connector is error" in second.json()["detail"]
    await keep_tokens_alive(hub.context)
    # No more attempts until reconnected (the job visits every workspace of the shared hub:
    # only this grant's requests count).
    assert [
        r for r in x_app.token_requests[asked:] if r["form"].get("refresh_token") == spent
    ] == []
    dead = await notifications(client, workspace, "oauth.reconnect_needed")
    assert len(dead) == 1 and dead[0]["link"] == f"/oauth/connect/connector/{cid}"
    assert dead[0]["occurrences"] == 1
    assert await notifications(client, workspace, "connector.auth_failed") == []
    assert await notifications(client, workspace, "publication.failed") == []
    # Tokens pasted by hand replace the dead grant's facts (and are then used as they are).
    pasted = await client.patch(f"/api/connectors/{cid}", json={"auth": {"access_token": "pasted"}},
                                headers=workspace.owner.headers)  # fmt: skip
    assert pasted.status_code == 200 and pasted.json()["oauth"] is None
    # Connect again: the connector is back as it was.
    assert (await connect(client, workspace.owner, f"connector/{cid}")).status_code == 303
    shown = (await client.get(f"/api/installed/{cid}", headers=workspace.owner.headers)).json()
    assert shown["status"] == "active" and shown["oauth"]["state"] == "ok"
    assert (await publish(client, workspace, cid, "back")).status_code == 201


async def test_a_401_renews_once_and_retries_once(client, workspace, x_app):
    cid = await connected_x(client, workspace, x_app, lifetime=3600)
    x_app.expire_access_tokens()  # the provider ended it early; ConnectorHub cannot know
    assert (await publish(client, workspace, cid)).status_code == 201
    assert x_app.refreshes == 1 and len(x_app.hits_to("/2/tweets")) == 2
    # A provider that refuses even the renewed token: one renewal, one retry, then it stands.
    x_app.expire_access_tokens()
    x_app.access_token_lifetime = 0
    refused = await publish(client, workspace, cid, "again")
    assert refused.status_code == 409 and refused.json()["publication"]["error_kind"] == "auth"
    assert x_app.refreshes == 2 and len(x_app.hits_to("/2/tweets")) == 4


async def test_a_token_endpoint_outage_keeps_the_connection(client, workspace, x_app):
    cid = await connected_x(client, workspace, x_app, lifetime=4)
    stop_the_providers_clock(x_app)
    await asyncio.sleep(2.1)  # due (under half its life left), not expired
    x_app.token_error = (503, {"error": "temporarily_unavailable"})
    assert (await publish(client, workspace, cid, "still good")).status_code == 201
    shown = (await client.get(f"/api/installed/{cid}", headers=workspace.owner.headers)).json()
    assert shown["status"] == "active" and shown["oauth"]["refresh_failures"] == 1
    # Three tries a moment apart (the endpoint may come back), then the token was used as it is.
    assert x_app.token_requests[-3:] == [x_app.token_requests[-1]] * 3
    await asyncio.sleep(2.0)  # expired now, and the endpoint still down: retried later
    later = await publish(client, workspace, cid, "later")
    assert later.status_code == 202
    assert later.json()["status"] == "scheduled" and later.json()["error_kind"] == "retriable"
    shown = (await client.get(f"/api/installed/{cid}", headers=workspace.owner.headers)).json()
    assert shown["status"] == "active" and shown["oauth"]["state"] == "ok"
    assert await notifications(client, workspace, "oauth.reconnect_needed") == []


async def test_the_periodic_job_renews_ahead_and_warns_before_an_unrenewable_end(
    hub, client, workspace, x_app
):
    cid = await connected_x(client, workspace, x_app, lifetime=2)
    await asyncio.sleep(1.1)
    counts = await keep_tokens_alive(hub.context)
    assert x_app.refreshes == 1 and counts["checked"] >= 1
    await keep_tokens_alive(hub.context)
    assert x_app.refreshes == 1  # an hour left now: nothing to do
    # An app without refresh tokens (LinkedIn's 60-day tokens): warned days ahead, once.
    x_app.issue_refresh_tokens = False
    x_app.access_token_lifetime = 3 * 86400
    other = await add_x(client, workspace, "X no refresh")
    assert (await connect(client, workspace.owner, f"connector/{other}")).status_code == 303
    await keep_tokens_alive(hub.context)
    await keep_tokens_alive(hub.context)
    warned = [
        n for n in await notifications(client, workspace, "oauth.expiring") if other in n["link"]
    ]
    assert len(warned) == 1 and warned[0]["occurrences"] == 1
    assert "expires in 3 days" in warned[0]["title"] and "cannot be renewed" in warned[0]["body"]
    # Once it has expired, nothing can renew it: reconnect needed.
    x_app.access_token_lifetime = 1
    assert (await connect(client, workspace.owner, f"connector/{other}")).status_code == 303
    await asyncio.sleep(1.1)
    await keep_tokens_alive(hub.context)
    shown = (await client.get(f"/api/installed/{other}", headers=workspace.owner.headers)).json()
    assert shown["oauth"]["state"] == "reconnect_needed"
    assert "no refresh token" in shown["oauth"]["reason"]
    assert (await client.get(f"/api/installed/{cid}", headers=workspace.owner.headers)).json()[
        "oauth"
    ]["state"] == "ok"


async def test_an_oauth2_workspace_credential_connects_and_is_renewed(client, workspace, x_app):
    x_app.protect("/v1/users/7", {"name": "Ada"})
    created = await client.post("/api/credentials", headers=workspace.owner.headers, json={
        "name": "xcred", "kind": "oauth2", "provider": "twitter", "allowed_hosts": ["127.0.0.1"],
        "values": {}})  # fmt: skip
    assert created.status_code == 201, created.text
    credential = created.json()
    started = await client.post(f"/api/credentials/{credential['id']}/oauth/start",
                                headers=workspace.owner.headers)  # fmt: skip
    assert started.status_code == 200, started.text
    x_app.access_token_lifetime = 1
    await sign_in(client, workspace.owner)
    back = await client.get(local(await at_provider(started.json()["authorize_url"])))
    assert (
        back.status_code == 303
        and back.headers["location"] == f"/settings/credentials?connected={credential['id']}"
    )
    x_app.access_token_lifetime = 3600
    shown = (
        await client.get(f"/api/credentials/{credential['id']}", headers=workspace.owner.headers)
    ).json()
    assert shown["oauth"]["state"] == "ok" and set(shown["values"]) == {
        "access_token",
        "expires_at",
        "refresh_token",
    }
    connector = await install(client, workspace, http_connector(
        x_app, credentials=["xcred"],
        steps=[{"name": "profile", "url": "/users/{{input.user}}",
                "auth": {"type": "bearer", "token": "{{workspace.xcred}}"}, "extract": {"name": "$.name"}}],
        output={"name": "{{steps.profile.name}}"}))  # fmt: skip
    await asyncio.sleep(1.1)  # expired: renewed before the run
    done = await execute(client, workspace, connector["id"], {"user": 7}, wait="true")
    assert done.json()["status"] == "succeeded", done.text
    assert x_app.refreshes == 1 and len(x_app.hits_to("/v1/users/7")) == 1
    # Refused mid-life (a 401): renewed once and the step sent once more.
    x_app.expire_access_tokens()
    done = await execute(client, workspace, connector["id"], {"user": 7}, wait="true")
    assert done.json()["status"] == "succeeded", done.text
    assert x_app.refreshes == 2 and len(x_app.hits_to("/v1/users/7")) == 3
    for token in x_app.issued_access_tokens:
        assert token not in done.text


async def test_the_oauth_apps_page_shows_callbacks_and_trusts_only_trusted_proxies(
    hub, app, client, workspace, x_app, monkeypatch
):
    monkeypatch.setattr(hub.settings, "trusted_proxies", "")  # the test client is 127.0.0.1
    admin = await workspace.member(Role.owner)
    await make_platform_admin(hub, admin)
    await sign_in(client, admin)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hub.example.com"}
    page = await client.get("/admin/oauth", headers=forwarded)
    assert page.status_code == 200
    assert "http://testserver/oauth/callback" in page.text and "hub.example.com" not in page.text
    assert "CONNECTORHUB_PUBLIC_URL is not set" in page.text and "are ignored" in page.text
    assert 'data-provider="twitter"' in page.text and "configured</span>" in page.text
    monkeypatch.setattr(hub.settings, "trusted_proxies", "127.0.0.0/8")
    page = await client.get("/admin/oauth", headers=forwarded)
    assert "https://hub.example.com/oauth/callback" in page.text
    monkeypatch.setattr(hub.settings, "public_url", "https://connectors.example.org/")
    listing = await client.get("/api/admin/oauth/providers", headers=admin.headers)
    twitter = next(p for p in listing.json() if p["key"] == "twitter")
    assert twitter == {
        "key": "twitter", "name": "X", "configured": True, "client_id": "x-app",
        "client_secret_set": True, "callback_url": "https://connectors.example.org/oauth/callback",
        "callback_source": "public_url",
        "scopes": ["tweet.read", "tweet.write", "users.read", "media.write", "offline.access"],
        "pkce": True, "refreshable": True,
        "app_setup_url": "https://developer.x.com/en/portal/projects-and-apps",
        "app_setup_notes": twitter["app_setup_notes"],
    }  # fmt: skip
    assert {p["key"] for p in listing.json()} >= {"twitter", "linkedin", "salesforce"}
    refused = await client.get("/api/admin/oauth/providers", headers=workspace.owner.headers)
    assert refused.status_code == 403
    assert (
        query(  # and the callback an attempt sends is the public one
            (
                await client.post(
                    f"/api/connectors/{await add_x(client, workspace, 'X pub')}/oauth/start",
                    headers=workspace.owner.headers,
                )
            ).json()["authorize_url"]
        )["redirect_uri"]
        == "https://connectors.example.org/oauth/callback"
    )


async def test_a_sync_gets_a_renewed_token_and_the_operators_app_as_its_client(
    hub, client, workspace, x_app
):
    from connectorhub.sync import service as sources
    from connectorhub.sync.tasks import _with_live_token

    cid = await connected_x(client, workspace, x_app, lifetime=1)
    await asyncio.sleep(1.1)
    async with hub.work.workspace(workspace.slug, "test") as scope:
        connector = await TokenHolderRepository(scope).get_with_catalog(uuid.UUID(cid))
        assert connector is not None
        # The tap's config as the sync builds it (a Singer source would carry a plugin block).
        found = sources.Source(connector, connector.catalog, {"settings_rename": {"access_token": "token"}},
                               {"account_label": "@acme"}, [])  # fmt: skip
    await _with_live_token(hub.context, workspace.slug, found)
    assert x_app.refreshes == 1
    assert found.tap_config["token"] == x_app.issued_access_tokens[-1]
    assert (
        found.tap_config["client_id"] == "x-app" and found.tap_config["client_secret"] == "x-secret"
    )
    # Masked in the tap's output: the tokens and the app's secret, not its public client id.
    assert x_app.issued_access_tokens[-1] in found.secrets and "x-secret" in found.secrets
    assert "x-app" not in found.secrets


async def test_a_refresh_answer_without_a_refresh_token_keeps_the_old_one(client, workspace, x_app):
    x_app.rotate_refresh_tokens = False  # the provider answers renewals with an access token only
    cid = await connected_x(client, workspace, x_app, lifetime=1)
    x_app.access_token_lifetime = 1
    stop_the_providers_clock(x_app)  # renewed ahead each time, never after a refusal
    for text in ("one", "two"):
        await asyncio.sleep(1.1)
        assert (await publish(client, workspace, cid, text)).status_code == 201
    used = [
        r["form"]["refresh_token"]
        for r in x_app.token_requests
        if r["form"]["grant_type"] == "refresh_token"
    ]
    assert len(used) == 2 and used[0] == used[1]
    shown = (await client.get(f"/api/installed/{cid}", headers=workspace.owner.headers)).json()
    assert "refresh_token" in shown["auth"] and shown["oauth"]["refreshable"] is True


async def test_a_dead_grant_in_a_sync_or_an_execution_is_notified_once_and_marks_nothing_else(
    hub, client, workspace, x_app
):
    from connectorhub.sync import service as sources
    from connectorhub.sync.tap import TapFailed
    from connectorhub.sync.tasks import _with_live_token

    cid = await connected_x(client, workspace, x_app, lifetime=1)
    x_app.revoke_all()
    await asyncio.sleep(1.1)
    async with hub.work.workspace(workspace.slug, "test") as scope:
        connector = await TokenHolderRepository(scope).get_with_catalog(uuid.UUID(cid))
        assert connector is not None
        found = sources.Source(connector, connector.catalog, {}, {}, [])
    with pytest.raises(TapFailed) as failed:
        await _with_live_token(hub.context, workspace.slug, found)
    assert failed.value.kind == sources.RECONNECT and "reconnect needed" in failed.value.message
    # An execution whose oauth2 credential died: the run fails, its connector is not blamed.
    x_app.protect("/v1/users/7", {"name": "Ada"})
    credential = (await client.post("/api/credentials", headers=workspace.owner.headers, json={
        "name": "xdead", "kind": "oauth2", "provider": "twitter", "allowed_hosts": ["127.0.0.1"],
        "values": {}})).json()  # fmt: skip
    started = await client.post(
        f"/api/credentials/{credential['id']}/oauth/start", headers=workspace.owner.headers
    )
    x_app.access_token_lifetime = 1
    assert (
        await client.get(local(await at_provider(started.json()["authorize_url"])))
    ).status_code == 303
    connector = await install(client, workspace, http_connector(
        x_app, credentials=["xdead"],
        steps=[{"name": "profile", "url": "/users/{{input.user}}",
                "auth": {"type": "bearer", "token": "{{workspace.xdead}}"}, "extract": {"name": "$.name"}}],
        output={"name": "{{steps.profile.name}}"}))  # fmt: skip
    x_app.revoke_all()
    await asyncio.sleep(1.1)
    done = (await execute(client, workspace, connector["id"], {"user": 7}, wait="true")).json()
    assert done["status"] == "failed" and done["error"].startswith("reconnect needed")
    shown = (
        await client.get(f"/api/installed/{connector['id']}", headers=workspace.owner.headers)
    ).json()
    assert shown["status"] == "active"
    dead = await notifications(client, workspace, "oauth.reconnect_needed")
    assert sorted(n["link"] for n in dead) == sorted(
        [f"/oauth/connect/connector/{cid}", f"/oauth/connect/credential/{credential['id']}"]
    )
    assert await notifications(client, workspace, "connector.auth_failed") == []
    assert await notifications(client, workspace, "source.auth_failed") == []


async def test_xs_answer_to_a_dead_refresh_token_is_taken_from_the_catalog(
    client, workspace, x_app
):
    cid = await connected_x(client, workspace, x_app, lifetime=1)
    await asyncio.sleep(1.1)
    # X says invalid_request, not invalid_grant: the entry's dead_grant_errors lists it.
    x_app.token_error = (400, {"error": "invalid_request",
                               "error_description": "Value passed for the token was invalid."})  # fmt: skip
    refused = await publish(client, workspace, cid)
    assert refused.status_code == 409
    assert (
        "reconnect needed: X no longer accepts this connection (invalid_request: Value passed"
        in (refused.json()["publication"]["error"])
    )
    shown = (await client.get(f"/api/installed/{cid}", headers=workspace.owner.headers)).json()
    assert shown["oauth"]["state"] == "reconnect_needed"


async def test_a_reconnect_during_a_renewal_is_kept(client, workspace, x_app):
    cid = await connected_x(client, workspace, x_app, lifetime=1)
    await asyncio.sleep(1.1)
    x_app.token_delay = 3.0  # the renewal is under way while the user reconnects
    sending = asyncio.create_task(publish(client, workspace, cid, "during"))
    await asyncio.sleep(0.3)
    x_app.token_delay = 0.0
    assert (await connect(client, workspace.owner, f"connector/{cid}")).status_code == 303
    reconnected = x_app.issued_access_tokens[-1]
    assert (await sending).status_code == 201
    # The late renewal (of the old grant) was not stored over the new one.
    assert x_app.refreshes == 1 and x_app.issued_access_tokens[-1] != reconnected
    assert bearers(x_app, "/2/tweets") == [f"Bearer {reconnected}"]
    shown = (await client.get(f"/api/installed/{cid}", headers=workspace.owner.headers)).json()
    assert shown["oauth"]["state"] == "ok" and "refreshed_at" not in shown["oauth"]


async def test_an_oauth_connector_found_by_the_token_job_is_marked_once(
    hub, client, workspace, x_app
):
    cid = await connected_x(client, workspace, x_app, lifetime=3600)
    await flip_a_byte(hub, workspace, cid)
    first = await keep_tokens_alive(hub.context)
    await keep_tokens_alive(hub.context)
    assert first["failed"] >= 1
    shown = (await client.get(f"/api/installed/{cid}", headers=workspace.owner.headers)).json()
    assert shown["status"] == "error" and shown["status_reason"].startswith(REASON)
    assert [
        n["subject_id"]
        for n in await notifications(client, workspace, "connector.credentials_unreadable")
    ] == [cid]
    # Publishing through it now fails at once with the same words, nothing sent.
    answered = await publish(client, workspace, cid, "no")
    assert answered.status_code == 409
    assert x_app.hits_to("/2/tweets") == []
