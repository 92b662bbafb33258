"""Publishing on real `connectorhub worker` processes (PostgreSQL): a scheduled publication goes
out at its time through a worker, and a worker SIGKILLed while its post is in flight does not
post twice — the retried job looks the post up by its marker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web

from tests.fixtures.factories import make_workspace
from tests.fixtures.wordpress import add_wordpress
from tests.worker.conftest import worker_process

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("worker-procrastinate")]


async def _wait(client, ws, publication_id: str, seconds: float = 60) -> dict:
    for _ in range(int(seconds * 10)):
        shown = (
            await client.get(f"/api/publications/{publication_id}", headers=ws.owner.headers)
        ).json()
        if shown["status"] not in ("scheduled", "sending"):
            return shown
        await asyncio.sleep(0.1)
    raise AssertionError(shown)


@pytest.mark.wordpress
async def test_a_scheduled_publication_goes_out_through_a_worker(
    queue_database, queuing_hub, client, wordpress, tmp_path
):
    ws = await make_workspace(queuing_hub)
    connector = await add_wordpress(client, ws, wordpress, name="Worker blog")
    at = datetime.now(UTC) + timedelta(seconds=3)
    answered = await client.post(
        f"/api/connectors/{connector['id']}/publish", headers=ws.owner.headers,
        json={"text": "From a worker", "title": "Scheduled on PostgreSQL", "publish_at": at.isoformat()},
    )  # fmt: skip
    assert answered.status_code == 202, answered.text
    with worker_process(queue_database, "publisher", tmp_path) as worker:
        shown = await _wait(client, ws, answered.json()["id"])
        log = "".join(worker.output)  # type: ignore[attr-defined]
    assert shown["status"] == "published", (shown, log)
    assert datetime.fromisoformat(shown["published_at"]) >= at
    post = wordpress.get(f"wp/v2/posts/{shown['provider_post_id']}", context="edit").json()
    assert post["title"]["raw"] == "Scheduled on PostgreSQL"


async def test_a_worker_killed_mid_post_does_not_post_twice(
    queue_database, queuing_hub, client, api, tmp_path
):
    """A WordPress (played locally) that saves the post, then answers slowly: the first worker
    is killed while waiting; the retried job searches by marker and finds the saved post."""
    saved: list[dict] = []
    release = asyncio.Event()

    async def root(request: web.Request) -> web.Response:
        return web.json_response({"namespaces": ["wp/v2"]})

    async def posts(request: web.Request) -> web.Response:
        if request.method == "POST":
            saved.append(await request.json())
            await release.wait()  # saved, but the answer never reaches the killed worker
            return web.json_response({"id": 9, "link": f"{api.url}/p9/"}, status=201)
        marker = request.query.get("search", "")
        found = [
            {"id": 9, "link": f"{api.url}/p9/", "content": {"raw": p["content"]}}
            for p in saved
            if marker in p["content"]
        ]
        return web.json_response(found)

    api.route("/wp-json/", root)
    api.route("/wp-json/wp/v2/posts", posts)
    ws = await make_workspace(queuing_hub)
    created = await client.post("/api/connectors", headers=ws.owner.headers, json={
        "catalog_key": "wordpress", "name": "Slow WP",
        "config": {"base_url": api.url, "site_label": "Slow"}, "auth": {"username": "u", "password": "p"}})  # fmt: skip
    cid = created.json()["id"]
    await client.patch(
        f"/api/connectors/{cid}", json={"status": "active"}, headers=ws.owner.headers
    )
    at = datetime.now(UTC) + timedelta(seconds=2)  # scheduled: the workers send it
    answered = await client.post(f"/api/connectors/{cid}/publish", headers=ws.owner.headers,
                                 json={"text": "Once", "title": "Once", "publish_at": at.isoformat()})  # fmt: skip
    assert answered.status_code == 202, answered.text
    with worker_process(queue_database, "first", tmp_path) as first:
        for _ in range(600):
            if saved:
                break
            await asyncio.sleep(0.05)
        assert saved, "the first worker never posted:\n" + "".join(first.output)  # type: ignore[attr-defined]
        first.kill()
        first.wait(timeout=10)
    release.set()
    with worker_process(queue_database, "second", tmp_path) as second:
        shown = await _wait(client, ws, answered.json()["id"])
        log = "".join(second.output)  # type: ignore[attr-defined]
    assert shown["status"] == "published" and shown["provider_post_id"] == "9", (shown, log)
    assert len(saved) == 1 and shown["attempts"] == 1  # looked up, never posted again
