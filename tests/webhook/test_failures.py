"""Failed syncs and publications reach webhooks, wherever the failure is recorded: a real tap
that prints its password and exits non-zero, credentials that no longer decrypt, a run whose
process died, a provider (X's stand-in) refusing the token. Signed as the README says; the
payload holds ids and the run's masked error, never the connector's secrets."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid

import pytest

from connectorhub.connector.unreadable import REASON
from connectorhub.kit.models import utcnow
from connectorhub.sync.models import SyncRun
from connectorhub.sync.repository import SyncRunRepository
from tests.connector.test_unreadable import flip_a_byte
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


@pytest.mark.tap
async def test_a_sync_whose_credentials_do_not_decrypt_is_delivered(
    hub, client, workspace, slow_tap_entry, api
):
    api.json(HOOK, {"ok": True})
    hook = await register(client, workspace, f"{api.url}{HOOK}", events=SYNC_EVENTS)
    cid = await slow_source(client, workspace, slow_tap_entry)
    await flip_a_byte(hub, workspace, cid, field="password")
    run = await sync_and_wait(client, workspace, cid)  # ends when its job claims it
    assert run["status"] == "failed" and run["error_kind"] == "unreadable", run
    [delivery] = await settled(client, workspace, hook["id"])
    assert delivery["event"] == "sync.failed"
    data = delivered(api.hits_to(HOOK)[0], hook)
    assert data["sync_run_id"] == run["id"] and data["error_kind"] == "unreadable"
    assert data["error"].startswith(REASON)


async def dead_process_claimant() -> str:
    """A claimant naming a process of this machine that has exited (a killed `serve`)."""
    exited = await asyncio.create_subprocess_exec("true")
    await exited.wait()
    return f"process:{socket.gethostname()[:40]}:{exited.pid}:deadbeef"


@pytest.mark.tap
@pytest.mark.slow
async def test_a_sync_interrupted_by_its_process_dying_is_delivered(
    hub, client, workspace, slow_tap_entry, api
):
    api.json(HOOK, {"ok": True})
    hook = await register(client, workspace, f"{api.url}{HOOK}", events=SYNC_EVENTS)
    cid = await slow_source(client, workspace, slow_tap_entry)
    async with hub.work.workspace(workspace.slug, "test") as scope:
        held = SyncRunRepository(scope).add(SyncRun(
            id=uuid.uuid4(), connector_id=uuid.UUID(cid), status="running", trigger="api",
            attempt=1, cancel_requested=False, streams=["public-orders"], rows={}, log_tail="",
            claimed_by=await dead_process_claimant(), started_at=utcnow(),
        ))  # fmt: skip
    # The next sync closes the dead one (failed, interrupted) and runs.
    run = await sync_and_wait(client, workspace, cid)
    assert run["status"] == "succeeded", run
    found = await settled(client, workspace, hook["id"], count=2)
    assert sorted(d["event"] for d in found) == sorted(SYNC_EVENTS)
    payloads = [delivered(hit, hook) for hit in api.hits_to(HOOK)]
    by_run = {data["sync_run_id"]: data for data in payloads}
    interrupted = by_run[str(held.id)]
    assert interrupted["status"] == "failed" and interrupted["error_kind"] == "interrupted"
    assert interrupted["error"].startswith("interrupted")
    assert by_run[run["id"]]["status"] == "succeeded"


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


async def test_a_publication_whose_credentials_do_not_decrypt_is_delivered(
    hub, client, workspace, x_api
):
    x_api.json(HOOK, {"ok": True})
    hook = await register(client, workspace, f"{x_api.url}{HOOK}", events=PUBLICATION_EVENTS)
    cid = await add(client, workspace, "twitter", {"account_label": "@hooks"},
                    {"access_token": TOKEN}, "X unreadable")  # fmt: skip
    await flip_a_byte(hub, workspace, cid)
    answered = await publish(client, workspace, cid, {"text": "Never sent"})
    assert answered.status_code == 409, answered.text
    [delivery] = await settled(client, workspace, hook["id"])
    assert delivery["event"] == "publication.failed"
    data = delivered(x_api.hits_to(HOOK)[0], hook)
    assert data["publication_id"] == answered.json()["publication"]["id"]
    assert data["error_kind"] == "unreadable" and data["error"].startswith(REASON)
    assert data["attempts"] == 0 and x_api.hits_to("/2/tweets") == []
