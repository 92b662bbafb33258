"""Helpers for webhook tests: register one against the real local receiver, wait for its log."""

from __future__ import annotations

import asyncio
import hashlib
import hmac

from tests.fixtures.third_party import Hit
from tests.sync.conftest import slow_tap_catalog, slow_tap_entry  # noqa: F401 - the slow tap here too

HOOK = "/hook"


async def register(client, ws, url: str, events=("execution.succeeded",), **extra) -> dict:
    created = await client.post(
        "/api/webhooks", json={"url": url, "events": list(events), **extra},
        headers=ws.owner.headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    return created.json()


async def deliveries(client, ws, webhook_id: str) -> list[dict]:
    listed = await client.get(f"/api/webhooks/{webhook_id}/deliveries", headers=ws.owner.headers)
    assert listed.status_code == 200, listed.text
    return listed.json()["items"]


async def settled(client, ws, webhook_id: str, count: int = 1, seconds: float = 15) -> list[dict]:
    """The delivery log once `count` deliveries have ended (none pending)."""
    found: list[dict] = []
    for _ in range(int(seconds / 0.05)):
        found = await deliveries(client, ws, webhook_id)
        if len(found) >= count and all(d["status"] != "pending" for d in found):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"deliveries of {webhook_id} did not settle: {found}")


def signed_correctly(hit: Hit, secret: str) -> bool:
    """The receiver's check, as the README tells users to write it."""
    timestamp = hit.headers["X-ConnectorHub-Timestamp"]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + hit.body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(hit.headers["X-ConnectorHub-Signature"], f"sha256={expected}")
