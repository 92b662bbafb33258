"""Failed syncs and publications reach webhooks: a real tap that prints its password and exits
non-zero, a provider (X's stand-in) refusing the token. Signed as the README says; the payload
holds ids and the run's masked error, never the connector's secrets."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.publish.test_providers import X_ME, add, publish
from tests.sync.test_secret_leaks import SECRET, assert_no_secret
from tests.sync.test_sync import discover_and_pick, sync_and_wait
from tests.webhook.conftest import HOOK, register, settled, signed_correctly

SYNC_EVENTS = ["sync.succeeded", "sync.failed"]


async def slow_source(client, ws, entry: str) -> str:
    """The slow tap, signing in with SECRET, discovered and its stream picked."""
    created = await client.post(
        "/api/connectors",
        json={"catalog_key": entry, "name": f"Slow {uuid.uuid4().hex[:6]}", "config": {},
              "auth": {"username": "reader", "password": SECRET}},
        headers=ws.owner.headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    await discover_and_pick(client, ws, cid)
    return cid


def delivered(hit, hook: dict) -> dict:
    """The verified payload's `data`: signed with the hook's secret, no form of SECRET in it."""
    assert signed_correctly(hit, hook["secret"])
    assert_no_secret(hit.body.decode(), "the webhook's payload")
    return json.loads(hit.body)["data"]


@pytest.mark.tap
@pytest.mark.slow
async def test_a_sync_whose_tap_fails_is_delivered(client, workspace, slow_tap_entry, api):
    api.json(HOOK, {"ok": True})
    hook = await register(client, workspace, f"{api.url}{HOOK}", events=SYNC_EVENTS)
    cid = await slow_source(client, workspace, slow_tap_entry)
    # The tap prints its whole config (the password in it) to stderr and exits 1.
    patched = await client.patch(
        f"/api/connectors/{cid}", json={"config": {"leak": "sync"}}, headers=workspace.owner.headers
    )
    assert patched.status_code == 200, patched.text
    run = await sync_and_wait(client, workspace, cid)
    assert run["status"] == "failed", run
    [delivery] = await settled(client, workspace, hook["id"])
    assert delivery["event"] == "sync.failed" and delivery["status"] == "succeeded"
    [hit] = api.hits_to(HOOK)
    data = delivered(hit, hook)
    assert data["sync_run_id"] == run["id"] and data["connector_id"] == cid
    assert data["status"] == "failed" and data["error_kind"] == "auth"
    assert data["error"] == run["error"] and "exited with code 1" in data["error"]


@pytest.fixture
def x_api(hub, api, monkeypatch):
    """X's stand-in on the same local server as the webhook's receiver."""
    monkeypatch.setattr(hub.settings, "x_api_url", api.url)
    api.json("/2/users/me", X_ME)
    return api


PUBLICATION_EVENTS = ["publication.published", "publication.failed"]
TOKEN = "x-user-token-" + uuid.uuid4().hex


async def test_a_publication_the_provider_refuses_is_delivered(client, workspace, x_api):
    x_api.json(HOOK, {"ok": True})
    x_api.json("/2/tweets", {"title": "Unauthorized", "type": "about:blank", "status": 401,
                             "detail": "Unauthorized"}, status=401)  # fmt: skip
    hook = await register(client, workspace, f"{x_api.url}{HOOK}", events=PUBLICATION_EVENTS)
    cid = await add(client, workspace, "twitter", {"account_label": "@hooks"},
                    {"access_token": TOKEN}, "X refused")  # fmt: skip
    answered = await publish(client, workspace, cid, {"text": "Refused"})
    assert answered.status_code == 409, answered.text
    publication = answered.json()["publication"]
    [delivery] = await settled(client, workspace, hook["id"])
    assert delivery["event"] == "publication.failed" and delivery["status"] == "succeeded"
    [hit] = x_api.hits_to(HOOK)
    data = delivered(hit, hook)
    assert data["publication_id"] == publication["id"] and data["connector_id"] == cid
    assert data["status"] == "failed" and data["error_kind"] == "auth"
    assert data["error"] == publication["error"] and data["provider_post_id"] is None
    assert TOKEN.encode() not in hit.body
