"""Two real `connectorhub worker` processes on PostgreSQL racing on one expired OAuth token:
the advisory lock lets one of them refresh it; every publication goes out with the new token."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.fixtures.factories import make_workspace
from tests.fixtures.oauth_server import oauth_server
from tests.oauth.conftest import TWEET, add_x, app_settings, connect
from tests.worker.conftest import worker_process
from tests.worker.test_publish_worker import _wait


async def _watch_takers(database, seen: set[int], stop: asyncio.Event) -> None:
    """Which worker processes hold publication jobs, while they run (finished jobs forget)."""
    engine = create_async_engine(database.admin_url)
    try:
        async with engine.connect() as connection:
            while not stop.is_set():
                rows = await connection.execute(text(
                    "SELECT DISTINCT worker_id FROM procrastinate_jobs "
                    "WHERE task_name = 'publish_publication' AND status = 'doing'"))  # fmt: skip
                seen.update(row[0] for row in rows if row[0] is not None)
                await connection.commit()
                await asyncio.sleep(0.05)
    finally:
        await engine.dispose()


pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("worker-procrastinate")]


async def test_two_workers_racing_on_an_expired_token_refresh_it_once(
    queue_database, queuing_hub, client, tmp_path, monkeypatch
):
    async with oauth_server() as provider:
        provider.add_client("x-app", secret="x-secret")
        provider.auto_approve = True
        provider.protect("/2/tweets", TWEET, method="POST", status=201)
        monkeypatch.setattr(queuing_hub.settings, "oauth_apps", app_settings(provider))
        monkeypatch.setattr(queuing_hub.settings, "x_api_url", provider.url)
        ws = await make_workspace(queuing_hub)
        provider.access_token_lifetime = 1
        cid = await add_x(client, ws)
        assert (await connect(client, ws.owner, f"connector/{cid}")).status_code == 303
        provider.access_token_lifetime = 3600
        activated = await client.patch(f"/api/connectors/{cid}", json={"status": "active"},
                                       headers=ws.owner.headers)  # fmt: skip
        assert activated.status_code == 200
        env = {
            "CONNECTORHUB_OAUTH_TWITTER_CLIENT_ID": "x-app",
            "CONNECTORHUB_OAUTH_TWITTER_CLIENT_SECRET": "x-secret",
            "CONNECTORHUB_OAUTH_TWITTER_TOKEN_URL": provider.token_url,
            "CONNECTORHUB_OAUTH_TWITTER_AUTHORIZE_URL": provider.authorize_url,
            "CONNECTORHUB_X_API_URL": provider.url,
        }
        provider.token_delay = 0.5  # both workers arrive while the one refresh is under way
        with (
            worker_process(queue_database, "one", tmp_path / "one", **env) as one,
            worker_process(queue_database, "two", tmp_path / "two", **env) as two,
        ):
            # Due together, a few seconds on: both workers are up and take them at once.
            at = datetime.now(UTC) + timedelta(
                seconds=8
            )  # both workers up by then, even on a busy machine
            ids = []
            for n in range(16):
                answered = await client.post(
                    f"/api/connectors/{cid}/publish", headers=ws.owner.headers,
                    json={"text": f"Post {n}", "publish_at": at.isoformat()},
                )  # fmt: skip
                assert answered.status_code == 202, answered.text
                ids.append(answered.json()["id"])
            seen: set[int] = set()
            stop = asyncio.Event()
            watcher = asyncio.create_task(_watch_takers(queue_database, seen, stop))
            shown = [await _wait(client, ws, pid) for pid in ids]
            stop.set()
            await watcher
            logs = "".join(one.output) + "".join(two.output)  # type: ignore[attr-defined]
        assert [s["status"] for s in shown] == ["published"] * 16, (shown, logs)
        assert provider.refreshes == 1, logs
        fresh = f"Bearer {provider.issued_access_tokens[-1]}"
        tweets = provider.hits_to("/2/tweets")
        assert [hit.headers["Authorization"] for hit in tweets] == [fresh] * 16
        assert len(seen) == 2, "both processes took publications: the race was real"
