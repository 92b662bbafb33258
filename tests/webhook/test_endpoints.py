"""The webhooks API: admins only, the secret shown once and stored sealed, other workspaces'
webhooks are 404, URLs checked."""

from __future__ import annotations

import uuid

import pytest

from connectorhub.tenant.models import Role
from connectorhub.webhook.repository import WebhookRepository
from tests.webhook.conftest import HOOK, register, settled, signed_correctly


@pytest.mark.both_backends
async def test_the_secret_is_shown_once_and_stored_sealed(client, workspace, hub, api):
    created = await register(client, workspace, f"{api.url}{HOOK}", description="flows")
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30
    assert created["events"] == ["execution.succeeded"] and created["active"] is True

    again = await client.get(f"/api/webhooks/{created['id']}", headers=workspace.owner.headers)
    assert again.status_code == 200 and "secret" not in again.json()
    listed = await client.get("/api/webhooks", headers=workspace.owner.headers)
    assert [w["id"] for w in listed.json()["items"]] == [created["id"]]
    assert secret not in listed.text

    async with hub.work.workspace(workspace.slug, "test") as scope:
        row = await WebhookRepository(scope).get(uuid.UUID(created["id"]))
    assert row is not None
    assert set(row.sealed) == {"secret"} and secret not in str(row.sealed)
    assert row.sealed["secret"].startswith("v1.")


async def test_edit_and_delete(client, workspace, api):
    created = await register(client, workspace, f"{api.url}{HOOK}")
    path, headers = f"/api/webhooks/{created['id']}", workspace.owner.headers
    edited = await client.patch(
        path, json={"events": ["sync.failed", "sync.succeeded"], "active": False}, headers=headers
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["events"] == ["sync.failed", "sync.succeeded"]
    assert edited.json()["active"] is False
    assert (await client.delete(path, headers=headers)).status_code == 204
    assert (await client.get(path, headers=headers)).status_code == 404


async def test_bad_urls_and_events_are_refused(client, workspace):
    headers = workspace.owner.headers
    for url in ("ftp://example.com/x", "not a url", "https://user:pw@example.com/hook"):
        refused = await client.post(
            "/api/webhooks", json={"url": url, "events": ["sync.failed"]}, headers=headers
        )
        assert refused.status_code == 400, (url, refused.text)
        assert "url" in refused.json()["errors"]
    unknown = await client.post(
        "/api/webhooks", json={"url": "https://example.com/h", "events": ["nope"]}, headers=headers
    )
    assert unknown.status_code == 422
    none = await client.post(
        "/api/webhooks", json={"url": "https://example.com/h", "events": []}, headers=headers
    )
    assert none.status_code == 422
    assert (await client.get("/api/webhooks", headers=headers)).json()["items"] == []


async def test_only_admins_manage_webhooks(client, workspace):
    member = await workspace.member(Role.member)
    listed = await client.get("/api/webhooks", headers=member.headers)
    assert listed.status_code == 403
    created = await client.post(
        "/api/webhooks", json={"url": "https://example.com/h", "events": ["sync.failed"]},
        headers=member.headers,
    )  # fmt: skip
    assert created.status_code == 403


@pytest.mark.both_backends
async def test_another_workspaces_webhook_is_404(client, workspace, other_workspace, api):
    api.json(HOOK, {"ok": True})
    created = await register(client, workspace, f"{api.url}{HOOK}")
    sent = await client.post(f"/api/webhooks/{created['id']}/test", headers=workspace.owner.headers)
    assert sent.status_code == 202
    [delivery] = await settled(client, workspace, created["id"])
    outsider, base = other_workspace.owner.headers, f"/api/webhooks/{created['id']}"
    assert (await client.get(base, headers=outsider)).status_code == 404
    assert (await client.patch(base, json={"active": False}, headers=outsider)).status_code == 404
    assert (await client.delete(base, headers=outsider)).status_code == 404
    assert (await client.get(f"{base}/deliveries", headers=outsider)).status_code == 404
    assert (await client.post(f"{base}/test", headers=outsider)).status_code == 404
    redeliver = f"{base}/deliveries/{delivery['id']}/redeliver"
    assert (await client.post(redeliver, headers=outsider)).status_code == 404
    assert (await client.get("/api/webhooks", headers=outsider)).json()["items"] == []
    # Still there, untouched, for its own workspace.
    assert (await client.get(base, headers=workspace.owner.headers)).json()["active"] is True
    assert len(api.hits_to(HOOK)) == 1


async def test_a_delivery_of_another_webhook_is_404(client, workspace, api):
    api.json(HOOK, {"ok": True})
    first = await register(client, workspace, f"{api.url}{HOOK}")
    second = await register(client, workspace, f"{api.url}{HOOK}")
    await client.post(f"/api/webhooks/{first['id']}/test", headers=workspace.owner.headers)
    [delivery] = await settled(client, workspace, first["id"])
    crossed = await client.post(
        f"/api/webhooks/{second['id']}/deliveries/{delivery['id']}/redeliver",
        headers=workspace.owner.headers,
    )
    assert crossed.status_code == 404
    missing = await client.post(
        f"/api/webhooks/{first['id']}/deliveries/{uuid.uuid4()}/redeliver",
        headers=workspace.owner.headers,
    )
    assert missing.status_code == 404


async def test_the_test_event_is_signed(client, workspace, api):
    api.json(HOOK, {"ok": True})
    created = await register(client, workspace, f"{api.url}{HOOK}")
    await client.post(f"/api/webhooks/{created['id']}/test", headers=workspace.owner.headers)
    [delivery] = await settled(client, workspace, created["id"])
    assert delivery["status"] == "succeeded" and delivery["response_code"] == 200
    [hit] = api.hits_to(HOOK)
    assert signed_correctly(hit, created["secret"])
    assert hit.headers["X-ConnectorHub-Event"] == "webhook.test"
