"""A source password with a quote, a backslash and a non-ASCII letter, printed by a real tap
(tests/fixtures/slow_tap_plugin) as JSON and as Python's repr before it fails: no form of it
reaches the connection test's answer, the sync run (its log tail and error, as answered and as
stored), the connector's status reason or the notifications."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from connectorhub.kit.masking import REDACTED
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.sync.models import SyncRun
from tests.sync.test_sync import wait_sync_finished

SECRET = 'pa"ss\\wörd/1?'
FORMS = {
    "raw": SECRET,
    "json": json.dumps(SECRET)[1:-1],
    "json-utf8": json.dumps(SECRET, ensure_ascii=False)[1:-1],
    "repr": repr(SECRET)[1:-1],
    "ascii": ascii(SECRET)[1:-1],
}

pytestmark = pytest.mark.tap


def assert_no_secret(text: str, where: str) -> None:
    leaked = [name for name, form in FORMS.items() if form in text]
    assert leaked == [], f"{where} shows the password ({', '.join(leaked)}): {text}"


async def test_escaped_forms_of_a_source_secret_are_masked(client, workspace, hub, slow_tap_entry):
    headers = workspace.owner.headers
    created = await client.post(
        "/api/connectors",
        json={"catalog_key": slow_tap_entry, "name": "Leaky", "config": {"leak": "discover"},
              "auth": {"username": "reader", "password": SECRET}},
        headers=headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    cid = created.json()["id"]

    tested = await client.post(f"/api/connectors/{cid}/test", headers=headers)
    assert tested.status_code == 200 and not tested.json()["ok"], tested.text
    assert "FATAL" in tested.json()["stderr_tail"] and REDACTED in tested.json()["stderr_tail"]
    assert_no_secret(tested.text, "the connection test")

    # Discovery that works, the streams picked, then a sync whose tap prints it and fails.
    for config in ({}, {"leak": "sync"}):
        patched = await client.patch(
            f"/api/connectors/{cid}", json={"config": config}, headers=headers
        )
        assert patched.status_code == 200, patched.text
        if not config:
            assert (await client.post(f"/api/connectors/{cid}/test", headers=headers)).json()["ok"]
            picked = await client.put(
                f"/api/connectors/{cid}/streams",
                json={"streams": [{"name": "public-orders", "replication_method": "FULL_TABLE"}]},
                headers=headers,
            )
            assert picked.status_code == 200, picked.text
    started = await client.post(f"/api/connectors/{cid}/sync", headers=headers)
    assert started.status_code == 202, started.text
    run = await wait_sync_finished(client, workspace, started.json()["id"])
    assert run["status"] == "failed" and run["error_kind"] == "auth", run
    assert "FATAL" in run["log_tail"] and REDACTED in run["log_tail"]
    assert_no_secret(json.dumps(run, ensure_ascii=False), "the sync run")

    connector = (await client.get(f"/api/installed/{cid}", headers=headers)).json()
    assert connector["status"] == "error"
    assert_no_secret(json.dumps(connector, ensure_ascii=False), "the connector")
    notes = (await client.get("/api/notifications", headers=headers)).json()
    assert notes["items"]
    assert_no_secret(json.dumps(notes, ensure_ascii=False), "the notifications")
    async with hub.work.transaction() as session:
        await WorkspaceScope.open(session, workspace.slug, "test")
        stored = await session.scalar(select(SyncRun).where(SyncRun.connector_id == uuid.UUID(cid)))
    assert stored is not None
    assert_no_secret(f"{stored.log_tail}\n{stored.error}", "the stored run")
