"""Deliveries to a real local receiver: exactly signed, carrying ids and outcomes (never
secrets), retried with backoff on 5xx, at the receiver's `Retry-After` on 429, refused by the
SSRF guard for private addresses, logged and redeliverable."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import pytest
from aiohttp import web

from connectorhub.kit.models import utcnow
from connectorhub.webhook.models import WebhookDelivery
from connectorhub.webhook.repository import DeliveryRepository
from connectorhub.webhook.tasks import requeue_lost_webhook_deliveries
from tests.execution.test_endpoints import (
    SECRET_INPUT,
    execute,
    http_connector,
    install,
    play_api,
)
from tests.webhook.conftest import HOOK, register, settled, signed_correctly


@pytest.mark.both_backends
async def test_a_finished_execution_is_delivered_signed_without_secrets(client, workspace, api):
    play_api(api)
    api.json(HOOK, {"ok": True})
    hook = await register(
        client, workspace, f"{api.url}{HOOK}", events=["execution.succeeded", "execution.failed"]
    )
    connector = await install(client, workspace, http_connector(api))
    ran = await execute(
        client, workspace, connector["id"], {"user": 7, "password": SECRET_INPUT}, wait="true"
    )
    assert ran.json()["status"] == "succeeded"

    [delivery] = await settled(client, workspace, hook["id"])
    assert delivery["status"] == "succeeded" and delivery["attempt"] == 1
    assert delivery["response_code"] == 200 and delivery["error"] is None
    [hit] = api.hits_to(HOOK)
    assert hit.method == "POST" and hit.headers["Content-Type"] == "application/json"
    assert signed_correctly(hit, hook["secret"])
    assert abs(int(hit.headers["X-ConnectorHub-Timestamp"]) - time.time()) < 300
    assert hit.headers["X-ConnectorHub-Event"] == "execution.succeeded"
    assert hit.headers["X-ConnectorHub-Delivery"] == delivery["id"]
    body = json.loads(hit.body)
    assert body["type"] == "execution.succeeded" and body["workspace"] == workspace.slug
    assert body["id"] == delivery["event_id"]
    assert body["data"]["execution_id"] == ran.json()["id"]
    assert body["data"]["connector_id"] == connector["id"]
    assert body["data"]["status"] == "succeeded" and body["data"]["trigger"] == "api"
    # Ids and outcomes only: no input, no extracted token, no signing secret.
    for secret in (SECRET_INPUT, "sess-123", hook["secret"], workspace.owner.token):
        assert secret.encode() not in hit.body
        assert secret not in json.dumps(delivery)
    # A tampered body no longer matches the signature.
    hit.body = hit.body.replace(b"succeeded", b"failed")
    assert not signed_correctly(hit, hook["secret"])


async def test_only_subscribed_events_are_sent(client, workspace, api):
    play_api(api)
    api.json(HOOK, {"ok": True})
    failures = await register(client, workspace, f"{api.url}{HOOK}", events=["execution.failed"])
    paused = await register(client, workspace, f"{api.url}{HOOK}", active=False)
    connector = await install(client, workspace, http_connector(api))
    ran = await execute(
        client, workspace, connector["id"], {"user": 7, "password": "pw"}, wait="true"
    )
    assert ran.json()["status"] == "succeeded"
    api.json("/v1/users/8", {"error": "gone"}, status=404)
    failed = await execute(
        client, workspace, connector["id"], {"user": 8, "password": "pw"}, wait="true"
    )
    assert failed.json()["status"] == "failed"
    [delivery] = await settled(client, workspace, failures["id"])
    assert delivery["event"] == "execution.failed"
    [hit] = api.hits_to(HOOK)
    data = json.loads(hit.body)["data"]
    assert data["execution_id"] == failed.json()["id"] and "answered 404" in data["error"]
    assert await settled(client, workspace, paused["id"], count=0) == []


async def test_a_status_change_is_delivered(client, workspace, api):
    api.json(HOOK, {"ok": True})
    hook = await register(
        client, workspace, f"{api.url}{HOOK}", events=["connector.status_changed"]
    )
    connector = await install(client, workspace, http_connector(api))  # inactive → active
    off = await client.patch(
        f"/api/connectors/{connector['id']}", json={"status": "inactive"},
        headers=workspace.owner.headers,
    )  # fmt: skip
    assert off.status_code == 200
    found = await settled(client, workspace, hook["id"], count=2)
    changes = [json.loads(hit.body)["data"] for hit in api.hits_to(HOOK)]
    assert sorted((c["previous_status"], c["status"]) for c in changes) == [
        ("active", "inactive"), ("inactive", "active"),
    ]  # fmt: skip
    assert all(c["connector_id"] == connector["id"] for c in changes)
    assert all(d["status"] == "succeeded" for d in found)


async def test_a_5xx_is_retried_with_backoff_until_it_succeeds(client, workspace, api):
    api.sequence(HOOK, (500, {}, {}), (502, {}, {}), (200, {"ok": True}, {}))
    hook = await register(client, workspace, f"{api.url}{HOOK}")
    await client.post(f"/api/webhooks/{hook['id']}/test", headers=workspace.owner.headers)
    [delivery] = await settled(client, workspace, hook["id"])
    assert delivery["status"] == "succeeded" and delivery["attempt"] == 3
    assert delivery["response_code"] == 200 and delivery["error"] is None
    hits = api.hits_to(HOOK)
    assert len(hits) == 3 and all(signed_correctly(hit, hook["secret"]) for hit in hits)
    assert len({hit.headers["X-ConnectorHub-Delivery"] for hit in hits}) == 1


async def test_it_gives_up_after_the_last_attempt_and_logs_why(client, workspace, api, hub):
    api.json(HOOK, {"error": "down"}, status=500)
    hook = await register(client, workspace, f"{api.url}{HOOK}")
    await client.post(f"/api/webhooks/{hook['id']}/test", headers=workspace.owner.headers)
    [delivery] = await settled(client, workspace, hook["id"])
    attempts = hub.settings.webhook_max_attempts
    assert delivery["status"] == "failed" and delivery["attempt"] == attempts
    assert delivery["response_code"] == 500 and "answered 500" in delivery["error"]
    assert len(api.hits_to(HOOK)) == attempts


async def test_a_4xx_is_not_retried(client, workspace, api):
    api.json(HOOK, {"error": "no"}, status=410)
    hook = await register(client, workspace, f"{api.url}{HOOK}")
    await client.post(f"/api/webhooks/{hook['id']}/test", headers=workspace.owner.headers)
    [delivery] = await settled(client, workspace, hook["id"])
    assert delivery["status"] == "failed" and delivery["attempt"] == 1
    assert len(api.hits_to(HOOK)) == 1


async def test_retry_after_on_429_is_honoured(client, workspace, api):
    seen: list[float] = []

    async def limited(request: web.Request) -> web.Response:
        seen.append(time.monotonic())
        if len(seen) == 1:
            return web.json_response(
                {"error": "slow down"}, status=429, headers={"Retry-After": "2"}
            )
        return web.json_response({"ok": True})

    api.route(HOOK, limited)
    hook = await register(client, workspace, f"{api.url}{HOOK}")
    await client.post(f"/api/webhooks/{hook['id']}/test", headers=workspace.owner.headers)
    [delivery] = await settled(client, workspace, hook["id"])
    assert delivery["status"] == "succeeded" and delivery["attempt"] == 2
    # The backoff alone would have retried after about 50 ms; the receiver asked for 2 s.
    assert seen[1] - seen[0] >= 1.9


@pytest.mark.parametrize(
    "url", ["http://10.1.2.3/hook", "http://169.254.169.254/latest", "http://[::ffff:192.168.0.1]/"]
)
async def test_private_addresses_are_refused_without_retrying(client, workspace, url):
    # The test settings open loopback only (the receiver of the other tests); these stay shut.
    hook = await register(client, workspace, url)
    await client.post(f"/api/webhooks/{hook['id']}/test", headers=workspace.owner.headers)
    [delivery] = await settled(client, workspace, hook["id"])
    assert delivery["status"] == "failed" and delivery["attempt"] == 1
    assert delivery["response_code"] is None and "not a public address" in delivery["error"]


async def test_a_name_resolving_to_a_private_address_is_refused(client, workspace, api):
    # localhost resolves to loopback, which these settings allow: a name is judged by its answers.
    api.json(HOOK, {"ok": True})
    hook = await register(client, workspace, f"http://localhost:{api.port}{HOOK}")
    await client.post(f"/api/webhooks/{hook['id']}/test", headers=workspace.owner.headers)
    [delivery] = await settled(client, workspace, hook["id"])
    assert delivery["status"] == "succeeded"


@pytest.mark.both_backends
async def test_redelivery_sends_the_same_event_again(client, workspace, api):
    api.sequence(HOOK, (410, {}, {}), (200, {"ok": True}, {}))
    hook = await register(client, workspace, f"{api.url}{HOOK}")
    await client.post(f"/api/webhooks/{hook['id']}/test", headers=workspace.owner.headers)
    [first] = await settled(client, workspace, hook["id"])
    assert first["status"] == "failed"
    again = await client.post(
        f"/api/webhooks/{hook['id']}/deliveries/{first['id']}/redeliver",
        headers=workspace.owner.headers,
    )
    assert again.status_code == 202, again.text
    assert again.json()["redelivery_of"] == first["id"]
    newest, oldest = await settled(client, workspace, hook["id"], count=2)
    assert oldest["id"] == first["id"] and newest["id"] == again.json()["id"]
    assert newest["status"] == "succeeded" and newest["attempt"] == 1
    assert newest["event_id"] == first["event_id"] and newest["payload"] == first["payload"]
    one, two = api.hits_to(HOOK)
    assert one.body == two.body and signed_correctly(two, hook["secret"])
    assert one.headers["X-ConnectorHub-Delivery"] != two.headers["X-ConnectorHub-Delivery"]


async def test_a_delivery_whose_job_was_lost_is_sent_by_the_next_turn(client, workspace, api, hub):
    api.json(HOOK, {"ok": True})
    hook = await register(client, workspace, f"{api.url}{HOOK}")
    async with hub.work.workspace(workspace.slug, "test") as scope:
        # As a process killed between the commit and the queue leaves it: a row, no job.
        DeliveryRepository(scope).add(
            WebhookDelivery(
                id=uuid.uuid4(), webhook_id=uuid.UUID(hook["id"]), event="webhook.test",
                event_id=uuid.uuid4(), payload={"type": "webhook.test"}, status="pending",
                attempt=0, created_at=utcnow() - timedelta(minutes=5),
            )
        )  # fmt: skip
    assert await requeue_lost_webhook_deliveries(hub.context) >= 1
    [delivery] = await settled(client, workspace, hook["id"])
    assert delivery["status"] == "succeeded" and len(api.hits_to(HOOK)) == 1
    assert signed_correctly(api.hits_to(HOOK)[0], hook["secret"])
