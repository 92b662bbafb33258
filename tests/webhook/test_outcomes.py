"""Sync and publication outcomes reach webhooks, emitted where they are recorded: a real tap's
sync, a real WordPress post. Payloads carry ids and outcomes, never the connectors' secrets."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.source_database import SOURCE_PASSWORD
from tests.fixtures.wordpress import add_wordpress
from tests.sync.test_sync import add_source, discover_and_pick, sync_and_wait
from tests.webhook.conftest import HOOK, register, settled, signed_correctly


@pytest.mark.tap
@pytest.mark.slow
async def test_a_finished_sync_is_delivered(client, workspace, source_db, api):
    api.json(HOOK, {"ok": True})
    hook = await register(
        client, workspace, f"{api.url}{HOOK}", events=["sync.succeeded", "sync.failed"]
    )
    connector = await add_source(client, workspace, source_db)
    await discover_and_pick(client, workspace, connector["id"])
    run = await sync_and_wait(client, workspace, connector["id"])
    assert run["status"] == "succeeded", run
    [delivery] = await settled(client, workspace, hook["id"])
    assert delivery["event"] == "sync.succeeded" and delivery["status"] == "succeeded"
    [hit] = api.hits_to(HOOK)
    assert signed_correctly(hit, hook["secret"])
    data = json.loads(hit.body)["data"]
    assert data["sync_run_id"] == run["id"] and data["connector_id"] == connector["id"]
    assert data["status"] == "succeeded" and data["rows"] == run["rows"]
    assert SOURCE_PASSWORD.encode() not in hit.body


@pytest.mark.slow
@pytest.mark.wordpress
async def test_a_publication_outcome_is_delivered(client, workspace, wordpress, api):
    api.json(HOOK, {"ok": True})
    hook = await register(
        client, workspace, f"{api.url}{HOOK}",
        events=["publication.published", "publication.failed"],
    )  # fmt: skip
    connector = await add_wordpress(client, workspace, wordpress)
    answered = await client.post(
        f"/api/connectors/{connector['id']}/publish",
        json={"title": "Hello hooks", "text": "Sent to WordPress.", "status": "publish"},
        headers=workspace.owner.headers,
    )  # fmt: skip
    assert answered.status_code == 201, answered.text
    publication = answered.json()
    [delivery] = await settled(client, workspace, hook["id"])
    assert delivery["event"] == "publication.published"
    [hit] = api.hits_to(HOOK)
    data = json.loads(hit.body)["data"]
    assert data["publication_id"] == publication["id"]
    assert data["provider_post_id"] == publication["provider_post_id"]
    assert data["url"] == publication["url"] and data["status"] == "published"
    assert wordpress.editor_password.encode() not in hit.body
